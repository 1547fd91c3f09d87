"""After every step, the next one (issue 16): each thank-you page offers share buttons carrying
the supporter's own `?source=` code with a copy button, the next action not yet done, and for
Allies the upgrade to a pledge; the people a share brings in count in the referral figures."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from outreach.selectors import top_referral_sources
from supporters.models import Supporter
from tests.actions.factories import ActionFactory, CallTargetFactory, email_action
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, verified_user

pytestmark = pytest.mark.django_db


def _next_step(html: str) -> str:
    assert 'data-testid="next-step"' in html
    return html.split('data-testid="next-step"', 1)[1].split("</section>", 1)[0]


def test_the_ally_thank_you_page_offers_share_with_my_code_the_next_action_and_an_upgrade(
    client, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    action = ActionFactory(campaign=campaign, title="Call the mayor")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/c/{campaign.slug}/support/ally/",
            {"name": "Ida B", "email": "ida@example.org", "postal_code": "94609"},
        )
    supporter = Supporter.objects.get(email="ida@example.org")
    client.post(f"/c/{campaign.slug}/support/ally/confirm/{supporter.confirm_token}/")
    block = _next_step(client.get(f"/c/{campaign.slug}/support/ally/thanks/").content.decode())
    supporter.refresh_from_db()
    assert supporter.share_code
    assert f"?source={supporter.share_code}" in block
    assert "Copy link" in block
    assert f"/c/{campaign.slug}/act/{action.pk}/" in block
    assert "Upgrade to a pledge" in block

    # Someone who follows that link and signs on counts as Ida's referral.
    friend = Client()
    friend.get(f"/c/{campaign.slug}/?source={supporter.share_code}")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        friend.post(
            f"/c/{campaign.slug}/support/ally/",
            {"name": "Fred", "email": "fred@example.org", "postal_code": "94609"},
        )
    fred = Supporter.objects.get(email="fred@example.org")
    friend.post(f"/c/{campaign.slug}/support/ally/confirm/{fred.confirm_token}/")
    (row,) = top_referral_sources(campaign=campaign)
    assert row["source"] == supporter.share_code
    assert row["referrer_name"] == "Ida B"
    assert row["count"] == 1


def test_after_an_action_the_page_offers_the_next_undone_action(client):
    campaign = CampaignFactory()
    user = verified_user()
    supporter = SupporterFactory(campaign=campaign, user=user, email=user.email)
    call = ActionFactory(campaign=campaign, title="Call the mayor", position=1)
    target = CallTargetFactory(action=call)
    letter = email_action(campaign=campaign, title="Email the council", position=2)
    client.force_login(user)
    html = client.get(f"/c/{campaign.slug}/act/{call.pk}/").content.decode()
    assert 'data-testid="next-step"' not in html  # not before they act
    client.post(
        f"/c/{campaign.slug}/act/{call.pk}/call/",
        {"target": target.pk, "outcome": "left_voicemail"},
    )
    block = _next_step(client.get(f"/c/{campaign.slug}/act/{call.pk}/").content.decode())
    supporter.refresh_from_db()
    assert f"?source={supporter.share_code}" in block
    assert f"/c/{campaign.slug}/act/{letter.pk}/" in block
    assert "Email the council" in block


def test_the_pledge_page_after_pledging_offers_sharing_with_my_code(client):
    campaign = CampaignFactory()
    user = verified_user()
    supporter = SupporterFactory(campaign=campaign, user=user, email=user.email, tier="advocate")
    pledge = PledgeFactory(campaign=campaign, supporter=supporter, amount_cents=3000)
    client.force_login(user)
    block = _next_step(client.get(f"/pledges/{pledge.token}/").content.decode())
    supporter.refresh_from_db()
    assert re.search(rf"\?source={supporter.share_code}", block)
    assert "Upgrade to a pledge" not in block
