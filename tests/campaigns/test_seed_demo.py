"""`manage.py seed_demo`: realistic demo data, idempotent, with printed credentials."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from campaigns.models import Campaign, Organization, Tier
from pledges.models import Pledge
from supporters.models import Supporter, User

pytestmark = pytest.mark.django_db
C = Campaign.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot():
    return {
        "orgs": Organization.objects.count(),
        "campaigns": sorted(
            Campaign.objects.values_list(
                "slug", "status", "pledged_cents", "backer_count", "supporter_count", "updated_at"
            )
        ),
        "supporters": Supporter.objects.count(),
        "pledges": Pledge.objects.count(),
        "users": sorted(User.objects.values_list("email", "password")),
    }


def test_seed_demo_creates_campaigns_in_several_states_with_accounts(client):
    output = seed()
    assert "Admin: admin@rallyround.local / password: rallyround-admin" in output
    assert "Organizer: organizer@rallyround.local / password: rallyround-organizer" in output

    campaigns = {c.slug: c for c in Campaign.objects.all()}
    assert len(campaigns) >= 3
    reference = campaigns["end-child-detention"]
    assert reference.title == "Stop holding migrant children at detention centers"
    assert reference.status == C.LIVE
    assert reference.hero_large
    assert reference.organization.logo_small
    assert reference.tiers.count() == 3
    assert reference.coalition.exists()
    assert reference.news.exists()

    near = campaigns["fix-the-14th-street-buildings"]
    assert 80 <= near.percent_funded < 100
    ended = campaigns["clean-air-near-schools"]
    assert ended.status in (C.FAILED, C.SETTLING)
    assert ended.frozen_pledged_cents == ended.pledged_cents > 0

    for campaign in campaigns.values():
        # Totals agree with the rows they summarize.
        confirmed = Supporter.objects.filter(campaign=campaign, confirmed_at__isnull=False)
        assert campaign.supporter_count == confirmed.count()
        pledges = Pledge.objects.filter(campaign=campaign)
        assert campaign.pledged_cents == sum(p.amount_cents for p in pledges)
        assert campaign.backer_count == pledges.count()
        for pledge in pledges:
            tier = Tier.objects.get(campaign=campaign, kind=pledge.tier)
            assert pledge.amount_cents >= tier.min_cents
    assert Supporter.objects.filter(tier="champion", public_listing=True).exists()

    page = client.get("/c/end-child-detention/").content.decode()
    assert "Campaign Champion" in page
    assert "Did not reach its goal — nobody was charged." in (
        client.get("/c/clean-air-near-schools/").content.decode()
    )


def test_seed_demo_twice_changes_nothing_and_prints_the_same():
    first = seed()
    before = snapshot()
    second = seed()
    assert second == first
    assert snapshot() == before


def test_seed_demo_accounts_can_log_in_and_the_organizer_edits_only_their_org(client):
    seed()
    admin = authenticate(email="admin@rallyround.local", password="rallyround-admin")
    assert admin is not None
    assert admin.is_superuser
    organizer = authenticate(email="organizer@rallyround.local", password="rallyround-organizer")
    assert organizer is not None
    assert organizer.is_staff
    assert not organizer.is_superuser
    assert organizer.groups.filter(name="Organizers").exists()
    client.force_login(organizer)
    html = client.get("/admin/campaigns/campaign/").content.decode()
    assert "Stop holding migrant children" in html
    assert "Heat and hot water" not in html


def test_seed_demo_passwords_come_from_settings(settings):
    # config/settings.py reads DEMO_ADMIN_PASSWORD / DEMO_ORGANIZER_PASSWORD from the environment
    settings.DEMO_ADMIN_PASSWORD = "from-env-admin-pw"
    settings.DEMO_ORGANIZER_PASSWORD = "from-env-organizer-pw"
    output = seed()
    assert "password: from-env-admin-pw" in output
    assert authenticate(email="organizer@rallyround.local", password="from-env-organizer-pw")
