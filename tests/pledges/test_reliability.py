"""Reliability of settlement: faults from Stripe, lost answers, killed workers, concurrent runs,
webhooks racing the task, and the edges of the deadline. Everything runs against localstripe
behind stripe-chaos, and every test ends with the ledger check (nobody charged twice, every
pledge of a succeeded campaign PAID or in a recorded failure state, totals equal to what Stripe
really charged)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from pledges import gateway, ratelimit
from pledges.models import PaymentAttempt, Pledge
from pledges.services import charging, settlement
from pledges.services.reconcile import payments_reconcile
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    active_pledge,
    assert_ledger_clean,
    campaign_ending,
    charge_due_campaign,
    saved_card,
)

S = Pledge.Status
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHARGE = {"method": "POST", "path_regex": "^/v1/payment_intents$"}
pytestmark = pytest.mark.stripe


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(charging, "TRANSIENT_BACKOFF_SECONDS", 0.05)


def _all(pledges, status):
    return all(Pledge.objects.get(pk=p.pk).status == status for p in pledges)


# --- faults from Stripe ---------------------------------------------------------------------
@pytest.mark.django_db
def test_500s_and_429s_are_retried_with_the_same_key_and_charge_once(chaos, staff, fast_backoff):
    campaign, pledges = charge_due_campaign(staff, count=4)
    chaos.rules(
        {"match": CHARGE, "fault": "http_429", "times": 3},
        {"match": CHARGE, "fault": "http_500", "times": 3},
        {"match": CHARGE, "fault": "http_503", "times": 2},
    )
    run = settlement.settle_run(campaign=campaign)
    assert run.by_status == {S.PAID: 4}
    assert chaos.stats()["faults"] == {"http_429": 3, "http_500": 3, "http_503": 2}
    for pledge in pledges:
        assert Pledge.objects.get(pk=pledge.pk).attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_timeouts_are_retried_and_charge_once(chaos, staff, settings, fast_backoff):
    settings.STRIPE_TIMEOUT_SECONDS = 1
    gateway.reset_client()
    campaign, pledges = charge_due_campaign(staff, count=2)
    chaos.rules({"match": CHARGE, "fault": "timeout", "delay_s": 2, "times": 2})
    run = settlement.settle_run(campaign=campaign)
    assert run.by_status == {S.PAID: 2}
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["after_upstream_500", "after_upstream_timeout"])
def test_answer_lost_after_stripe_charged_is_replayed_not_charged_again(
    chaos, staff, settings, fast_backoff, fault
):
    settings.STRIPE_TIMEOUT_SECONDS = 1
    gateway.reset_client()
    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    chaos.rules({"match": CHARGE, "fault": fault, "delay_s": 2, "times": 1})
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert chaos.stats()["idempotency"].get("replayed", 0) >= 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_every_answer_lost_leaves_the_pledge_for_the_reconciler_which_charges_nothing_new(
    chaos, staff, fast_backoff
):
    """Stripe charged, and the answer (and every retry's replay) was lost. The pledge stays
    CHARGING with its attempt pending; after the lease the reconciler asks again with the same
    key, gets the stored answer, and records the one charge."""
    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    chaos.rules({"match": CHARGE, "fault": "after_upstream_500", "times": 100})
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.CHARGING
    attempt = pledge.attempts.get()
    assert attempt.outcome == PaymentAttempt.Outcome.PENDING
    assert "Transient" in attempt.message
    assert len(chaos.ledger()["charges_by_metadata"][str(pledge.pk)]) == 1

    chaos.clear_rules()
    assert payments_reconcile()["resumed"] == 0  # lease still held: nobody touches it
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        assert payments_reconcile()["resumed"] == 1
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_past_stripes_24_hours_the_reconciler_looks_before_charging(chaos, staff, fast_backoff):
    """A pending attempt older than Stripe's idempotency memory: the intent is found by its
    pledge_id metadata and recorded; no second attempt is made."""
    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    chaos.rules({"match": CHARGE, "fault": "after_upstream_500", "times": 100})
    settlement.settle_run(campaign=campaign)
    chaos.clear_rules()
    from tests.conftest import http_json

    http_json(f"{chaos.url}/_chaos/idempotency", "DELETE")  # Stripe forgot the key
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        payments_reconcile()
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_past_24_hours_with_no_intent_at_stripe_a_new_attempt_is_safe(chaos, staff, fast_backoff):
    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    chaos.rules({"match": CHARGE, "fault": "http_500", "times": 100})
    settlement.settle_run(campaign=campaign)
    chaos.clear_rules()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        payments_reconcile()
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    first, second = pledge.attempts.all()
    assert first.outcome == PaymentAttempt.Outcome.CANCELED
    assert second.idempotency_key == f"pledge-{pledge.pk}-attempt-2"
    assert second.outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert_ledger_clean(chaos, campaign)


def _charged_answer_lost(pledge, *, keep_intent_id: bool) -> PaymentAttempt:
    """A worker claimed the pledge, Stripe charged attempt 1, and the worker died before it
    recorded the answer (with `keep_intent_id`, after it wrote down the intent's id)."""
    _, attempt, _ = charging.pledge_claim(pledge.pk, now=timezone.now())
    result = gateway.payment_intent_charge_off_session(
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        customer_id=pledge.stripe_customer_id,
        payment_method_id=pledge.stripe_payment_method_id,
        metadata={
            "pledge_id": str(pledge.pk),
            "campaign_id": str(pledge.campaign_id),
            "attempt": str(attempt.number),
        },
        idempotency_key=attempt.idempotency_key,
        description=f"Pledge R-{pledge.pk}",
    )
    if keep_intent_id:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            stripe_payment_intent_id=result.payment_intent_id
        )
    Pledge.objects.filter(pk=pledge.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    return attempt


@pytest.mark.django_db
def test_a_reconciler_slowed_by_a_hanging_stripe_reads_the_clock_for_each_pledge(
    chaos, staff, fast_backoff
):
    """Issue 13, defect 2. Two pledges were charged and their answers lost. The first one's
    look-up hangs at Stripe for 4 s; the second one's attempt is 2 s short of the window in
    which repeating its key is safe when the run starts, and past it by the time the run gets
    there — Stripe has forgotten the key (as it does after its window), so repeating it would
    charge again. Deciding with the clock of the moment, the reconciler looks the intent up by
    metadata instead, and nobody is charged twice."""
    campaign, (slow, late) = charge_due_campaign(staff, count=2)
    slow_attempt = _charged_answer_lost(slow, keep_intent_id=True)
    late_attempt = _charged_answer_lost(late, keep_intent_id=False)
    slow_intent = PaymentAttempt.objects.get(pk=slow_attempt.pk).stripe_payment_intent_id
    from tests.conftest import http_json

    http_json(f"{chaos.url}/_chaos/idempotency", "DELETE")  # Stripe forgot the keys
    chaos.rules(
        {
            "match": {"method": "GET", "path_regex": f"^/v1/payment_intents/{slow_intent}$"},
            "fault": "timeout",
            "delay_s": 4,
            "times": 1,
        }
    )
    PaymentAttempt.objects.filter(pk=late_attempt.pk).update(
        created_at=timezone.now() - charging.REPLAY_WINDOW + dt.timedelta(seconds=2)
    )
    summary = payments_reconcile()
    assert summary["resumed"] == 2, summary
    for pledge in (slow, late):
        pledge.refresh_from_db()
        assert pledge.status == S.PAID
        assert pledge.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_stripe_refusing_our_key_stops_the_run_and_alerts_staff(
    chaos, staff, settings, celery_eager, django_capture_on_commit_callbacks
):
    campaign, pledges = charge_due_campaign(staff, count=3)
    settings.STRIPE_SECRET_KEY = "rk_revoked"
    gateway.reset_client()
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement.settle_run(campaign=campaign)
    assert run.halted
    assert sum(run.by_status.values()) == 0
    statuses = sorted(Pledge.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == [S.CHARGE_DUE, S.CHARGE_DUE, S.CHARGING]
    stuck = PaymentAttempt.objects.get(pledge__campaign=campaign)
    assert stuck.outcome == PaymentAttempt.Outcome.PENDING
    assert "credentials" in stuck.message
    (alert,) = [m for m in mail.outbox if "Settlement stopped" in m.subject]
    assert alert.to == list(settings.STAFF_ALERT_EMAILS)
    # While halted, nothing else charges, even from another entry point.
    with pytest.raises(charging.SettlementHalted):
        charging.pledge_charge(pledge_id=pledges[0].pk)

    settings.STRIPE_SECRET_KEY = "sk_test_rallyround"
    gateway.reset_client()
    charging.settlement_resume()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        run = settlement.settle_run(campaign=campaign)
    assert run.by_status == {S.PAID: 3}
    assert_ledger_clean(chaos, campaign)


def _queue_and_run(django_capture_on_commit_callbacks) -> None:
    """The beat hands the due pledges to the payments queue; the (eager) worker runs them."""
    with django_capture_on_commit_callbacks(execute=True):
        charging.charges_enqueue()


@pytest.mark.django_db
def test_after_a_halt_is_lifted_everything_due_is_charged_within_minutes(
    chaos, staff, settings, celery_eager, django_capture_on_commit_callbacks
):
    """Issue 13, defect 3. Stripe refuses our key: the queued chunk stops at its first pledge.
    An operator fixes the key and runs `manage.py settlement_resume`: within minutes every
    pledge is charged — none waits hours for the queue mark the halted chunk left on it."""
    from django.core.management import call_command

    campaign, pledges = charge_due_campaign(staff, count=4)
    settings.STRIPE_SECRET_KEY = "rk_revoked"
    gateway.reset_client()
    _queue_and_run(django_capture_on_commit_callbacks)
    assert charging.settlement_is_halted()
    assert not Pledge.objects.filter(campaign=campaign, status=S.PAID).exists()
    # While halted, the beat's chunks change nothing and strand nothing.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=True):
        _queue_and_run(django_capture_on_commit_callbacks)
    assert not Pledge.objects.filter(campaign=campaign, status=S.PAID).exists()

    settings.STRIPE_SECRET_KEY = "sk_test_rallyround"
    gateway.reset_client()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("settlement_resume", stdout=open(os.devnull, "w"))  # noqa: SIM115
        assert not charging.settlement_is_halted()
        # The next beat, a minute later at most.
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=True):
            _queue_and_run(django_capture_on_commit_callbacks)
    assert _all(pledges, S.PAID)
    assert all(p.attempts.count() == 1 for p in pledges)
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_a_rate_limiter_timeout_stops_the_chunk_and_strands_nothing(
    chaos, staff, settings, celery_eager, django_capture_on_commit_callbacks
):
    """Issue 13, defect 3. No Stripe slot comes within the wait budget: the chunk stops, the
    pledge it was on waits for the reconciler (same key), and the rest are due again at once
    instead of sitting behind their queue mark."""
    from django.core.cache import cache

    campaign, pledges = charge_due_campaign(staff, count=3)
    settings.STRIPE_MAX_RPS = 1
    settings.STRIPE_SLOT_WAIT_SECONDS = 0.3
    now = int(time.time())
    for second in range(now - 1, now + 30):
        cache.set(f"stripe-rps:{second}", 10**6, timeout=60)
    _queue_and_run(django_capture_on_commit_callbacks)
    assert not Pledge.objects.filter(campaign=campaign, status=S.PAID).exists()
    for second in range(now - 1, now + 30):
        cache.delete(f"stripe-rps:{second}")
    settings.STRIPE_MAX_RPS = 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=True):
        _queue_and_run(django_capture_on_commit_callbacks)
    stuck = [p for p in pledges if Pledge.objects.get(pk=p.pk).status != S.PAID]
    assert len(stuck) <= 1, "only the pledge that hit the timeout may wait for the reconciler"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11), tick=True):
        payments_reconcile()
    assert _all(pledges, S.PAID)
    assert_ledger_clean(chaos, campaign)


