"""Races a real supporter causes: double clicks, two tabs, the browser and the webhook at once.
PostgreSQL only (real row locks)."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from pledges.models import Pledge
from pledges.services.pledging import (
    pledge_activate_from_setup_intent,
    pledge_change,
    pledge_setup_intent_ensure,
    pledge_start,
)
from tests.concurrency import race
from tests.factories import CampaignFactory, UserFactory
from tests.pledges.stripe_browser import confirm_card_setup

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def start(user, campaign, form_key: str, amount_cents: int = 2000):
    return pledge_start(
        user=user,
        campaign=campaign,
        tier=campaign.tiers.get(kind="advocate"),
        amount_cents=amount_cents,
        form_key=form_key,
        name="Rosa Parks",
        postal_code="94609",
        consent_updates=False,
        consent_updates_text="",
        consent_org=False,
        consent_org_text="",
    )


def test_double_click_and_second_tab_at_once_make_one_pledge(stripe_local):
    campaign = CampaignFactory()
    user = UserFactory()
    results = race(
        lambda: start(user, campaign, "same-key"),
        lambda: start(user, campaign, "same-key"),
        lambda: start(user, campaign, "other-tab", 3000),
    )
    assert Pledge.objects.filter(campaign=campaign).count() == 1
    pledge = Pledge.objects.get()
    assert {r.pledge.pk for r in results} == {pledge.pk}
    assert pledge.amount_cents in (2000, 3000)


def test_browser_return_and_webhook_at_once_count_the_pledge_once(stripe_local):
    campaign = CampaignFactory()
    pledge = start(UserFactory(), campaign, "k").pledge
    step = pledge_setup_intent_ensure(pledge=pledge)
    seti = confirm_card_setup(stripe_local, step.client_secret)["id"]
    results = race(
        lambda: pledge_activate_from_setup_intent(setup_intent_id=seti, actor_label="browser"),
        lambda: pledge_activate_from_setup_intent(setup_intent_id=seti, actor_label="webhook"),
        lambda: pledge_activate_from_setup_intent(setup_intent_id=seti, actor_label="webhook"),
    )
    assert sorted(r.outcome for r in results) == ["activated", "already_done", "already_done"]
    campaign.refresh_from_db()
    assert (campaign.pledged_cents, campaign.backer_count, campaign.supporter_count) == (
        2000,
        1,
        1,
    )


def test_concurrent_changes_leave_the_total_equal_to_the_pledge(stripe_local):
    campaign = CampaignFactory()
    pledge = start(UserFactory(), campaign, "k").pledge
    step = pledge_setup_intent_ensure(pledge=pledge)
    seti = confirm_card_setup(stripe_local, step.client_secret)["id"]
    pledge_activate_from_setup_intent(setup_intent_id=seti)
    amounts = [2500, 5000, 1500, 9900, 3100, 4200]
    race(
        *[
            (
                lambda a=a: pledge_change(
                    pledge=Pledge.objects.get(pk=pledge.pk), tier="advocate", amount_cents=a
                )
            )
            for a in amounts
        ]
    )
    pledge.refresh_from_db()
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert pledge.amount_cents in amounts
    assert (campaign.pledged_cents, campaign.backer_count) == (pledge.amount_cents, 1)
