"""The campaign page and the organizer admin in Chromium, at desktop and phone widths."""

from __future__ import annotations

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from PIL import Image
from playwright.sync_api import expect

from campaigns.images import campaign_hero_refresh
from campaigns.models import CoalitionMember, Section
from campaigns.roles import ORGANIZERS, roles_ensure
from tests.conftest import screenshot
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    SupporterFactory,
    UserFactory,
    campaign_ready_for_review,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def campaign():
    org = OrganizationFactory(name="Physicians for Humane Care")
    campaign = CampaignFactory(
        organization=org,
        title="Stop holding migrant children at detention centers",
        slug="end-child-detention",
        summary="Detaining children harms their development. It has to end.",
        goal_cents=500_000,
        pledged_cents=206_400,
        backer_count=60,
        supporter_count=412,
        hero_alt="A fence line against an evening sky",
        hero_caption="A fence line at a processing center.",
        hero_credit="Demo illustration",
    )
    Section.objects.filter(campaign=campaign).update(body="Children **do not belong** in cages.")
    photo = io.BytesIO()
    Image.new("RGB", (1600, 1000), (60, 90, 140)).save(photo, "JPEG")
    campaign.hero_image.save("hero.jpg", ContentFile(photo.getvalue()), save=True)
    campaign_hero_refresh(campaign=campaign)
    SupporterFactory(campaign=campaign, name="Adam Sakowicz", tier="champion", public_listing=True)
    CoalitionMember.objects.create(campaign=campaign, name="Border Health Collaborative")
    return campaign


def test_campaign_page_reads_well_on_desktop_and_phone(live_server, page, phone_page, campaign):
    url = f"{live_server.url}/c/{campaign.slug}/"
    for pg, name in ((page, "campaign-desktop"), (phone_page, "campaign-phone")):
        response = pg.goto(url)
        assert response.status == 200
        assert pg.get_by_role("heading", level=1).inner_text() == campaign.title
        expect(pg.get_by_text("pledged of $5,000 campaign goal")).to_be_visible()
        assert pg.get_by_role("progressbar").first.get_attribute("aria-valuenow") == "41"
        expect(pg.get_by_text("412 supporters. Let's get to 500!")).to_be_visible()
        hero = pg.get_by_role("img", name="A fence line against an evening sky")
        assert hero.evaluate("img => img.complete && img.naturalWidth > 0")
        # Phone: nothing wider than the screen.
        assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(pg, name)

    # The call to action goes to the tier's support page.
    pg = page
    pg.get_by_role("link", name="Support this campaign").click()
    champion = pg.get_by_role("link", name="Pledge as a Champion")
    assert champion.get_attribute("href") == f"/c/{campaign.slug}/support/champion/"

    results = Axe().run(page)
    serious = [
        v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}
    ]
    assert serious == []


def test_discover_page_on_desktop_and_phone(live_server, page, phone_page, campaign):
    CampaignFactory(title="Heat and hot water for every tenant", supporter_count=188)
    for pg, name in ((page, "discover-desktop"), (phone_page, "discover-phone")):
        pg.goto(f"{live_server.url}/")
        expect(pg.get_by_role("heading", name="2 campaigns")).to_be_visible()
        pg.get_by_label("Search").fill("hot water")
        pg.get_by_role("button", name="Show campaigns").click()
        expect(pg.get_by_role("heading", name="1 campaign found")).to_be_visible()
        pg.get_by_role("link", name="Clear filters").click()
        # The click navigates: measure the new page, not the one being left (its document
        # can be gone by then: "Cannot read properties of null (reading 'scrollWidth')").
        expect(pg.get_by_role("heading", name="2 campaigns")).to_be_visible()
        pg.wait_for_load_state()
        assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(pg, name)


def test_organizer_logs_into_the_admin_and_submits_a_draft(live_server, page, campaign):
    draft = campaign_ready_for_review(
        CampaignFactory(
            organization=campaign.organization, title="Safe streets for Fruitvale", status="draft"
        )
    )
    organizer = UserFactory(email="olivia@example.org", is_staff=True)
    roles_ensure(Group, Permission)  # transactional tests flush the migration's groups
    organizer.groups.add(Group.objects.get(name=ORGANIZERS))
    campaign.organization.members.add(organizer)
    CampaignFactory(title="Another organization's campaign")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Email address").fill("olivia@example.org")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Log out").or_(
        page.get_by_role("button", name="Log out")
    ).wait_for()
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    expect(page.get_by_role("link", name="Safe streets for Fruitvale")).to_be_visible()
    assert page.get_by_text("Another organization's campaign").count() == 0
    screenshot(page, "admin-campaigns-organizer")

    page.get_by_role("row", name="Safe streets for Fruitvale").get_by_role("checkbox").check()
    page.get_by_role("combobox", name="Action").select_option("submit_for_review")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("Submitted for review: Safe streets for Fruitvale.")).to_be_visible()
    draft.refresh_from_db()
    assert draft.status == "in_review"

    page.get_by_role("link", name="Stop holding migrant children at detention centers").click()
    preview = page.get_by_role("img", name="A fence line against an evening sky")
    preview.wait_for()
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "admin-campaign-change")
