"""The reconciler and the grace sweep in parallel chunks (issue 14).

The beat runs only find the work and queue it, one task per chunk of ids, without calling
Stripe; the workers' chunks then do it, each pledge's work bounded by the gateway's timeouts.
Overlapping runs split the work, a second run does not queue what is still waiting in the queue,
a hang at Stripe holds up its own chunk only, and every email still goes out once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from functools import partial

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from pledges import gateway, ratelimit, tasks
from pledges.models import PaymentAttempt, Pledge, PledgeEvent
from pledges.services import charging, settlement, sweeps
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory
from tests.pledges.settlement_support import (
    THREE_DS_CARD,
    assert_ledger_clean,
    charge_due_campaign,
)

S = Pledge.Status


@pytest.fixture
def queued(monkeypatch):
    """What the beat runs send to the workers: {task name: [ids of each chunk]}, filled by the
    tasks' `delay` (thread-safe: list appends)."""
    sent: dict[str, list[list[int]]] = {}
    chunk_tasks = (
        tasks.leases_resume,
        tasks.attempts_resolve,
        tasks.action_checks_run,
        tasks.refunds_retry,
        tasks.new_cards_check,
        tasks.pledges_remind,
        tasks.pledges_expire,
    )
    for task in chunk_tasks:
        chunks = sent.setdefault(task.name, [])
        monkeypatch.setattr(
            task,
            "delay",
            lambda chunks=chunks, **kwargs: chunks.append(next(iter(kwargs.values()))),
        )
    return sent


@pytest.fixture
def short_stripe_timeout(settings):
    """Stripe calls time out after 0.3 s (the gateway's client is rebuilt before and after)."""
    settings.STRIPE_TIMEOUT_SECONDS = 0.3
    gateway.reset_client()
    yield
    gateway.reset_client()


def _stripe_requests(chaos) -> int:
    return sum(chaos.stats()["requests"].values())


def _claimed_never_sent(pledges) -> None:
    """Workers claimed these pledges (attempt 1 and its key committed) and died before calling
    Stripe; their leases have run out."""
    for pledge in pledges:
        assert charging.pledge_claim(pledge.pk, now=timezone.now()) is not None
    Pledge.objects.filter(pk__in=[p.pk for p in pledges]).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )


def _at_once(*jobs) -> None:
    """Run the jobs in threads released together (each with its own database connection)."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(10)
            job()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


@pytest.mark.stripe
@pytest.mark.django_db
def test_a_reconcile_run_queues_expired_leases_one_task_per_chunk_without_calling_stripe(
    chaos, staff, monkeypatch, queued, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(sweeps, "SWEEP_CHUNK", 2)
    campaign, pledges = charge_due_campaign(staff, count=6)
    _claimed_never_sent(pledges)
    before = _stripe_requests(chaos)

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.payments_reconcile()
    assert time.monotonic() - started < 2
    assert _stripe_requests(chaos) == before  # the beat's run only finds and queues
    assert (summary["leases_queued"], summary["chunks"]) == (6, 3), summary
    chunks = queued[tasks.leases_resume.name]
    assert [len(ids) for ids in chunks] == [2, 2, 2]
    assert sorted(pk for ids in chunks for pk in ids) == sorted(p.pk for p in pledges)

    # A run at once (the chunks still wait in the queue) queues nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.payments_reconcile()["leases_queued"] == 0
    assert len(chunks) == 3

    # The payments workers run the chunks: each pledge charged once, with its own key.
    results = [tasks.leases_resume(pledge_ids=ids) for ids in chunks]
    assert results == [{"resumed": 2}] * 3
    for pledge in pledges:
        pledge.refresh_from_db()
        assert pledge.status == S.PAID
        (attempt,) = pledge.attempts.all()
        assert attempt.idempotency_key == f"pledge-{pledge.pk}-attempt-1"
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.payments_reconcile()["leases_queued"] == 0
    assert_ledger_clean(chaos, campaign)


@pytest.mark.stripe
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hang_at_stripe_holds_up_its_own_chunk_only_and_is_resumed_later_with_the_same_key(
    chaos, staff, short_stripe_timeout, monkeypatch, queued
):
    """Two chunks on two workers: the first pledge's look-up hangs at Stripe (every try of it
    times out); the other chunk's pledge is charged meanwhile. The hung pledge stays CHARGING
    with its attempt pending, and once its renewed lease runs out a later run resumes it with
    the same key."""
    monkeypatch.setattr(sweeps, "SWEEP_CHUNK", 1)
    campaign, (hung, other) = charge_due_campaign(staff, count=2)
    _claimed_never_sent([hung, other])
    attempt = PaymentAttempt.objects.get(pledge=hung)
    # Stripe charged the hung pledge's attempt, and its worker died after noting the intent.
    result = gateway.payment_intent_charge_off_session(
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        customer_id=hung.stripe_customer_id,
        payment_method_id=hung.stripe_payment_method_id,
        metadata={"pledge_id": str(hung.pk), "campaign_id": str(campaign.pk), "attempt": "1"},
        idempotency_key=attempt.idempotency_key,
        description=f"Pledge R-{hung.pk}",
    )
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        stripe_payment_intent_id=result.payment_intent_id
    )
    chaos.rules(
        {
            "match": {
                "method": "GET",
                "path_regex": f"^/v1/payment_intents/{result.payment_intent_id}$",
            },
            "fault": "timeout",
            "delay_s": 1,
            "times": 3,  # the first try and stripe-python's two retries
        }
    )
    tasks.payments_reconcile()
    chunks = queued[tasks.leases_resume.name]
    assert sorted(chunks) == sorted([[hung.pk], [other.pk]])

    finished: dict[int, float] = {}

    def worker(ids):
        tasks.leases_resume(pledge_ids=ids)
        finished[ids[0]] = time.monotonic()

    started = time.monotonic()
    _at_once(*(partial(worker, ids) for ids in chunks))
    assert finished[hung.pk] - started >= 0.9  # three timeouts
    # The other chunk was done while the hung one was still waiting for Stripe.
    assert finished[other.pk] < finished[hung.pk] - 0.5
    assert Pledge.objects.get(pk=other.pk).status == S.PAID
    hung.refresh_from_db()
    assert hung.status == S.CHARGING
    assert hung.attempts.get().outcome == PaymentAttempt.Outcome.PENDING

    # Its lease was renewed by the resume: a run now leaves it alone...
    tasks.payments_reconcile()
    assert len(chunks) == 2
    # ...and once the lease has run out, the next run resumes it with the same key.
    chaos.clear_rules()
    with time_machine.travel(timezone.now() + charging.LEASE + dt.timedelta(minutes=1)):
        tasks.payments_reconcile()
        assert chunks[2:] == [[hung.pk]]
        assert tasks.leases_resume(pledge_ids=chunks[2]) == {"resumed": 1}
    hung.refresh_from_db()
    assert hung.status == S.PAID
    assert hung.stripe_payment_intent_id == result.payment_intent_id
    assert hung.attempts.get().idempotency_key == f"pledge-{hung.pk}-attempt-1"
    assert_ledger_clean(chaos, campaign)


@pytest.mark.stripe
@pytest.mark.django_db
def test_a_chunk_with_no_rate_limit_slot_stops_and_the_next_run_queues_the_rest_at_once(
    chaos, staff, monkeypatch, queued, django_capture_on_commit_callbacks
):
    campaign, pledges = charge_due_campaign(staff, count=3)
    _claimed_never_sent(pledges)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.payments_reconcile()
    chunks = queued[tasks.leases_resume.name]
    assert [sorted(ids) for ids in chunks] == [sorted(p.pk for p in pledges)]

    def no_slot(**kwargs):
        raise TimeoutError("no Stripe rate-limit slot within the wait budget")

    real_slot = ratelimit.stripe_slot_acquire
    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", no_slot)
    assert tasks.leases_resume(pledge_ids=chunks[0]) == {"no_slot": 1}
    first, *rest = sorted(chunks[0])
    # The pledge it was on waits for its renewed lease; the two it never reached are queued
    # again by the very next run, not when their marks would have lapsed.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.payments_reconcile()
    assert [sorted(ids) for ids in chunks[1:]] == [rest]
    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", real_slot)
    assert tasks.leases_resume(pledge_ids=chunks[1]) == {"resumed": 2}
    with time_machine.travel(timezone.now() + charging.LEASE + dt.timedelta(minutes=1)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.payments_reconcile()
        assert chunks[2:] == [[first]]
        assert tasks.leases_resume(pledge_ids=[first]) == {"resumed": 1}
    assert all(Pledge.objects.get(pk=p.pk).status == S.PAID for p in pledges)
    assert PaymentAttempt.objects.filter(pledge__campaign=campaign).count() == 3
    assert_ledger_clean(chaos, campaign)


def _awaiting(campaign, *, grace_in: dt.timedelta, n: int) -> list[Pledge]:
    """Pledges asked for another card (no payment request open at Stripe), their last reminder
    three days ago, grace ending `grace_in` from now."""
    now = timezone.now()
    return [
        PledgeFactory(
            campaign=campaign,
            supporter=SupporterFactory(campaign=campaign, email=f"s{n}-{i}@example.org"),
            status=S.NEEDS_NEW_METHOD,
            grace_ends_at=now + grace_in,
            last_reminder_at=now - dt.timedelta(days=3),
        )
        for i in range(n)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reminders_and_unpaid_go_out_in_chunks_once_each_when_two_runs_overlap(
    monkeypatch, queued, celery_eager
):
    monkeypatch.setattr(sweeps, "SWEEP_CHUNK", 2)
    campaign = CampaignFactory(status=Campaign.Status.SUCCEEDED)
    reminded = _awaiting(campaign, grace_in=dt.timedelta(days=3), n=5)
    over = _awaiting(campaign, grace_in=-dt.timedelta(hours=1), n=3)
    mail.outbox.clear()

    # Two beats at once split the work: every pledge queued once, in chunks of two at most.
    _at_once(tasks.payments_remind_and_expire, tasks.payments_remind_and_expire)
    remind_chunks = queued[tasks.pledges_remind.name]
    expire_chunks = queued[tasks.pledges_expire.name]
    assert sorted(pk for ids in remind_chunks for pk in ids) == sorted(p.pk for p in reminded)
    assert sorted(pk for ids in expire_chunks for pk in ids) == sorted(p.pk for p in over)
    assert max(len(ids) for ids in remind_chunks + expire_chunks) <= 2
    assert not mail.outbox  # the beat's run sends nothing itself

    # Every chunk delivered twice (a redelivered message), worked by two workers at once.
    def all_chunks():
        for ids in remind_chunks:
            tasks.pledges_remind(pledge_ids=ids)
        for ids in expire_chunks:
            tasks.pledges_expire(pledge_ids=ids)

    _at_once(all_chunks, all_chunks)
    subjects: dict[str, list[str]] = {}
    for message in mail.outbox:
        subjects.setdefault(message.to[0], []).append(message.subject)
    for pledge in reminded:
        (subject,) = subjects[pledge.supporter.email]
        assert subject.startswith("[Rallyround] Reminder")
        assert pledge.events.filter(kind=PledgeEvent.Kind.REMINDER).count() == 1
    for pledge in over:
        (subject,) = subjects[pledge.supporter.email]
        assert "was not collected" in subject
        assert Pledge.objects.get(pk=pledge.pk).status == S.UNPAID
    assert len(mail.outbox) == 8


@pytest.mark.stripe
@pytest.mark.django_db
def test_a_pledge_whose_payment_request_cannot_be_closed_stays_and_is_queued_again(
    chaos, staff, queued, celery_eager, django_capture_on_commit_callbacks
):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    chaos.rules({"match": {"method": "POST", "path_regex": "/cancel$"}, "fault": "http_503"})
    mail.outbox.clear()
    chunks = queued[tasks.pledges_expire.name]
    with time_machine.travel(pledge.grace_ends_at + dt.timedelta(minutes=1)):
        with django_capture_on_commit_callbacks(execute=True):
            summary = tasks.payments_remind_and_expire()
        assert summary["expiries_queued"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.pledges_expire(pledge_ids=chunks[0]) == {"not_closed": 1}
        assert Pledge.objects.get(pk=pledge.pk).status == S.ACTION_REQUIRED
        assert not mail.outbox

    chaos.clear_rules()
    with time_machine.travel(pledge.grace_ends_at + dt.timedelta(hours=1)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.payments_remind_and_expire()
        assert chunks[1:] == [[pledge.pk]]  # the next hour's run tries it again
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.pledges_expire(pledge_ids=chunks[1]) == {"unpaid": 1}
    pledge.refresh_from_db()
    assert pledge.status == S.UNPAID
    assert gateway.payment_intent_retrieve(pledge.stripe_payment_intent_id).status == "canceled"
    assert [m.subject for m in mail.outbox if "was not collected" in m.subject]
    assert len(mail.outbox) == 1
    assert_ledger_clean(chaos, campaign)


def test_the_sweeps_chunks_go_to_the_workers_queues():
    from config.celery import app

    for name in (
        "pledges.tasks.reconcile_leases",
        "pledges.tasks.reconcile_attempts",
        "pledges.tasks.reconcile_action_checks",
        "pledges.tasks.reconcile_refunds",
        "pledges.tasks.reconcile_new_cards",
        "pledges.tasks.grace_expire",
    ):
        assert app.amqp.router.route({}, name)["queue"].name == "payments"
    assert app.amqp.router.route({}, "pledges.tasks.grace_remind")["queue"].name == "emails"
    for beat in ("pledges.tasks.reconcile_payments", "pledges.tasks.expire_grace"):
        assert app.amqp.router.route({}, beat)["queue"].name == "default"
