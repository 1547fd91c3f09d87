"""Charging one pledge: claim it (conditional UPDATE with a lease, attempt written and committed
in the same transaction), ask Stripe outside any transaction — repeating the same request with
the same key on transient errors — and record the answer (`attempts.attempt_record`). Also the
fan-out that hands due pledges to the payments queue, and the halt that stops every worker when
Stripe refuses our credentials.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import time
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from pledges import gateway
from pledges.gateway import (
    ChargeOutcome,
    ChargeResult,
    GatewayAuthError,
    GatewayInvalidRequest,
    GatewayTransientError,
)
from pledges.models import PaymentAttempt, Pledge
from pledges.selectors import pledges_due_for_charge
from pledges.services.attempts import (
    RETRY_DELAYS,
    SettlementError,
    attempt_cancel,
    attempt_note,
    attempt_open,
    attempt_record,
    intent_attempt,
)
from pledges.services.notify import (
    staff_alert,
)
from pledges.services.transitions import (
    pledge_log,
    pledge_transition,
)
from pledges.tasks import pledges_charge as pledges_charge_task

log = logging.getLogger(__name__)

S = Pledge.Status
C = Campaign.Status
Outcome = PaymentAttempt.Outcome


LEASE = dt.timedelta(minutes=10)

# Stripe keeps an idempotency key's answer for 24 hours; past this, look before retrying.
REPLAY_WINDOW = dt.timedelta(hours=23)

# Extra tries of the same request, with the same key, on 429/5xx/timeouts (stripe-python has
# already retried 5xx and connection errors twice by the time we see one).
TRANSIENT_TRIES = 5

TRANSIENT_BACKOFF_SECONDS = 0.5

# No new try of a charge starts this long after its first: a Stripe that hangs (each try can
# take STRIPE_TIMEOUT_SECONDS times stripe-python's three tries) would otherwise hold a payments
# worker for minutes per pledge. The pledge stays CHARGING with its attempt pending, and the
# reconciler asks Stripe with the same key once the lease expires.
CHARGE_BUDGET_SECONDS = 60.0

TASK_CHUNK = 25
# Pledges marked queued per transaction by the fan-out (sent as tasks of TASK_CHUNK).
ENQUEUE_STEP = 1000

# Longest a settlement task (or one beat run) keeps working before it hands the rest to its
# next run: far below the broker's visibility timeout and within the beat lock's lease.
STEP_SECONDS = 60

# How long an enqueued pledge is left alone by the next beat (at least; grows with the backlog).
ENQUEUE_HORIZON = dt.timedelta(minutes=15)

HALT_KEY = "settlement:halted"

HALT_SECONDS = 15 * 60

HALTED_NOTE = "Stripe refused our credentials"


class SettlementHalted(Exception):
    """Stripe refused our credentials: no more charges until staff have looked."""


def settlement_halt(*, reason: str) -> None:
    """Stop every charging worker (they check before each charge) and alert staff once."""
    if cache.add(HALT_KEY, reason, timeout=HALT_SECONDS):
        staff_alert(
            subject="Settlement stopped: Stripe refused our API key",
            body=(
                f"{reason}\n\nNo more charges will be attempted for {HALT_SECONDS // 60} minutes. "
                "Check STRIPE_SECRET_KEY; the pledge that hit the error stays CHARGING with its "
                "attempt pending, and the reconciler resumes it with the same idempotency key."
            ),
        )
    else:
        cache.set(HALT_KEY, reason, timeout=HALT_SECONDS)


def settlement_is_halted() -> str | None:
    return cache.get(HALT_KEY)


def settlement_resume() -> int:
    """Staff fixed the key: let charging go on before the halt expires by itself.

    The pledges a halt stopped mid-charge (CHARGING, their attempt pending with "Stripe refused
    our credentials": Stripe took nothing) get their lease expired now, so the reconciler
    resumes them with the same key at once instead of ten minutes later. Returns how many.
    """
    cache.delete(HALT_KEY)
    return Pledge.objects.filter(
        status=S.CHARGING,
        attempts__outcome=Outcome.PENDING,
        attempts__message__startswith=HALTED_NOTE,
        lease_expires_at__gt=timezone.now(),
    ).update(lease_expires_at=timezone.now())


def pledges_queue_marks_release(*, pledge_ids: list[int]) -> int:
    """A queued chunk that stopped early (halt, no rate-limit slot) hands its untouched pledges
    back: their queue mark is lifted, so the next beat queues them again within a minute
    instead of when the mark passes (hours for a large backlog). A retry whose day has not
    come keeps its schedule."""
    now = timezone.now()
    released = Pledge.objects.filter(
        pk__in=pledge_ids, status=S.CHARGE_DUE, next_attempt_at__gt=now
    ).update(next_attempt_at=now)
    retries = Pledge.objects.filter(pk__in=pledge_ids, status=S.RETRY_DUE, next_attempt_at__gt=now)
    for pledge in retries:
        if _retry_is_due(pledge, now=now):
            released += Pledge.objects.filter(
                pk=pledge.pk, status=S.RETRY_DUE, next_attempt_at=pledge.next_attempt_at
            ).update(next_attempt_at=now)
    return released


def charges_enqueue(
    *,
    campaign_id: int | None = None,
    now: dt.datetime | None = None,
    seconds: float = STEP_SECONDS,
    after_id: int = 0,
    up_to_id: int | None = None,
    backlog: int | None = None,
) -> int:
    """Hand due pledges to the `payments` queue in chunks of ids, for at most `seconds` (the
    next beat goes on with the rest: they are still due and unmarked). `after_id`/`up_to_id`
    limit it to one id range of one campaign (the chunk a collect step has just marked);
    `backlog` is then how many are due in all, which sets how far ahead the queue mark lies.

    Each chunk is taken with FOR UPDATE SKIP LOCKED and marked (next_attempt_at = later) in the
    same transaction, and the task is sent after commit: two beats running at once split the
    work instead of doubling it. Correctness never depends on this — the charge itself claims
    each pledge with a conditional UPDATE.
    """
    now = now or timezone.now()
    qs = pledges_due_for_charge(now=now, campaign_id=campaign_id).filter(pk__gt=after_id)
    if up_to_id is not None:
        qs = qs.filter(pk__lte=up_to_id)
    if not qs.exists():
        return 0
    backlog = max(backlog or 0, qs.count() if backlog is None else 0)
    sent = 0
    end = time.monotonic() + seconds
    # Keyset steps on the (campaign, status, id) index, one campaign and one status at a time:
    # "status IN (…) ORDER BY id" over every campaign cannot walk that index in id order, and
    # PostgreSQL sorted all the due rows for each chunk (~0.5 s per 25 ids at 10^6 pledges).
    campaigns = Campaign.objects.filter(status=C.SUCCEEDED).order_by("pk")
    if campaign_id:
        campaigns = campaigns.filter(pk=campaign_id)
    for cid in campaigns.values_list("pk", flat=True).iterator():
        for status in (S.CHARGE_DUE, S.RETRY_DUE):
            last = after_id
            step = qs.filter(campaign_id=cid, status=status)
            while time.monotonic() < end:
                with transaction.atomic():
                    ids = list(
                        step.filter(pk__gt=last)
                        .order_by("pk")
                        .select_for_update(skip_locked=True, of=("self",))
                        .values_list("pk", flat=True)[:ENQUEUE_STEP]
                    )
                    if not ids:
                        break
                    Pledge.objects.filter(pk__in=ids).update(
                        next_attempt_at=charges_queue_mark(backlog=backlog, now=now)
                    )
                    charges_hand_over(pledge_ids=ids, priority=status == S.RETRY_DUE)
                sent += len(ids)
                last = ids[-1]
    log.info("queued %s pledges for charging", sent)
    return sent


def charges_queue_mark(*, backlog: int, now: dt.datetime | None = None) -> dt.datetime:
    """The `next_attempt_at` a due pledge gets when it is handed to the payments queue: the
    beat's fan-out leaves it alone until then. At least ENQUEUE_HORIZON, longer when `backlog`
    (all a campaign has to charge) takes the rate limit longer than that to work through."""
    rps = max(1, int(settings.STRIPE_MAX_RPS or 1))
    return decision_time(now) + max(ENQUEUE_HORIZON, dt.timedelta(seconds=2 * backlog / rps))


def charges_hand_over(*, pledge_ids: list[int], priority: bool = False) -> None:
    """After the current transaction commits, send these pledges (queue-marked in it) to the
    `payments` queue, TASK_CHUNK ids a task — with `priority` (retries) to its priority lane,
    which the payments workers consume first, so a retry never waits behind a big campaign's
    first charges. robust: a broker outage is logged; the marked pledges are queued again by
    the beat once their mark passes, so nothing is lost."""
    options = {"queue": settings.PAYMENTS_PRIORITY_QUEUE} if priority else {}
    for start in range(0, len(pledge_ids), TASK_CHUNK):
        chunk = pledge_ids[start : start + TASK_CHUNK]
        transaction.on_commit(
            partial(pledges_charge_task.apply_async, kwargs={"pledge_ids": chunk}, **options),
            robust=True,
        )


def outside_transactions() -> None:
    """Stripe is never called inside transaction.atomic(): a slow answer would hold row locks
    and a rollback cannot take back a charge. (A test case's own wrapping block is allowed.)"""
    blocks = transaction.get_connection().atomic_blocks
    if any(not getattr(block, "_from_testcase", False) for block in blocks):
        raise RuntimeError("settlement must not call Stripe inside transaction.atomic()")


def decision_time(now: dt.datetime | None = None) -> dt.datetime:
    """The time for a decision made now: the clock read at this moment (never a `now` read at
    the start of a long run — a Stripe hang makes a run long), or a caller's later `now`."""
    current = timezone.now()
    return max(now, current) if now is not None else current


@dataclasses.dataclass
class ChargeReport:
    pledge_id: int
    status: str  # the pledge's status afterwards, or "skipped"
    amount_cents: int = 0
    detail: str = ""


def claim_new_attempt(
    pledge: Pledge, *, now: dt.datetime, actor=None, actor_label="settlement", note=""
) -> PaymentAttempt | None:
    """Move the pledge to CHARGING and write attempt n+1, in one transaction: the key exists in
    our database before Stripe ever sees it. None if somebody else moved the pledge first."""
    number = pledge.attempt_count + 1
    with transaction.atomic():
        won = pledge_transition(
            pledge=pledge,
            to=S.CHARGING,
            expected=pledge.status,
            where={"attempt_count": pledge.attempt_count},
            updates={
                "lease_expires_at": decision_time(now) + LEASE,
                "attempt_count": number,
                "next_attempt_at": None,
            },
            actor=actor,
            actor_label=actor_label,
            note=note or f"Attempt {number}",
        )
        if not won:
            return None
        return attempt_open(pledge=pledge, number=number)


def pledge_claim(pledge_id: int, *, now: dt.datetime) -> tuple[Pledge, PaymentAttempt, bool] | None:
    """Take a pledge for charging. Returns (pledge, attempt, resumed) or None if it is not ours.

    A new try: CHARGE_DUE/RETRY_DUE → CHARGING and attempt n+1 written in one transaction, so
    the key exists in our database before Stripe ever sees it. A resumed try: a CHARGING pledge
    whose lease expired (its worker died or lost the answer) keeps its pending attempt.
    """
    claimed = _claim_first_attempt(pledge_id, now=now)
    if claimed is not None:
        return claimed
    pledge = Pledge.objects.filter(pk=pledge_id).first()
    if pledge is None:
        return None
    lease = decision_time(now) + LEASE
    if pledge.status == S.RETRY_DUE and not _retry_is_due(pledge, now=now):
        return None  # a redelivered or duplicate task: the retry is not due yet
    if pledge.status in (S.CHARGE_DUE, S.RETRY_DUE):
        attempt = claim_new_attempt(pledge, now=now)
        return (pledge, attempt, False) if attempt else None
    if pledge.status == S.CHARGING and pledge.lease_expires_at and pledge.lease_expires_at <= now:
        won = pledge_transition(
            pledge=pledge,
            to=S.CHARGING,
            expected=S.CHARGING,
            where={"lease_expires_at__lte": now, "attempt_count": pledge.attempt_count},
            updates={"lease_expires_at": lease},
            actor_label="settlement",
            note=f"Lease expired; resuming attempt {pledge.attempt_count} with the same key.",
        )
        if not won:
            return None
        attempt = pledge.attempts.filter(number=pledge.attempt_count).first()
        if attempt is None:  # cannot happen: claim and attempt commit together
            log.error("pledge %s is CHARGING without attempt %s", pledge.pk, pledge.attempt_count)
            return None
        return pledge, attempt, True
    return None


def _claim_first_attempt(
    pledge_id: int, *, now: dt.datetime
) -> tuple[Pledge, PaymentAttempt, bool] | None:
    """The common case of `pledge_claim`, without reading the row first: a CHARGE_DUE pledge
    has made no attempt (it comes only from ACTIVE), so the claim is the same conditional
    UPDATE with attempt 1, and the pledge in memory is filled from its RETURNING. None if the
    pledge was not CHARGE_DUE with no attempt: the caller then reads it and decides."""
    pledge = Pledge(pk=pledge_id, status=S.CHARGE_DUE, attempt_count=0)
    attempt = claim_new_attempt(pledge, now=now)
    return (pledge, attempt, False) if attempt else None


def _retry_is_due(pledge: Pledge, *, now: dt.datetime) -> bool:
    """Whether a RETRY_DUE pledge's retry time has come.

    `next_attempt_at` alone cannot say "not yet": the fan-out overwrites it with its queue mark
    (a time in the future) when it hands a due retry to the queue. Past it, the retry is due
    either way; before it, the schedule is the last attempt's decline time plus its delay,
    exactly as `_record_declined` set it.
    """
    if pledge.next_attempt_at is None or pledge.next_attempt_at <= now:
        return True
    last = (
        pledge.attempts.filter(number=pledge.attempt_count)
        .values_list("finished_at", "updated_at")
        .first()
    )
    if last is None:
        return True
    declined_at = last[0] or last[1]  # an answer recorded without its time: when last written
    delay = RETRY_DELAYS.get(pledge.attempt_count, RETRY_DELAYS[2])
    return declined_at + delay <= now


def _charge_with_backoff(pledge: Pledge, attempt: PaymentAttempt) -> ChargeResult:
    """Call Stripe for `attempt`, repeating the same request (same key, same body) on 429,
    5xx and timeouts with exponential backoff and jitter, while CHARGE_BUDGET_SECONDS last."""
    last: GatewayTransientError | None = None
    started = time.monotonic()
    for n in range(TRANSIENT_TRIES):
        if n:
            delay = TRANSIENT_BACKOFF_SECONDS * (2 ** (n - 1))
            delay += random.uniform(0, delay / 2)  # noqa: S311 (jitter, not crypto)
            if time.monotonic() + delay - started > CHARGE_BUDGET_SECONDS:
                break  # the reconciler takes it from here (same key)
            time.sleep(delay)
        params: dict[str, Any] = {
            "amount_cents": attempt.amount_cents,
            "currency": attempt.currency,
            "customer_id": pledge.stripe_customer_id,
            "payment_method_id": pledge.stripe_payment_method_id,
            "metadata": {
                "pledge_id": str(pledge.pk),
                "campaign_id": str(pledge.campaign_id),
                "attempt": str(attempt.number),
            },
            "idempotency_key": attempt.idempotency_key,
        }
        try:
            # The same kind of request as the first time, or Stripe rejects the replayed key.
            if attempt.on_session:
                return gateway.payment_intent_charge_on_session(**params)
            return gateway.payment_intent_charge_off_session(
                **params, description=f"Pledge R-{pledge.pk}"
            )
        except GatewayTransientError as exc:
            if isinstance(exc, TimeoutError):
                raise  # no rate-limit slot (StripeSlotBusy): Stripe never saw this try
            last = exc
            log.warning(
                "pledge %s attempt %s: transient Stripe error %s (%s), try %s",
                pledge.pk,
                attempt.number,
                exc.http_status,
                exc.code,
                n + 1,
            )
    assert last is not None  # noqa: S101 (loop ran at least once)
    raise last


def _resolve_resumed(
    pledge: Pledge, attempt: PaymentAttempt, now: dt.datetime
) -> tuple[PaymentAttempt, ChargeResult]:
    """Ask Stripe what became of an attempt whose answer we never recorded.

    Known intent → retrieve it. Within Stripe's 24-hour key memory → repeat the same request
    with the same key (Stripe replays the stored answer; if it never got the request, this is
    the first and only charge). Older → look the pledge's intents up by metadata; only if Stripe
    holds none is a fresh attempt (new key) safe.
    """
    if attempt.stripe_payment_intent_id:
        return attempt, gateway.payment_intent_retrieve(attempt.stripe_payment_intent_id)
    # Read the clock now, not when the run began: past the window the key may be forgotten.
    if attempt.created_at > decision_time(now) - REPLAY_WINDOW:
        return attempt, _charge_with_backoff(pledge, attempt)
    found = gateway.payment_intents_for_pledge(pledge.pk, customer_id=pledge.stripe_customer_id)
    # Money taken by any attempt settles the pledge; anything else counts only for its own
    # attempt (an older attempt's decline says nothing about this one).
    paid = next((r for r in found if r.outcome == ChargeOutcome.SUCCEEDED), None)
    if paid is not None:
        owner = intent_attempt(pledge_id=pledge.pk, result=paid) or attempt
        if owner.pk != attempt.pk:
            attempt_cancel(
                attempt_id=attempt.pk,
                message=f"Not needed: attempt {owner.number} ({paid.payment_intent_id}) paid.",
                now=now,
            )
        return owner, paid
    best = best_intent([r for r in found if r.metadata.get("attempt") == str(attempt.number)])
    if best is not None:
        return attempt, best
    # Stripe never created an intent for this attempt: close it and start the next one.
    with transaction.atomic():
        attempt_cancel(
            attempt_id=attempt.pk,
            message="No PaymentIntent at Stripe for this attempt after 24 hours.",
            now=now,
        )
        number = attempt.number + 1
        updated = Pledge.objects.filter(
            pk=pledge.pk, status=S.CHARGING, attempt_count=attempt.number
        ).update(attempt_count=number, lease_expires_at=decision_time(now) + LEASE)
        if not updated:
            raise SettlementError(f"pledge {pledge.pk} changed while it was being resumed")
        new = attempt_open(pledge=pledge, number=number)
        pledge_log(
            pledge=pledge,
            note=f"Attempt {attempt.number} never reached Stripe; starting attempt {number}.",
            actor_label="settlement",
        )
    return new, _charge_with_backoff(pledge, new)


def best_intent(found: list[ChargeResult]) -> ChargeResult | None:
    """Of the intents Stripe holds for a pledge, the one that decides its state."""
    for outcome in (
        ChargeOutcome.SUCCEEDED,
        ChargeOutcome.PROCESSING,
        ChargeOutcome.REQUIRES_ACTION,
    ):
        for result in found:
            if result.outcome == outcome:
                return result
    return found[0] if found else None


def pledge_charge(*, pledge_id: int, now: dt.datetime | None = None) -> ChargeReport:
    """Charge one pledge off-session if it is due (or resume it if its lease expired).

    Never inside a transaction: the Stripe call happens between two short ones. Raises
    SettlementHalted if Stripe refused our credentials (now or earlier in this run).
    """
    outside_transactions()
    if settlement_is_halted():
        raise SettlementHalted(settlement_is_halted())
    now = now or timezone.now()
    claim = pledge_claim(pledge_id, now=now)
    if claim is None:
        return ChargeReport(pledge_id=pledge_id, status="skipped")
    pledge, attempt, resumed = claim
    return charge_attempt_run(pledge=pledge, attempt=attempt, resumed=resumed, now=now)


def charge_attempt_run(
    *,
    pledge: Pledge,
    attempt: PaymentAttempt,
    resumed: bool = False,
    now: dt.datetime | None = None,
    source: str = "settlement",
) -> ChargeReport:
    """Ask Stripe about a claimed attempt (new or resumed) and record the answer. `source` is
    who is asking: "supporter" when it is the supporter's own page request (they see any
    3-D Secure step there, so no email is sent for it)."""
    now = now or timezone.now()
    pledge_id = pledge.pk
    try:
        if resumed:
            attempt, result = _resolve_resumed(pledge, attempt, now)
        else:
            result = _charge_with_backoff(pledge, attempt)
    except GatewayTransientError as exc:
        # Stripe may or may not have it: leave CHARGING with the attempt pending; when the
        # lease expires the reconciler asks Stripe (same key), never charging blindly.
        attempt_note(attempt, code=exc.code, message=f"Transient error, will resume: {exc}")
        return ChargeReport(pledge_id=pledge_id, status=S.CHARGING, detail="transient")
    except TimeoutError as exc:
        # No rate-limit slot: Stripe never saw this attempt. It stays CHARGING for the
        # reconciler (same key); the caller stops its chunk (pledges_queue_marks_release).
        attempt_note(attempt, code="rate_limit_wait", message=f"No Stripe slot, resuming: {exc}")
        raise
    except GatewayAuthError as exc:
        attempt_note(attempt, code=exc.code, message=f"{HALTED_NOTE}: {exc}")
        settlement_halt(
            reason=f"Pledge #{pledge.pk} attempt {attempt.number}: HTTP {exc.http_status} {exc}"
        )
        raise SettlementHalted(str(exc)) from exc
    except GatewayInvalidRequest as exc:
        status = attempt_record(
            attempt_id=attempt.pk,
            result=ChargeResult(
                outcome=ChargeOutcome.HARD_DECLINE, code=exc.code, message=str(exc)
            ),
            invalid=True,
            source="settlement",
        )
        return ChargeReport(pledge_id=pledge_id, status=status, detail=exc.code)
    status = attempt_record(attempt_id=attempt.pk, result=result, source=source)
    return ChargeReport(
        pledge_id=pledge_id,
        status=status,
        amount_cents=result.amount_cents if status == S.PAID else 0,
        detail=result.decline_code or result.code,
    )
