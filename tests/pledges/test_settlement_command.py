"""`manage.py settle_campaigns` and `manage.py reconcile_payments` as an operator runs them."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from pledges.models import PaymentAttempt, Pledge, PledgeEvent
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    active_pledge,
    assert_ledger_clean,
    campaign_ending,
    charge_due_campaign,
    saved_card,
)

S = Pledge.Status
pytestmark = [pytest.mark.django_db, pytest.mark.stripe]


def _run(*args) -> str:
    out = StringIO()
    call_command("settle_campaigns", *args, stdout=out)
    return out.getvalue()


def test_settle_campaigns_charges_with_a_progress_bar_and_a_summary_table(chaos, staff):
    campaign, pledges = charge_due_campaign(staff, count=3)
    declined, _ = charge_due_campaign(staff, count=1, number=DECLINE_CARD)
    output = _run("--campaign", campaign.slug)
    assert "[" + "#" * 30 + "] 3/3" in output
    assert "Pledges this run" in output
    assert re.search(r"^  paid\s+3$", output, re.MULTILINE)
    assert "Charged this run: $45.03" in output
    # Only the campaign asked for was touched.
    assert Pledge.objects.get(campaign=declined).status == S.CHARGE_DUE
    assert_ledger_clean(chaos, campaign)


def test_dry_run_predicts_who_would_be_charged_and_writes_nothing(chaos, staff):
    campaign, pledges = charge_due_campaign(staff, count=2)
    failing = campaign_ending(goal_cents=100_000)
    active_pledge(failing, card=saved_card(), amount_cents=2500)
    events_before = PledgeEvent.objects.count()
    with time_machine.travel(failing.deadline + dt.timedelta(minutes=1)):
        output = _run("--dry-run")
    assert f"{campaign.title} ({campaign.slug}): charging" in output
    assert "2 pledges, $30.01 would be charged" in output
    assert pledges[0].supporter.email in output
    assert "goal not met, would fail and release every pledge" in output
    assert "Dry run: would charge $30.01 now. Nothing was written." in output
    failing.refresh_from_db()
    assert failing.status == Campaign.Status.LIVE
    assert PledgeEvent.objects.count() == events_before
    assert not PaymentAttempt.objects.exists()
    assert chaos.ledger()["payment_intents"] == {}


def test_unknown_campaign_is_a_clear_error(chaos):
    with pytest.raises(CommandError, match="No campaign at the address “nope”"):
        _run("--campaign", "nope")


def test_reconcile_payments_reports_what_it_resolved(chaos):
    out = StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "charges resumed (expired leases)" in out.getvalue()
    assert "refunds retried" in out.getvalue()


@pytest.mark.django_db
def test_a_foreground_run_without_a_stripe_slot_stops_with_a_sentence_not_a_traceback(
    chaos, staff, settings
):
    """Issue 13, defect 3 (the rate limiter's timeout was not caught): no slot within the wait
    budget stops the foreground run with a sentence; a later run charges everyone once."""
    import time

    from django.core.cache import cache

    campaign, pledges = charge_due_campaign(staff, count=2)
    settings.STRIPE_MAX_RPS = 1
    settings.STRIPE_SLOT_WAIT_SECONDS = 0.3
    now = int(time.time())
    for second in range(now - 1, now + 30):
        cache.set(f"stripe-rps:{second}", 10**6, timeout=60)
    with pytest.raises(CommandError, match="rate-limit slot"):
        _run("--campaign", campaign.slug)
    for second in range(now - 1, now + 30):
        cache.delete(f"stripe-rps:{second}")
    settings.STRIPE_MAX_RPS = 0
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11), tick=True):
        _run("--campaign", campaign.slug)
    assert set(Pledge.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        Pledge.Status.PAID
    }
    assert_ledger_clean(chaos, campaign)
