"""The reconciler: make our records agree with Stripe's, by asking Stripe, never by guessing.

Runs every 5 minutes (and as `manage.py reconcile_payments`). It resolves:
1. CHARGING pledges whose lease expired (a worker died, or a 429/5xx/timeout outlasted its
   retries): resumed through `pledge_charge`, which retrieves the known intent, or repeats the
   same request with the same idempotency key inside Stripe's 24-hour memory (Stripe replays
   the stored answer, or performs the one and only charge if it never got it), or past that
   looks the pledge's intents up by metadata before allowing a new attempt.
2. Attempts left pending on a pledge that has moved on (e.g. a webhook recorded the outcome
   first): their own outcome is filled in from Stripe.
3. ACTION_REQUIRED pledges: the supporter may have finished 3-D Secure and closed the tab before
   we heard (localstripe sends few webhooks; real ones can be lost).
4. Refunds left pending: repeated with their own key.
5. New cards saved on the new-card page whose POST never arrived: charged as the page would have.

The beat's run only finds this work and fans it out (`pledges/services/sweeps.py`): each set in
chunks of ids, one task per chunk on the `payments` queue, so several payments workers work them
in parallel and a Stripe hang holds up one chunk, not the sweep (nor the beat lock). A chunk
stops when Stripe refuses our key or no rate-limit slot comes, and lifts the queue marks of what
it did not reach. The foreground run (`manage.py reconcile_payments`, tests) works the same
chunks one after another in the calling process. Who resumes what is decided by the same
conditional claims either way (`charging.pledge_claim` renews an expired lease for one worker
only), never by the queue marks.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db.models import QuerySet

from pledges import gateway
from pledges.gateway import ChargeOutcome
from pledges.models import PaymentAttempt, Pledge, Refund
from pledges.selectors import ids_in_chunks
from pledges.services.attempts import attempt_record
from pledges.services.charging import LEASE, best_intent, decision_time, pledge_charge
from pledges.services.onsession import pledge_new_card_check, pledges_new_card_waiting
from pledges.services.sweeps import (
    SWEEP_CHUNK,
    SWEEP_SECONDS,
    QueueMarks,
    payments_queue_wait,
    sweep_chunk_run,
    sweep_fan_out,
)
from pledges.tasks import action_checks_run as action_checks_run_task
from pledges.tasks import attempts_resolve as attempts_resolve_task
from pledges.tasks import leases_resume as leases_resume_task
from pledges.tasks import new_cards_check as new_cards_task
from pledges.tasks import refunds_retry as refunds_retry_task

log = logging.getLogger(__name__)
S = Pledge.Status
Outcome = PaymentAttempt.Outcome
# Give the supporter's own browser return a head start before we go and ask.
ACTION_CHECK_AFTER = dt.timedelta(minutes=5)
REFUND_RETRY_AFTER = dt.timedelta(minutes=2)
ACTION_RECHECK_SECONDS = 30 * 60

# Queue marks (sweeps.QueueMarks). A beat run's marks last at least as long as its chunks may
# wait in the payments queue (sweeps.payments_queue_wait); the 3-D Secure check's mark is also
# its rate cap: Stripe is asked about a waiting pledge at most every half hour, so thousands of
# them never eat the rate limit that charges need.
LEASE_MARKS = QueueMarks("reconcile-lease", seconds=15 * 60)
ATTEMPT_MARKS = QueueMarks("reconcile-attempt", seconds=15 * 60)
ACTION_MARKS = QueueMarks("reconcile-action-check", seconds=ACTION_RECHECK_SECONDS, kept=True)
REFUND_MARKS = QueueMarks("reconcile-refund", seconds=15 * 60)
# Kept like the 3-D Secure check's: a waiting pledge's new-card pages are looked at every half hour.
NEW_CARD_MARKS = QueueMarks("reconcile-new-card", seconds=30 * 60, kept=True)


def payments_reconcile(*, now: dt.datetime | None = None, fan_out: bool = False) -> dict[str, int]:
    """Resolve what is left open at Stripe (the five cases in the module docstring).

    `fan_out` (the beat): queue the work in chunks for the payments workers and return how
    much was queued, within SWEEP_SECONDS. Otherwise (an operator's command, tests) work it
    here, chunk after chunk, ignoring the queue marks, and return what came of it; `now` is
    then a time the caller has moved to (each decision still reads the clock when it is made).
    """
    if fan_out:
        return _fan_out(now=now)
    summary = {
        "resumed": 0,
        "attempts_resolved": 0,
        "confirmed_by_supporter": 0,
        "refunds": 0,
        "new_cards_charged": 0,
        "errors": 0,
    }
    for ids in ids_in_chunks(leases_expired(now=now), size=SWEEP_CHUNK):
        counts = leases_resume(pledge_ids=ids, stop_at_no_slot=False)
        summary["resumed"] += counts.get("resumed", 0)
        summary["errors"] += counts.get("errors", 0)
        if counts.get("halted"):
            summary["halted"] = 1
            log.error("reconciler stopped: Stripe refused our key")
            return summary
    steps = (
        ("attempts_resolved", attempts_stray(now=now), attempts_resolve, None),
        # The 3-D Secure check's half-hour cap holds in the foreground too.
        ("confirmed_by_supporter", action_checks_due(now=now), action_checks_run, ACTION_MARKS),
        ("refunds", refunds_pending(now=now), refunds_retry, None),
        ("new_cards_charged", pledges_new_card_waiting(now=now), new_cards_check, NEW_CARD_MARKS),
    )
    for key, qs, run, cap in steps:
        for ids in ids_in_chunks(qs, size=SWEEP_CHUNK):
            counts = run(ids=cap.take(ids) if cap else ids, now=now, stop_at_no_slot=False)
            summary[key] += counts.get("done", 0)
            summary["errors"] += counts.get("errors", 0)
    return summary


def _fan_out(*, now: dt.datetime | None) -> dict[str, int]:
    deadline = time.monotonic() + SWEEP_SECONDS
    wait = payments_queue_wait()
    summary = {"chunks": 0}
    sets: tuple[tuple[str, QuerySet, QueueMarks, object, str], ...] = (
        ("leases", leases_expired(now=now), LEASE_MARKS, leases_resume_task, "pledge_ids"),
        ("attempts", attempts_stray(now=now), ATTEMPT_MARKS, attempts_resolve_task, "ids"),
        ("action_checks", action_checks_due(now=now), ACTION_MARKS, action_checks_run_task, "ids"),
        ("refunds", refunds_pending(now=now), REFUND_MARKS, refunds_retry_task, "ids"),
        ("new_cards", pledges_new_card_waiting(now=now), NEW_CARD_MARKS, new_cards_task, "ids"),
    )
    for name, qs, marks, task, arg in sets:
        queued, sent = sweep_fan_out(
            qs=qs,
            marks=marks,
            task=task,
            arg=arg,
            deadline=deadline,
            mark_seconds=max(marks.seconds, wait),
        )
        summary[f"{name}_queued"] = queued
        summary["chunks"] += sent
    return summary


# --- 1. expired leases ------------------------------------------------------------------------
def leases_expired(*, now: dt.datetime | None = None) -> QuerySet[Pledge]:
    """CHARGING pledges whose lease has run out (the claim decides again for each one)."""
    return Pledge.objects.filter(status=S.CHARGING, lease_expires_at__lte=decision_time(now))


def leases_resume(*, pledge_ids: list[int], stop_at_no_slot: bool = True) -> dict[str, int]:
    """Resume one chunk of CHARGING pledges whose lease expired, each through `pledge_charge`
    with its pending attempt's key. Its conditional claim renews the lease for one worker only,
    so a chunk queued twice (or a foreground run beside it) resumes nobody twice. No `now`:
    each lease and 24-hour decision reads the clock when it is made (a hanging Stripe makes a
    chunk long)."""

    def resume(pledge_id: int) -> str:
        report = pledge_charge(pledge_id=pledge_id)
        return "" if report.status == "skipped" else "resumed"

    # A pledge not resumed (changed under us, Stripe unreachable) stays CHARGING and its
    # renewed lease brings it back on a later run.
    return sweep_chunk_run(
        ids=pledge_ids,
        handle=resume,
        marks=LEASE_MARKS,
        failed="reconciler: pledge %s not resumed",
        stop_at_no_slot=stop_at_no_slot,
    )


# --- 2. attempts left pending on a pledge that moved on ---------------------------------------
def attempts_stray(*, now: dt.datetime | None = None) -> QuerySet[PaymentAttempt]:
    return PaymentAttempt.objects.filter(
        outcome=Outcome.PENDING, created_at__lte=decision_time(now) - LEASE
    ).exclude(pledge__status=S.CHARGING)


def attempts_resolve(
    *, ids: list[int], now: dt.datetime | None = None, stop_at_no_slot: bool = True
) -> dict[str, int]:
    """Fill in the outcome of one chunk of stray attempts from Stripe ("done" counts them)."""
    return sweep_chunk_run(
        ids=ids,
        handle=lambda attempt_id: _attempt_resolve(attempt_id, now=now),
        marks=ATTEMPT_MARKS,
        failed="reconciler: attempt %s not resolved",
        stop_at_no_slot=stop_at_no_slot,
    )


def _attempt_resolve(attempt_id: int, *, now: dt.datetime | None) -> str:
    attempt = (
        attempts_stray(now=now).filter(pk=attempt_id).select_related("pledge").first()
    )  # still stray? (a worker or webhook may have answered since it was queued)
    if attempt is None:
        return ""
    result: gateway.ChargeResult | None
    if attempt.stripe_payment_intent_id:
        result = gateway.payment_intent_retrieve(attempt.stripe_payment_intent_id)
    else:
        # Only this attempt's own intents (by the metadata we set) answer for it.
        found = [
            r
            for r in gateway.payment_intents_for_pledge(
                attempt.pledge_id, customer_id=attempt.pledge.stripe_customer_id
            )
            if r.metadata.get("attempt") == str(attempt.number)
        ]
        result = best_intent(found)
    if result is None:
        canceled = PaymentAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
            outcome=Outcome.CANCELED,
            message="Stripe holds no PaymentIntent for this attempt.",
            finished_at=decision_time(now),
        )
        return "done" if canceled else ""
    if result.outcome == ChargeOutcome.PROCESSING:
        return ""  # asked again next run
    attempt_record(attempt_id=attempt.pk, result=result, source="reconciler")
    return "done"


# --- 3. supporters asked for 3-D Secure -------------------------------------------------------
def action_checks_due(*, now: dt.datetime | None = None) -> QuerySet[Pledge]:
    return Pledge.objects.filter(
        status=S.ACTION_REQUIRED, updated_at__lte=decision_time(now) - ACTION_CHECK_AFTER
    ).exclude(stripe_payment_intent_id="")


def action_checks_run(
    *, ids: list[int], now: dt.datetime | None = None, stop_at_no_slot: bool = True
) -> dict[str, int]:
    """Ask Stripe about one chunk of pledges waiting for 3-D Secure ("done": those that moved
    on). Webhooks and the supporter's return usually report first; each pledge's half-hour
    mark (taken when it was queued) stays after the chunk, so it is asked again only then."""

    def check(pledge_id: int) -> str:
        pledge = action_checks_due(now=now).filter(pk=pledge_id).first()
        if pledge is None:
            return ""
        return "done" if action_required_refresh(pledge=pledge) != S.ACTION_REQUIRED else ""

    return sweep_chunk_run(
        ids=ids,
        handle=check,
        marks=ACTION_MARKS,
        failed="reconciler: pledge %s (3-D Secure) not checked",
        stop_at_no_slot=stop_at_no_slot,
    )


def action_required_refresh(*, pledge: Pledge) -> str:
    """Ask Stripe whether the supporter finished (or failed) 3-D Secure; record it. Raises
    GatewayError (or TimeoutError, no rate-limit slot) if Stripe could not be asked."""
    result = gateway.payment_intent_retrieve(pledge.stripe_payment_intent_id)
    if result.outcome in (ChargeOutcome.REQUIRES_ACTION, ChargeOutcome.PROCESSING):
        return pledge.status
    attempt = pledge.attempts.filter(stripe_payment_intent_id=result.payment_intent_id).first()
    if attempt is None:
        return pledge.status
    return attempt_record(attempt_id=attempt.pk, result=result, source="reconciler")


# --- 4. refunds left pending ------------------------------------------------------------------
def refunds_pending(*, now: dt.datetime | None = None) -> QuerySet[Refund]:
    return Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lte=decision_time(now) - REFUND_RETRY_AFTER
    )


def refunds_retry(
    *, ids: list[int], now: dt.datetime | None = None, stop_at_no_slot: bool = True
) -> dict[str, int]:
    """Send one chunk of pending refunds again, each with its own key ("done": Stripe
    answered)."""
    from pledges.services.refunds import RefundError, refund_submit

    def retry(refund_id: int) -> str:
        refund = refunds_pending(now=now).filter(pk=refund_id).first()
        if refund is None:
            return ""
        try:
            refund_submit(refund=refund)
        except RefundError as exc:
            log.warning("refund %s still pending: %s", refund.pk, exc)
            return ""
        return "done"

    return sweep_chunk_run(
        ids=ids,
        handle=retry,
        marks=REFUND_MARKS,
        failed="reconciler: refund %s not retried",
        stop_at_no_slot=stop_at_no_slot,
    )


# --- 5. new cards whose page never reported back ----------------------------------------------
def new_cards_check(
    *, ids: list[int], now: dt.datetime | None = None, stop_at_no_slot: bool = True
) -> dict[str, int]:
    """Look at one chunk of pledges whose new-card page saved a card we never heard about, and
    charge the saved card ("done": charged). Each pledge's half-hour mark stays after the
    chunk."""
    return sweep_chunk_run(
        ids=ids,
        handle=lambda pledge_id: (
            "done" if pledge_new_card_check(pledge_id=pledge_id, now=now) else ""
        ),
        marks=NEW_CARD_MARKS,
        failed="reconciler: pledge %s (new card) not checked",
        stop_at_no_slot=stop_at_no_slot,
    )
