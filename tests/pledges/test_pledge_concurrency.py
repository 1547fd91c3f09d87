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
from tests.factories import CampaignFactory, verified_user
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
    user = verified_user()
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
    pledge = start(verified_user(), campaign, "k").pledge
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
    pledge = start(verified_user(), campaign, "k").pledge
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


# --- the lock order (ARCHITECTURE.md, "Lock order") -------------------------------------------
def _live_campaign_with_pledges(count: int):
    from django.db.models import Sum

    from tests.factories import PledgeFactory

    campaign = CampaignFactory()
    pledges = [PledgeFactory(campaign=campaign, amount_cents=2000) for _ in range(count)]
    total = Pledge.objects.filter(campaign=campaign).aggregate(c=Sum("amount_cents"))["c"]
    Campaign.objects.filter(pk=campaign.pk).update(pledged_cents=total, backer_count=count)
    return campaign, pledges


def _frozen_is_fine(job):
    """A supporter's change or cancel that finds its pledge already released is refused with
    a sentence (PledgeFrozen): a lost race, not a failure. A deadlock is."""
    from pledges.services.pledging import PledgeFrozen

    def run():
        try:
            return job()
        except PledgeFrozen:
            return "frozen"

    return run


@pytest.mark.parametrize("round_", range(5))
def test_paths_locking_pledge_and_campaign_rows_run_together_without_deadlock(round_):
    """Every path that locks both takes the pledge rows first (ascending id), then the campaign
    row. Here, at the same moment: a bulk release (all pledge rows, then the campaign's
    totals), a supporter raising the last pledge and another cancelling a middle one (each its
    pledge row, then the campaign row). Locked the other way round, PostgreSQL would kill one
    of them with a deadlock error, which race() re-raises. The totals stay the sum of what is
    counted."""
    from django.db.models import Sum

    from pledges.services.pledging import pledge_cancel
    from pledges.services.settlement import campaign_release_pledges
    from pledges.services.transitions import COUNTED

    campaign, pledges = _live_campaign_with_pledges(6)
    last, middle = pledges[-1], pledges[2]
    race(
        lambda: campaign_release_pledges(campaign_id=campaign.pk, note="Lock order test."),
        _frozen_is_fine(
            lambda: pledge_change(
                pledge=Pledge.objects.get(pk=last.pk), tier="advocate", amount_cents=5000
            )
        ),
        _frozen_is_fine(lambda: pledge_cancel(pledge=Pledge.objects.get(pk=middle.pk))),
    )
    counted = Pledge.objects.filter(campaign=campaign, status__in=COUNTED)
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.pledged_cents == (counted.aggregate(c=Sum("amount_cents"))["c"] or 0)
    assert campaign.backer_count == counted.count()