# --- killed workers and concurrent runs (PostgreSQL) ----------------------------------------
def _subprocess_env(chaos, tmp_path) -> dict:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_URL"}}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        STRIPE_API_BASE=chaos.url,
        STRIPE_SECRET_KEY="sk_test_rallyround",
        STRIPE_LOCAL_COMPAT="true",
        STRIPE_MAX_RPS="4",
        CACHE_BACKEND="locmem",
        CELERY_TASK_ALWAYS_EAGER="true",
        RALLYROUND_VAR_DIR=str(tmp_path),
        EMAIL_URL="consolemail://",
    )
    env.pop("TEST_DATABASE_NAME", None)
    return env


def _wait(predicate, seconds=30.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_charge_then_another_run_finishes_with_nobody_charged_twice(
    chaos, staff, tmp_path
):
    campaign, pledges = charge_due_campaign(staff, count=8)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "settle_campaigns", "--campaign", campaign.slug],
        cwd=ROOT,
        env=_subprocess_env(chaos, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait(lambda: Pledge.objects.filter(campaign=campaign, status=S.PAID).count() >= 2)
        # The next charge succeeds at Stripe and its answer hangs: kill the worker right there.
        chaos.rules({"match": CHARGE, "fault": "after_upstream_timeout", "delay_s": 30, "times": 1})
        _wait(lambda: chaos.stats()["faults"].get("after_upstream_timeout") == 1)
        _wait(
            lambda: (
                len(chaos.ledger()["charges_by_metadata"])
                > Pledge.objects.filter(campaign=campaign, status=S.PAID).count()
            )
        )
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    chaos.clear_rules()
    hung = Pledge.objects.get(campaign=campaign, status=S.CHARGING)
    assert hung.attempts.get().outcome == PaymentAttempt.Outcome.PENDING

    # Another run right away leaves the leased pledge alone and charges the rest...
    settlement.settle_run(campaign=campaign)
    assert Pledge.objects.get(pk=hung.pk).status == S.CHARGING
    # ...and once the lease has expired, resumes it with the same key: replayed, not recharged.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        settlement.settle_run(campaign=campaign)
    assert _all(pledges, S.PAID)
    assert Pledge.objects.get(pk=hung.pk).attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_and_two_beats_at_once_charge_every_pledge_exactly_once(
    chaos, staff, celery_eager
):
    campaign, pledges = charge_due_campaign(staff, count=16)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(fn):
        try:
            barrier.wait(10)
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    jobs = [
        lambda: settlement.settle_run(campaign=campaign),
        lambda: settlement.settle_run(),
        settlement.settle_due,
        settlement.settle_due,
    ]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert _all(pledges, S.PAID)
    assert PaymentAttempt.objects.filter(pledge__campaign=campaign).count() == 16
    campaign.refresh_from_db()
    assert campaign.collected_cents == sum(p.amount_cents for p in pledges)
    assert_ledger_clean(chaos, campaign)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_freezing_the_same_campaign_at_once_freeze_it_once(chaos, celery_eager):
    campaign = campaign_ending(goal_cents=100_000)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card) for _ in range(5)]
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def beat():
        try:
            barrier.wait(10)
            with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1)):
                results.append(settlement.settle_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r["failed"] for r in results) == [0, 1]
    assert campaign.events.filter(to_status=Campaign.Status.FAILED).count() == 1
    assert _all(pledges, S.RELEASED)
    released_mails = [m for m in mail.outbox if "you will not be charged" in m.subject]
    assert len(released_mails) == 5
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_an_older_attempts_decline_is_never_taken_for_a_newer_attempts_answer(
    chaos, staff, fast_backoff
):
    """Attempt 1 was declined; attempt 2 never reached Stripe. Past 24 hours the look-up finds
    only attempt 1's intent: attempt 2 is closed as never sent and attempt 3 goes out."""
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=DECLINE_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.RETRY_DUE
    chaos.rules({"match": CHARGE, "fault": "http_500", "times": 100})
    with time_machine.travel(pledge.next_attempt_at + dt.timedelta(minutes=1)):
        settlement.settle_run(campaign=campaign)
    chaos.clear_rules()
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count) == (S.CHARGING, 2)
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        payments_reconcile()
    second = pledge.attempts.get(number=2)
    assert second.outcome == PaymentAttempt.Outcome.CANCELED
    assert second.stripe_payment_intent_id == ""
    third = pledge.attempts.get(number=3)
    assert third.outcome == PaymentAttempt.Outcome.SOFT_DECLINE
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    assert_ledger_clean(chaos, campaign)


