"""The campaign builder: tiers and sections on the first page, a checklist that blocks
submission until review has what it needs, and a live preview of the public page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from campaigns.models import Campaign, Tier
from campaigns.services import CampaignNotReady, campaign_submit_for_review
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    UserFactory,
    campaign_ready_for_review,
)

pytestmark = pytest.mark.django_db
C = Campaign.Status


@pytest.fixture
def organizer():
    org = OrganizationFactory()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(user)
    client = Client()
    client.force_login(user)
    client.org = org
    client.user = user
    return client


def _management(prefix: str, total: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _add_data(org, **overrides) -> dict:
    data = {
        "organization": org.pk,
        "title": "Clean air near schools",
        "slug": "clean-air-near-schools",
        "summary": "Filters in every classroom by fall.",
        "campaign_type": "local",
        "goal_cents": "5000",
        "deadline_0": "2027-06-01",
        "deadline_1": "19:59",
        "timezone": "America/Los_Angeles",
        "colour": "#1f5f8b",
        **_management("sections", 4),
        **_management("tiers", 3),
        **_management("coalition", 0),
        **_management("news", 0),
    }
    defaults = [
        ("ally", "Ally", "0"),
        ("advocate", "Advocate", "15"),
        ("champion", "Champion", "28"),
    ]
    from campaigns.services import DEFAULT_SECTIONS, DEFAULT_TIERS

    for i, (kind, name, dollars) in enumerate(defaults):
        data.update(
            {
                f"tiers-{i}-kind": kind,
                f"tiers-{i}-name": name,
                f"tiers-{i}-pitch": DEFAULT_TIERS[kind][1],
                f"tiers-{i}-min_cents": dollars,
                f"tiers-{i}-benefits": DEFAULT_TIERS[kind][2],
            }
        )
    for i, heading in enumerate(DEFAULT_SECTIONS):
        data.update({f"sections-{i}-position": str(i), f"sections-{i}-heading": heading})
    data.update(overrides)
    return data


def _prefixes(client) -> dict[str, str]:
    """The inline formset prefixes the add page uses (they follow the related names)."""
    body = client.get("/admin/campaigns/campaign/add/").content.decode()
    return {name: name in body for name in ("sections-TOTAL_FORMS", "tiers-TOTAL_FORMS")}


def test_the_add_page_offers_the_tiers_and_sections_to_fill_in(organizer):
    response = organizer.get("/admin/campaigns/campaign/add/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="tiers-TOTAL_FORMS" value="3"' in body
    assert 'name="sections-TOTAL_FORMS" value="4"' in body
    assert 'value="Champion"' in body
    assert 'value="The Problem"' in body


def test_the_add_page_does_a_bounded_amount_of_work(organizer, django_assert_max_num_queries):
    # Its load time in a browser is measured by tests/e2e/test_organizer_journey.py (about a
    # second); here, the server's share stays small: a fixed number of queries.
    organizer.get("/admin/campaigns/campaign/add/")
    with django_assert_max_num_queries(20):
        assert organizer.get("/admin/campaigns/campaign/add/").status_code == 200


def test_tiers_and_sections_written_on_the_first_page_are_kept(organizer):
    data = _add_data(
        organizer.org,
        **{
            "tiers-1-name": "Backer",
            "tiers-1-min_cents": "20",
            "sections-1-body": "Children breathe diesel fumes at recess.",
        },
    )
    response = organizer.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get(slug="clean-air-near-schools")
    tiers = {t.kind: t for t in campaign.tiers.all()}
    assert tiers[Tier.Kind.ADVOCATE].name == "Backer"
    assert tiers[Tier.Kind.ADVOCATE].min_cents == 2000
    assert tiers[Tier.Kind.CHAMPION].min_cents == 2800
    assert len(tiers) == 3
    sections = list(campaign.sections.order_by("position").values_list("heading", "body"))
    assert [h for h, _ in sections] == ["The Goal", "The Problem", "The Solution", "Our Strategy"]
    assert sections[1][1] == "Children breathe diesel fumes at recess."


def test_an_untouched_first_page_gets_the_defaults(organizer):
    response = organizer.post("/admin/campaigns/campaign/add/", _add_data(organizer.org))
    assert response.status_code == 302
    campaign = Campaign.objects.get(slug="clean-air-near-schools")
    assert campaign.tiers.count() == 3
    assert campaign.sections.count() == 4


@pytest.mark.parametrize(
    "overrides",
    [
        {"tiers-2-kind": "advocate"},  # two Advocate tiers
        {"tiers-2-kind": "patron"},  # no such tier
        {"tiers-1-min_cents": "50"},  # Advocate above Champion
    ],
)
def test_forged_or_unordered_tiers_on_the_first_page_are_refused(organizer, overrides):
    response = organizer.post(
        "/admin/campaigns/campaign/add/", _add_data(organizer.org, **overrides)
    )
    assert response.status_code == 200  # the form again, with the error
    assert "errornote" in response.content.decode()
    assert not Campaign.objects.filter(slug="clean-air-near-schools").exists()


def test_the_checklist_blocks_submission_until_review_has_what_it_needs(organizer):
    draft = CampaignFactory(organization=organizer.org, status=C.DRAFT)
    page = organizer.get(f"/admin/campaigns/campaign/{draft.pk}/change/").content.decode()
    assert 'data-testid="review-checklist"' in page
    assert "A hero photo with its description and credit" in page
    assert "disabled" in page
    with pytest.raises(CampaignNotReady, match="hero photo"):
        campaign_submit_for_review(campaign=draft, actor=organizer.user)
    response = organizer.post(f"/admin/campaigns/campaign/{draft.pk}/submit/")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == C.DRAFT

    campaign_ready_for_review(draft)
    page = organizer.get(f"/admin/campaigns/campaign/{draft.pk}/change/").content.decode()
    assert "Ready for review" in page
    organizer.post(f"/admin/campaigns/campaign/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert draft.status == C.IN_REVIEW


def test_the_preview_frames_the_draft_for_its_organizers_only(organizer):
    draft = CampaignFactory(organization=organizer.org, status=C.DRAFT, title="Clean air now")
    url = f"/admin/campaigns/campaign/{draft.pk}/preview/"
    response = organizer.get(url)
    assert response.status_code == 200
    assert "Clean air now" in response.content.decode()
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    page = organizer.get(f"/admin/campaigns/campaign/{draft.pk}/change/").content.decode()
    assert f'src="{url}"' in page

    stranger = Client()
    other = UserFactory(is_staff=True)
    other.groups.add(Group.objects.get(name="Organizers"))
    OrganizationFactory().members.add(other)
    stranger.force_login(other)
    assert stranger.get(url).status_code == 404
    # The public page itself still refuses to be framed.
    public = organizer.get(draft.get_absolute_url())
    assert public["X-Frame-Options"] == "DENY"
