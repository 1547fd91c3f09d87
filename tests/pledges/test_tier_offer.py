"""Tiers follow the amount (issue 16): on the Advocate page an amount at the Champion minimum
offers Champion, whose page opens with that amount and the listing opt-in."""

from __future__ import annotations

import pytest

from tests.factories import CampaignFactory, verified_user

pytestmark = pytest.mark.django_db


def test_the_advocate_page_carries_the_champion_offer_hidden_below_its_minimum(client):
    campaign = CampaignFactory()
    client.force_login(verified_user())
    html = client.get(f"/c/{campaign.slug}/support/advocate/").content.decode()
    offer = html.split("data-champion-offer", 1)[1].split("</p>", 1)[0]
    assert " hidden" in offer.split(">", 1)[0]
    assert "Pledge as a Champion instead" in offer


def test_the_champion_page_opens_with_the_amount_offered_and_the_listing_opt_in(client):
    campaign = CampaignFactory()
    client.force_login(verified_user())
    html = client.get(f"/c/{campaign.slug}/support/champion/?amount=30").content.decode()
    assert (
        'value="30"'
        in html.split('id="id_amount"', 1)[0].rsplit("<input", 1)[1]
        + html.split('id="id_amount"', 1)[1].split(">", 1)[0]
    )
    assert 'name="public_listing"' in html
    # Below the tier's minimum, or nonsense: ignored, never an error.
    for amount in ("5", "abc", "9" * 30):
        assert (
            client.get(f"/c/{campaign.slug}/support/champion/?amount={amount}").status_code == 200
        )
