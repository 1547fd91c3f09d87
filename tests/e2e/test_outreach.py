"""Outreach in Chromium: the counter embedded on another origin, the updates page, the share
kit and the Champion badge, at desktop and phone widths (screenshots in var/screenshots/)."""

from __future__ import annotations

import sys
import urllib.request

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from outreach.models import CampaignUpdate
from tests.conftest import SCREENSHOTS, free_port, screenshot, spawn, stop, wait_http
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    SupporterFactory,
    UserFactory,
    verified_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def serious_violations(pg) -> list[str]:
    """Serious and critical axe-core findings on the page (no rule disabled)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(pg)
    return [
        f"{v['id']}: {[', '.join(n['target']) for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.fixture
def campaign():
    org = OrganizationFactory(name="Coalition for Fair Transit")
    return CampaignFactory(
        organization=org,
        title="Free buses for every student in Oakland",
        slug="free-buses",
        summary="Students miss class because the bus costs too much. Let's make it free.",
        goal_cents=5_000_000,
        pledged_cents=3_120_000,
        supporter_count=1_234,
        backer_count=310,
        colour="#7a1f5c",
    )


def login_cookie(user) -> dict:
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "domain": "localhost",
        "path": "/",
    }


def member(campaign, tier, name="Maria Gonzalez"):
    user = verified_user()  # supporter pages trust only a proven address (issue 12)
    SupporterFactory(
        campaign=campaign, user=user, email=user.email, tier=tier, name=name, consent_updates=True
    )
    return user


@pytest.fixture
def partner_site(tmp_path, live_server, campaign):
    """A partner's page on another origin (127.0.0.1, its own port) framing our counter."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Oakland Parents Network</title></head>"
        "<body style='font-family:Georgia,serif;max-width:720px;margin:2rem auto;padding:0 1rem'>"
        "<h1>Oakland Parents Network</h1><p>We back free buses for students. "
        "Here is how the campaign is doing right now:</p>"
        f'<iframe src="{live_server.url}/c/{campaign.slug}/embed/" title="Live campaign counter"'
        ' width="100%" height="280" style="border:0;max-width:560px"></iframe>'
        "</body></html>"
    )
    (tmp_path / "blocked.html").write_text(
        f'<!doctype html><iframe src="{live_server.url}/c/{campaign.slug}/" title="x"></iframe>'
    )
    port = free_port()
    proc = spawn(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url, proc)
        yield url
    finally:
        stop(proc)


def test_embed_renders_inside_an_iframe_on_another_origin(
    partner_site, page, phone_page, campaign, live_server
):
    for pg, name in ((page, "outreach-embed-desktop"), (phone_page, "outreach-embed-phone")):
        pg.goto(partner_site)
        frame = pg.frame_locator("iframe")
        frame.get_by_text("$31,200").wait_for()
        assert frame.get_by_role("heading", level=1).inner_text() == campaign.title
        assert frame.get_by_text("pledged of $50,000 goal").is_visible()
        assert frame.get_by_text("1,234").is_visible()
        support = frame.get_by_role("link", name="Support")
        assert support.get_attribute("target") == "_blank"
        screenshot(pg, name)
    page.goto(f"{live_server.url}/c/{campaign.slug}/embed/")
    assert serious_violations(page) == []
    # The rest of the site still refuses to be framed: Chromium shows its error page instead.
    page.goto(f"{partner_site}blocked.html")
    (child,) = page.main_frame.child_frames
    assert campaign.title not in child.content()


def test_updates_page_shows_each_visitor_what_their_tier_may_read(
    live_server, page, phone_page, campaign
):
    now = timezone.now()
    for title, audience, body, days in (
        (
            "We reached 1,000 supporters",
            CampaignUpdate.Audience.EVERYONE,
            "Thank you! **1,000 people** now back free buses. Next stop: the school board "
            "meeting on the 14th.",
            9,
        ),
        (
            "Our plan for the board meeting",
            CampaignUpdate.Audience.ADVOCATES,
            "Three board members are undecided. Here is who they are and how to reach them.",
            4,
        ),
        (
            "Champions call with the superintendent",
            CampaignUpdate.Audience.CHAMPIONS,
            "Join us Thursday at 6pm for a private call.",
            1,
        ),
    ):
        CampaignUpdate.objects.create(
            campaign=campaign,
            title=title,
            audience=audience,
            body=body,
            published_at=now - timezone.timedelta(days=days),
        )
    url = f"{live_server.url}/c/{campaign.slug}/updates/"
    page.goto(url)
    assert page.get_by_text("1,000 people").is_visible()
    assert page.get_by_text("Become an Advocate to read this").is_visible()
    assert page.get_by_text("Three board members").count() == 0
    screenshot(page, "outreach-updates-anonymous-desktop")
    assert serious_violations(page) == []

    phone_page.context.add_cookies([login_cookie(member(campaign, "advocate"))])
    phone_page.goto(url)
    assert phone_page.get_by_text("Three board members").is_visible()
    assert phone_page.get_by_text("Become a Champion to read this").is_visible()
    screenshot(phone_page, "outreach-updates-advocate-phone")

    # Gated by URL: the Champions' update is a 403 page without its body.
    locked = CampaignUpdate.objects.get(audience=CampaignUpdate.Audience.CHAMPIONS)
    response = phone_page.goto(f"{url}{locked.pk}/")
    assert response.status == 403
    assert phone_page.get_by_text("private call").count() == 0
    screenshot(phone_page, "outreach-update-locked-phone")
    assert serious_violations(phone_page) == []
    opened = CampaignUpdate.objects.get(audience=CampaignUpdate.Audience.ADVOCATES)
    phone_page.goto(f"{url}{opened.pk}/")
    assert phone_page.get_by_text("Three board members").is_visible()
    screenshot(phone_page, "outreach-update-detail-phone")