# --- moved from the review of the money path (issue 13) ---------------------------------
# --- the reconciler goes on past one pledge it cannot resume ----------------------------------
@pytest.mark.django_db
@pytest.mark.stripe
def test_reconciler_resumes_the_others_when_one_pledge_cannot_get_a_rate_limit_slot(
    chaos, staff, monkeypatch, caplog
):
    import time_machine
    from django.utils import timezone

    from pledges.services.reconcile import payments_reconcile

    monkeypatch.setattr(charging, "TRANSIENT_TRIES", 1)
    campaign, pledges = charge_due_campaign(staff, count=2)
    chaos.rules(
        {"match": {"method": "POST", "path_regex": "^/v1/payment_intents$"}, "fault": "http_500"}
    )
    settlement.settle_run(campaign=campaign)
    chaos.clear_rules()
    assert all(Pledge.objects.get(pk=p.pk).status == S.CHARGING for p in pledges)

    # The shared limiter's cache is stuck for the first pledge's call (stripe_slot_acquire
    # gives up with TimeoutError after its wait budget; raised at once here).
    real_slot = ratelimit.stripe_slot_acquire
    calls = []

    def slot_stuck_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("no Stripe rate-limit slot within the wait budget")
        return real_slot(**kwargs)

    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", slot_stuck_once)
    later = timezone.now() + charging.LEASE + dt.timedelta(minutes=1)
    with time_machine.travel(later):
        summary = payments_reconcile()
    assert (summary["resumed"], summary["errors"]) == (1, 1)
    first, second = (Pledge.objects.get(pk=p.pk) for p in pledges)
    assert (first.status, second.status) == (S.CHARGING, S.PAID)
    assert f"pledge {first.pk} not resumed (TimeoutError" in caplog.text

    # Its lease runs out again and the next run charges it, with the same key.
    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", real_slot)
    with time_machine.travel(later + charging.LEASE + dt.timedelta(minutes=1)):
        payments_reconcile()
    first.refresh_from_db()
    assert first.status == S.PAID
    assert first.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


