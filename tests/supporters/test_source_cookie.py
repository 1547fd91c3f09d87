"""Where a visitor came from (`?source=`, `utm_*`) is remembered in a signed cookie, not in a
server-side session: a link shared to thousands of people must not write a session row per
click, nor skip the page cache (issue 12 §4). Sign-on and pledge still record the source."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from supporters.middleware import COOKIE
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 30


def test_a_cookieless_visit_with_a_source_writes_no_session_and_is_served_from_the_page_cache():
    campaign = CampaignFactory()
    Client().get(f"/c/{campaign.slug}/")  # someone else's visit warmed the cache
    response = Client().get(
        f"/c/{campaign.slug}/?utm_source=newsletter&utm_medium=email&source=flyer&utm_term=x"
    )
    assert response.status_code == 200
    assert response["X-Page-Cache"] == "hit"
    assert not Session.objects.exists()
    assert "sessionid" not in response.cookies
    assert COOKIE in response.cookies


def test_the_first_visit_with_a_source_is_stored_for_the_next_stranger():
    campaign = CampaignFactory()
    first = Client().get(f"/c/{campaign.slug}/?source=flyer")
    assert first.status_code == 200
    second = Client().get(f"/c/{campaign.slug}/")
    assert second["X-Page-Cache"] == "hit"
    assert not Session.objects.exists()


def test_a_visitor_carrying_the_source_cookie_is_still_served_from_the_page_cache():
    campaign = CampaignFactory()
    client = Client()
    client.get(f"/c/{campaign.slug}/?source=flyer")
    again = client.get(f"/c/{campaign.slug}/")
    assert again["X-Page-Cache"] == "hit"
    assert not Session.objects.exists()


def test_the_remembered_source_is_recorded_when_the_visitor_signs_on():
    from supporters.models import Supporter

    campaign = CampaignFactory()
    client = Client()
    client.get(f"/c/{campaign.slug}/?source=flyer&utm_medium=email")
    client.post(
        f"/c/{campaign.slug}/support/ally/",
        {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": "94609"},
    )
    supporter = Supporter.objects.get(campaign=campaign, email="rosa@example.org")
    assert (supporter.source, supporter.utm_medium) == ("flyer", "email")


def test_a_forged_source_cookie_is_ignored():
    from supporters.models import Supporter

    campaign = CampaignFactory()
    client = Client()
    client.cookies[COOKIE] = json.dumps({campaign.slug: {"source": "forged"}})
    response = client.post(
        f"/c/{campaign.slug}/support/ally/",
        {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": "94609"},
    )
    assert response.status_code in {200, 302}
    assert Supporter.objects.get(campaign=campaign).source == ""


@pytest.mark.stripe
def test_the_remembered_source_is_recorded_when_a_signed_in_visitor_pledges(stripe_local):
    from pledges.models import Pledge
    from tests.pledges.test_pledge_flow import submit_pledge
    from tests.security.conftest import _verified_user

    campaign = CampaignFactory()
    client = Client()
    client.force_login(_verified_user("pledger@example.org"))
    client.get(f"/c/{campaign.slug}/?utm_source=newsletter&source=flyer")
    response = submit_pledge(client, campaign, amount="20")
    assert response.status_code == 302, response.content.decode()[:500]
    supporter = Pledge.objects.get(campaign=campaign).supporter
    assert (supporter.source, supporter.utm_source) == ("flyer", "newsletter")


@pytest.mark.parametrize("value", ["demo", " Demo "])
def test_a_visitor_cannot_mark_themselves_as_demo_data(value):
    """Review finding 7: `manage.py demo_cards` swaps the card of every pledge whose supporter's
    source is "demo" (the rows seed_demo writes); a link with ?source=demo must not make a real
    supporter one of them."""
    from supporters.models import Supporter
    from supporters.services import supporter_upsert

    campaign = CampaignFactory()
    client = Client()
    client.get(f"/c/{campaign.slug}/", {"source": value, "utm_medium": "email"})
    client.post(
        f"/c/{campaign.slug}/support/ally/",
        {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": "94609"},
    )
    supporter = Supporter.objects.get(campaign=campaign, email="rosa@example.org")
    assert (supporter.source, supporter.utm_medium) == ("", "email")

    other, _ = supporter_upsert(
        campaign=campaign, email="ana@example.org", name="Ana", tracking={"source": value}
    )
    assert other.source == ""