def wait_for_images(pg) -> None:
    pg.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")


def save_png(url: str, name: str, cookie: dict | None = None) -> bytes:
    headers = {"Cookie": f"{cookie['name']}={cookie['value']}"} if cookie else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        data = r.read()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.png").write_bytes(data)
    return data


def test_share_kit_badge_and_frame_for_a_champion(
    live_server, page, phone_page, campaign, tmp_path
):
    champion = member(campaign, "champion")
    cookie = login_cookie(champion)
    base = f"{live_server.url}/c/{campaign.slug}"
    save_png(f"{base}/share.png", "outreach-share-image")
    save_png(f"{live_server.url}/me/badge/{campaign.slug}.png", "outreach-badge", cookie)
    save_png(f"{live_server.url}/me/share/{campaign.slug}/story.png", "outreach-story", cookie)
    save_png(f"{live_server.url}/me/share/{campaign.slug}/post.png", "outreach-post", cookie)

    for pg, suffix in ((page, "desktop"), (phone_page, "phone")):
        pg.context.add_cookies([cookie])
        pg.goto(f"{base}/")
        panel = pg.locator(".share-panel")
        assert "?source=" in panel.locator("input").input_value()
        screenshot(pg, f"outreach-campaign-share-panel-{suffix}")
        pg.goto(f"{live_server.url}/me/share/{campaign.slug}/")
        pg.get_by_role("heading", name="Graphics to post").wait_for()
        wait_for_images(pg)
        screenshot(pg, f"outreach-share-kit-{suffix}")
        assert serious_violations(pg) == []

    # The frame: upload a photo, get it back framed; a bad file gets a sentence, not a crash.
    from PIL import Image

    photo = tmp_path / "me.jpg"
    img = Image.new("RGB", (800, 800), (236, 200, 160))
    for y in range(0, 800, 40):
        img.paste((120, 160, 200), (0, y, 800, y + 20))
    img.save(photo, "JPEG")
    not_photo = tmp_path / "notes.png"
    not_photo.write_bytes(b"definitely not a png")
    page.goto(f"{live_server.url}/me/badge/{campaign.slug}/")
    page.get_by_label("Your photo").set_input_files(str(not_photo))
    page.get_by_role("button", name="Frame my photo").click()
    assert page.get_by_text("not an image we can read").is_visible()
    page.get_by_label("Your photo").set_input_files(str(photo))
    page.get_by_role("button", name="Frame my photo").click()
    page.get_by_role("link", name="Download my framed photo").wait_for()
    wait_for_images(page)
    screenshot(page, "outreach-badge-page-desktop")
    assert serious_violations(page) == []
    phone_page.goto(f"{live_server.url}/me/badge/{campaign.slug}/")
    wait_for_images(phone_page)
    screenshot(phone_page, "outreach-badge-page-phone")


def test_organizer_dashboard_reads_well(live_server, page, campaign):
    import datetime as dt

    from supporters.models import Milestone, Supporter

    admin = UserFactory(is_staff=True, is_superuser=True)
    now = timezone.now()
    sharer = SupporterFactory(campaign=campaign, name="Rosa Martinez", share_code="rosa1234")
    for day in range(40):
        for i in range(day % 5 + 1):
            SupporterFactory(
                campaign=campaign,
                source=("rosa1234", "newsletter", "embed", "")[(day + i) % 4],
            )
    for i, supporter in enumerate(Supporter.objects.filter(campaign=campaign).order_by("pk")):
        Supporter.objects.filter(pk=supporter.pk).update(
            confirmed_at=now - dt.timedelta(days=40 - i // 3)
        )
    del sharer
    Milestone.objects.create(campaign=campaign, kind="supporters", threshold=100)
    Milestone.objects.create(campaign=campaign, kind="funding", threshold=50)
    cookie = login_cookie(admin)
    page.context.add_cookies([cookie])
    page.goto(f"{live_server.url}/admin/outreach/campaignupdate/dashboard/{campaign.pk}/")
    assert page.get_by_role("heading", name="Top referral sources").is_visible()
    assert page.get_by_text("Rosa Martinez").is_visible()
    page.frame_locator("iframe").get_by_text("$31,200").wait_for()
    screenshot(page, "outreach-admin-dashboard-desktop")


def test_organizer_writes_and_publishes_an_update_in_the_admin(
    live_server, page, campaign, celery_eager
):
    from django.core import mail

    SupporterFactory(
        campaign=campaign, tier="advocate", consent_updates=True, email="adv@example.org"
    )
    SupporterFactory(campaign=campaign, tier="ally", consent_updates=True, email="ally@example.org")
    admin = UserFactory(is_staff=True, is_superuser=True)
    page.context.add_cookies([login_cookie(admin)])
    page.goto(f"{live_server.url}/admin/outreach/campaignupdate/add/?campaign={campaign.pk}")
    page.locator("#id_title").fill("Our plan for the board meeting")
    page.get_by_label("Audience").select_option("advocates")
    page.locator("#id_body").fill("Three board members are **undecided**.")
    screenshot(page, "outreach-admin-update-form-desktop")
    page.get_by_role("button", name="Save, publish and email").click()
    page.get_by_text("is published; its email is on its way").wait_for()
    update = CampaignUpdate.objects.get(title="Our plan for the board meeting")
    assert update.published_at is not None
    assert [m.to for m in mail.outbox] == [["adv@example.org"]]
    screenshot(page, "outreach-admin-update-published-desktop")