# --- a retry is not charged before its time ---------------------------------------------------
def _payment_intent_posts(chaos) -> int:
    return chaos.stats()["requests"].get("POST /v1/payment_intents", 0)


@pytest.mark.django_db
@pytest.mark.stripe
def test_a_redelivered_charge_task_does_not_retry_a_decline_before_its_day(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    import time_machine
    from django.utils import timezone

    from pledges.tasks import pledges_charge
    from tests.pledges.settlement_support import DECLINE_CARD

    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=DECLINE_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count) == (S.RETRY_DUE, 1)
    retry_at = pledge.next_attempt_at
    posts = _payment_intent_posts(chaos)

    # The task that charged attempt 1 is delivered again (worker lost before its ack).
    pledges_charge(pledge_ids=[pledge.pk])
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count, pledge.next_attempt_at) == (
        S.RETRY_DUE,
        1,
        retry_at,
    )
    assert _payment_intent_posts(chaos) == posts

    # On its day the beat's fan-out queues it (marking next_attempt_at ahead) and the task
    # charges attempt 2 with the next key.
    with (
        time_machine.travel(retry_at + dt.timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert charging.charges_enqueue(now=timezone.now()) == 1
    pledge.refresh_from_db()
    assert pledge.attempt_count == 2
    assert pledge.attempts.get(number=2).idempotency_key == f"pledge-{pledge.pk}-attempt-2"
    assert _payment_intent_posts(chaos) == posts + 1
    assert_ledger_clean(chaos, campaign)
