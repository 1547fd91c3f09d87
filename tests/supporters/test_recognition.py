"""The site knows who you are: the campaign page, its tier buttons and /me/ recognise an
existing supporter, and never put one person's standing into the page cache strangers get."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, verified_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 30


def _advocate(campaign, amount_cents=3000):
    user = verified_user()
    supporter = SupporterFactory(campaign=campaign, user=user, email=user.email, tier="advocate")
    pledge = PledgeFactory(campaign=campaign, supporter=supporter, amount_cents=amount_cents)
    return user, pledge


def test_a_returning_advocate_sees_their_pledge_and_one_click_to_manage_it():
    campaign = CampaignFactory()
    user, pledge = _advocate(campaign)
    client = Client()
    client.force_login(user)
    html = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "You’re an Advocate · $30 pledged" in html
    assert f'href="/pledges/{pledge.token}/"' in html
    assert "Manage my pledge" in html


def test_an_ally_is_offered_an_upgrade_to_a_pledge():
    campaign = CampaignFactory()
    user = verified_user()
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier="ally")
    client = Client()
    client.force_login(user)
    html = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "You’re an Ally" in html
    assert "Upgrade to a pledge" in html
    assert "Join as an Ally" not in html


def test_the_page_cache_never_carries_a_supporters_standing():
    campaign = CampaignFactory()
    user, pledge = _advocate(campaign)
    supporter_client = Client()
    supporter_client.force_login(user)
    supporter_client.get(f"/c/{campaign.slug}/")
    stranger = Client()
    first = stranger.get(f"/c/{campaign.slug}/")
    second = stranger.get(f"/c/{campaign.slug}/")
    assert second["X-Page-Cache"] == "hit"
    for response in (first, second):
        html = response.content.decode()
        assert "You’re an" not in html
        assert pledge.token not in html
    # And the supporter still sees their own standing after a stranger filled the cache.
    html = supporter_client.get(f"/c/{campaign.slug}/").content.decode()
    assert "You’re an Advocate" in html


def test_change_or_cancel_on_my_page_lands_on_the_page_that_manages_the_pledge():
    campaign = CampaignFactory()
    user, pledge = _advocate(campaign)
    client = Client()
    client.force_login(user)
    html = client.get("/me/").content.decode()
    assert f'<a href="/pledges/{pledge.token}/">Change or cancel my pledge</a>' in html
    manage = client.get(f"/pledges/{pledge.token}/").content.decode()
    assert "Cancel my pledge" in manage
