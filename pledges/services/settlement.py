"""Settlement: at the deadline, charge every pledge exactly once — or nobody.

Campaign level (this module's first half): a LIVE campaign past its deadline is frozen
(LIVE → SETTLING with its totals snapshotted in the same transaction); if the snapshot is below
the goal it FAILS and every ACTIVE pledge is RELEASED; otherwise it waits in SETTLING for staff
to approve collection (→ SUCCEEDED, pledges ACTIVE → CHARGE_DUE) or reject it (→ FAILED).

Pledge level (`pledge_charge`): claim by conditional UPDATE with a lease, write the
PaymentAttempt row with its deterministic idempotency key and commit it, then — outside any
transaction, after taking a global rate-limit slot — ask Stripe, and record the answer in one
transaction that locks the pledge row. The same recording function serves the settlement task,
the reconciler, webhooks and the supporter's on-session pages, so whichever arrives first wins
and the others find nothing left to do.

Every step is safe to run twice or concurrently: state moves only by conditional UPDATE
(`pledge_transition`, `campaign_transition`), and Stripe sees the same idempotency key for the
same attempt however often it is repeated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_transition, platform_staff_required
from campaigns.templatetags.rallyround import money
from pledges import gateway
from pledges.gateway import (
    ChargeOutcome,
    ChargeResult,
    GatewayAuthError,
    GatewayError,
    GatewayInvalidRequest,
    GatewayTransientError,
)
from pledges.models import PAYABLE, PaymentAttempt, Pledge, PledgeEvent
from pledges.ratelimit import stripe_slot_acquire
from pledges.services.digest import settlement_digest_send, settlement_digests_send
from pledges.services.notify import (
    organizers_notify,
    pledge_notify,
    pledges_notify_batches,
    staff_alert,
)
from pledges.services.transitions import (
    COUNTED,
    pledge_log,
    pledge_transition,
    pledges_transition_bulk,
)
from pledges.tasks import charge_pledges, collect_campaign

log = logging.getLogger(__name__)

S = Pledge.Status
C = Campaign.Status
Outcome = PaymentAttempt.Outcome

LEASE = dt.timedelta(minutes=10)
MAX_TRIES = 3
# After the n-th soft decline, try again this much later.
RETRY_DELAYS = {1: dt.timedelta(days=1), 2: dt.timedelta(days=3)}
# Stripe keeps an idempotency key's answer for 24 hours; past this, look before retrying.
REPLAY_WINDOW = dt.timedelta(hours=23)
# Extra tries of the same request, with the same key, on 429/5xx/timeouts (stripe-python has
# already retried 5xx and connection errors twice by the time we see one).
TRANSIENT_TRIES = 5
TRANSIENT_BACKOFF_SECONDS = 0.5
CHUNK = 200
TASK_CHUNK = 25
# Pledges marked due (or released) per transaction: one keyset step on the
# (campaign, status, id) index, one UPDATE, one batch of events, one email batch per 200.
MARK_CHUNK = 1000
# Longest a settlement task (or one beat run) keeps working before it hands the rest to its
# next run: far below the broker's visibility timeout and within the beat lock's lease.
STEP_SECONDS = 60
# How long a staff request may spend moving pledges before leaving the rest to the workers.
REQUEST_SECONDS = 5
# A whole beat run (freezes, sweep, fan-out) stays within this, well inside its lock's lease.
RUN_SECONDS = 4 * 60
# How long an enqueued pledge is left alone by the next beat (at least; grows with the backlog).
ENQUEUE_HORIZON = dt.timedelta(minutes=15)
HALT_KEY = "settlement:halted"
HALT_SECONDS = 15 * 60
HALTED_NOTE = "Stripe refused our credentials"


class SettlementError(Exception):
    """A request the settlement rules refuse (a sentence for staff)."""


class SettlementHalted(Exception):
    """Stripe refused our credentials: no more charges until staff have looked."""


# === halting ==================================================================================
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


# === campaign level ===========================================================================
def campaigns_due_for_freeze(*, now: dt.datetime | None = None) -> QuerySet[Campaign]:
    """LIVE campaigns whose deadline has passed (the deadline lives in the database)."""
    return Campaign.objects.filter(status=C.LIVE, deadline__lte=now or timezone.now())


def campaign_goal_met(campaign: Campaign) -> bool:
    return (campaign.frozen_pledged_cents or 0) >= campaign.goal_cents


def campaign_freeze(*, campaign_id: int, now: dt.datetime | None = None) -> str:
    """Freeze one campaign at its deadline; fail it at once if the goal was not met.

    The campaign row is locked while the snapshot is taken, and the snapshot is computed from
    the pledges themselves, so a pledge that changed just before the deadline is counted as it
    finally was. Returns "failed", "awaiting_approval" or "" (not due, or someone else froze it).
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != C.LIVE or campaign.deadline > now:
            return ""
        totals = campaign.pledges.filter(status__in=COUNTED).aggregate(
            cents=Sum("amount_cents"), count=Count("id")
        )
        frozen_cents, frozen_count = totals["cents"] or 0, totals["count"] or 0
        campaign_transition(
            campaign=campaign,
            to=C.SETTLING,
            expected=C.LIVE,
            actor_label="settlement",
            note=f"Deadline passed: {frozen_count} pledges, "
            f"{money(frozen_cents, campaign.currency)} frozen.",
            updates={
                "frozen_pledged_cents": frozen_cents,
                "frozen_backer_count": frozen_count,
                # Read with the lock held: every activation counted above committed before
                # this moment, so none of them is later taken for "saved after the freeze".
                "frozen_at": _clock(now),
            },
        )
        if not campaign_goal_met(campaign):
            campaign_transition(
                campaign=campaign,
                to=C.FAILED,
                expected=C.SETTLING,
                actor_label="settlement",
                note=f"Goal of {money(campaign.goal_cents, campaign.currency)} not met "
                f"({money(frozen_cents, campaign.currency)} pledged).",
            )
            organizers_notify(campaign=campaign, template="settlement_organizer_failed")
            outcome = "failed"
        else:
            organizers_notify(campaign=campaign, template="settlement_organizer_goal_met")
            staff_alert(
                level=logging.INFO,
                subject=f"Campaign awaits approval for collection: {campaign.title}",
                body=(
                    f"Campaign #{campaign.pk} ({campaign.slug}) met its goal: "
                    f"{money(frozen_cents, campaign.currency)} of "
                    f"{money(campaign.goal_cents, campaign.currency)} from {frozen_count} pledges. "
                    "Approve or reject it under Settlements in the admin."
                ),
            )
            outcome = "awaiting_approval"
    if outcome == "failed":
        # Bounded: the beat's sweep releases whatever is left, a step at a time.
        campaign_release_pledges(
            campaign_id=campaign.pk,
            note="The campaign did not reach its goal.",
            seconds=STEP_SECONDS,
        )
    return outcome


def _iter_id_chunks(qs: QuerySet, size: int = CHUNK) -> Iterator[list[int]]:
    """Ids of `qs` in ascending chunks, re-querying each time (rows may leave the set as we
    go), so memory holds one chunk however many rows there are."""
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def campaign_release_pledges(
    *, campaign_id: int, note: str, actor=None, seconds: float | None = None
) -> int:
    """ACTIVE → RELEASED for every pledge of a failed campaign (for at most `seconds` when
    given: the beat's sweep finishes the rest); tell each supporter kindly (emails go out in
    batches on the `emails` queue)."""
    released = 0
    end = None if seconds is None else time.monotonic() + seconds
    active = Pledge.objects.filter(campaign_id=campaign_id, status=S.ACTIVE)
    for ids in _iter_id_chunks(active, size=MARK_CHUNK):
        if end is not None and time.monotonic() >= end:
            break
        with transaction.atomic():
            moved = pledges_transition_bulk(
                pledge_ids=ids,
                expected=S.ACTIVE,
                to=S.RELEASED,
                actor=actor,
                actor_label="settlement",
                note=note,
            )
            pledges_notify_batches(pledge_ids=moved, template="settlement_campaign_failed")
        released += len(moved)
    return released


def campaign_approve_for_collection(*, campaign: Campaign, actor) -> int:
    """Staff confirm a campaign that met its goal may collect: SETTLING → SUCCEEDED; a task
    then marks every ACTIVE pledge CHARGE_DUE and hands them to the payments queue.

    Returns the number of pledges frozen at the deadline (those to be charged). Raises
    SettlementError with a sentence if the campaign is not awaiting approval or did not meet
    its goal.
    """
    platform_staff_required(actor=actor, doing="approve a campaign for collection")
    campaign.refresh_from_db()
    if campaign.status != C.SETTLING:
        raise SettlementError(
            f"“{campaign.title}” is {campaign.get_status_display().lower()}, not awaiting approval."
        )
    if not campaign_goal_met(campaign):
        raise SettlementError(f"“{campaign.title}” did not reach its goal; it cannot collect.")
    won = campaign_transition(
        campaign=campaign,
        to=C.SUCCEEDED,
        expected=C.SETTLING,
        actor=actor,
        actor_label="staff",
        note="Approved for collection.",
        updates={
            "approved_for_collection_at": timezone.now(),
            "approved_for_collection_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    if not won:
        raise SettlementError(f"“{campaign.title}” was just settled by somebody else.")
    organizers_notify(campaign=campaign, template="settlement_organizer_approved")
    # Marking tens of thousands of pledges due is the worker's job, not the admin request's;
    # if the message is lost, the beat's sweep marks them within a minute.
    transaction.on_commit(lambda: collect_campaign.delay(campaign_id=campaign.pk), robust=True)
    return campaign.frozen_backer_count or 0


def campaign_collect(*, campaign_id: int) -> int:
    """After approval, in the foreground: mark every ACTIVE pledge due and queue the charges."""
    due = campaign_mark_pledges_due(campaign_id=campaign_id)
    charges_enqueue(campaign_id=campaign_id)
    return due


def campaign_collect_step(
    *, campaign_id: int, after_id: int = 0, seconds: float = STEP_SECONDS
) -> tuple[int, int | None]:
    """One bounded step of collecting after approval: mark ACTIVE pledges due chunk by chunk
    (from `after_id` on) for at most `seconds`, then queue the charges marked so far.

    Returns (pledges marked due, the id to resume after — None when every pledge is marked).
    The task calling it queues itself again with that id, so no task runs long, a redelivered
    one repeats at most one step, and a lost one is finished by the beat's sweep."""
    end = time.monotonic() + seconds
    marked, last = 0, after_id
    while True:
        moved, last_seen = campaign_mark_due_chunk(campaign_id=campaign_id, after_id=last)
        marked += moved
        if last_seen is None:
            resume = None
            break
        last = last_seen
        if time.monotonic() >= end:
            resume = last
            break
    charges_enqueue(campaign_id=campaign_id, seconds=max(1.0, end - time.monotonic()))
    return marked, resume


def campaign_reject_collection(*, campaign: Campaign, actor, reason: str) -> int:
    """Staff decline to collect for a campaign that met its goal: → FAILED, nobody charged."""
    platform_staff_required(actor=actor, doing="reject a campaign's collection")
    reason = (reason or "").strip()
    if not reason:
        raise SettlementError("Give a reason: organizers and supporters are told why.")
    campaign.refresh_from_db()
    if campaign.status != C.SETTLING:
        raise SettlementError(
            f"“{campaign.title}” is {campaign.get_status_display().lower()}, not awaiting approval."
        )
    won = campaign_transition(
        campaign=campaign,
        to=C.FAILED,
        expected=C.SETTLING,
        actor=actor,
        actor_label="staff",
        note=f"Collection rejected: {reason}",
        updates={"review_note": reason},
    )
    if not won:
        raise SettlementError(f"“{campaign.title}” was just settled by somebody else.")
    organizers_notify(
        campaign=campaign, template="settlement_organizer_rejected", extra={"reason": reason}
    )
    # A staff request: release what a few seconds allow, the beat's sweep does the rest.
    return campaign_release_pledges(
        campaign_id=campaign.pk,
        note=f"Collection rejected by staff: {reason}",
        actor=actor,
        seconds=REQUEST_SECONDS,
    )


def campaign_mark_pledges_due(*, campaign_id: int, seconds: float | None = None) -> int:
    """ACTIVE → CHARGE_DUE for a SUCCEEDED campaign, chunk by chunk (for at most `seconds`
    when given; the next call goes on where this one stopped)."""
    end = None if seconds is None else time.monotonic() + seconds
    due, last = 0, 0
    while end is None or time.monotonic() < end:
        moved, last_seen = campaign_mark_due_chunk(campaign_id=campaign_id, after_id=last)
        due += moved
        if last_seen is None:
            break
        last = last_seen
    return due


def campaign_mark_due_chunk(
    *, campaign_id: int, after_id: int = 0, size: int | None = None
) -> tuple[int, int | None]:
    """Mark the next `size` ACTIVE pledges of a SUCCEEDED campaign (ids above `after_id`) due,
    in one transaction and a fixed number of statements whatever the campaign's size: a
    keyset step on the (campaign, status, id) index, the bulk transition, one email batch task
    per 200 supporters on the `emails` queue. Returns (pledges marked due, the last id looked
    at — None when no ACTIVE pledge is left past `after_id`).

    A pledge whose card was saved after the freeze (a late SetupIntent webhook) was not in the
    totals the campaign was judged on: it is released instead of charged.
    """
    ids = list(
        Pledge.objects.filter(campaign_id=campaign_id, status=S.ACTIVE, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", flat=True)[: size or MARK_CHUNK]
    )
    if not ids:
        return 0, None
    frozen_at = Campaign.objects.filter(pk=campaign_id).values_list("frozen_at", flat=True)[0]
    late: set[int] = set()
    if frozen_at:
        late = set(
            PledgeEvent.objects.filter(
                pledge_id__in=ids, to_status=S.ACTIVE, created_at__gt=frozen_at
            ).values_list("pledge_id", flat=True)
        )
    with transaction.atomic():
        if late:
            pledges_transition_bulk(
                pledge_ids=sorted(late),
                expected=S.ACTIVE,
                to=S.RELEASED,
                actor_label="settlement",
                note="Card saved after the deadline; not part of the frozen total.",
            )
        moved = pledges_transition_bulk(
            pledge_ids=[i for i in ids if i not in late],
            expected=S.ACTIVE,
            to=S.CHARGE_DUE,
            actor_label="settlement",
            note="Campaign approved for collection.",
        )
        pledges_notify_batches(pledge_ids=moved, template="settlement_campaign_succeeded")
    return len(moved), ids[-1]


def campaigns_sweep(*, seconds: float = RUN_SECONDS) -> dict[str, int]:
    """Finish bulk moves a crash (or a step's time limit) left: ACTIVE pledges of FAILED
    campaigns are released, of SUCCEEDED campaigns marked due, for at most about `seconds`.
    Cheap when there is nothing to do (an indexed EXISTS)."""
    end = time.monotonic() + seconds
    done = {"released": 0, "marked_due": 0}
    leftovers = Campaign.objects.filter(
        status__in=[C.FAILED, C.SUCCEEDED], pledges__status=S.ACTIVE
    ).distinct()
    for campaign in leftovers.only("pk", "status"):
        left = min(STEP_SECONDS, end - time.monotonic())
        if left <= 0:
            break
        if campaign.status == C.FAILED:
            done["released"] += campaign_release_pledges(
                campaign_id=campaign.pk, note="The campaign did not succeed.", seconds=left
            )
        else:
            done["marked_due"] += campaign_mark_pledges_due(campaign_id=campaign.pk, seconds=left)
    return done


# === fan-out ==================================================================================
def pledges_due_for_charge(
    *, now: dt.datetime | None = None, campaign_id: int | None = None, ignore_queue_marks=False
) -> QuerySet[Pledge]:
    """Pledges a charge attempt should start for now.

    `next_attempt_at` is "not before": the retry time for RETRY_DUE, and for both states the
    mark the fan-out leaves so the next beat does not queue the same pledge again while it is
    still waiting in the queue. A foreground run ignores the queue marks.
    """
    now = now or timezone.now()
    if ignore_queue_marks:
        due = Q(status=S.CHARGE_DUE) | Q(status=S.RETRY_DUE, next_attempt_at__lte=now)
    else:
        not_marked = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        due = Q(status__in=[S.CHARGE_DUE, S.RETRY_DUE]) & not_marked
    qs = Pledge.objects.filter(due, campaign__status=C.SUCCEEDED)
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    return qs


def charges_enqueue(
    *,
    campaign_id: int | None = None,
    now: dt.datetime | None = None,
    seconds: float = STEP_SECONDS,
) -> int:
    """Hand due pledges to the `payments` queue in chunks of ids, for at most `seconds` (the
    next beat goes on with the rest: they are still due and unmarked).

    Each chunk is taken with FOR UPDATE SKIP LOCKED and marked (next_attempt_at = later) in the
    same transaction, and the task is sent after commit: two beats running at once split the
    work instead of doubling it. Correctness never depends on this — the charge itself claims
    each pledge with a conditional UPDATE.
    """
    now = now or timezone.now()
    qs = pledges_due_for_charge(now=now, campaign_id=campaign_id)
    backlog = qs.count()
    if not backlog:
        return 0
    rps = max(1, int(settings.STRIPE_MAX_RPS or 1))
    horizon = max(ENQUEUE_HORIZON, dt.timedelta(seconds=2 * backlog / rps))
    sent, last = 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with transaction.atomic():
            ids = list(
                qs.filter(pk__gt=last)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:TASK_CHUNK]
            )
            if not ids:
                break
            Pledge.objects.filter(pk__in=ids).update(next_attempt_at=_clock(now) + horizon)
            # robust: a broker outage is logged; the marked pledges are queued again by the
            # beat once their mark passes, so nothing is lost.
            transaction.on_commit(partial(charge_pledges.delay, pledge_ids=ids), robust=True)
        sent += len(ids)
        last = ids[-1]
    log.info("queued %s pledges for charging", sent)
    return sent


def settle_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """What the beat runs every minute: freeze due campaigns, finish interrupted bulk moves,
    queue due charges. Harmless when run twice at once."""
    now = now or timezone.now()
    # Bounded (RUN_SECONDS): what does not fit is still due and is done by the next run.
    end = time.monotonic() + RUN_SECONDS
    summary = {"frozen": 0, "failed": 0, "awaiting_approval": 0}
    for campaign_id in campaigns_due_for_freeze(now=now).values_list("pk", flat=True):
        if time.monotonic() >= end - 2 * STEP_SECONDS:
            break
        outcome = campaign_freeze(campaign_id=campaign_id, now=now)
        if outcome:
            summary["frozen"] += 1
            summary[outcome] += 1
    summary.update(campaigns_sweep(seconds=max(1.0, end - time.monotonic() - STEP_SECONDS)))
    summary["queued"] = charges_enqueue(now=now)
    summary["digests"] = settlement_digests_send()
    return summary


# === charging one pledge ======================================================================
def _outside_transactions() -> None:
    """Stripe is never called inside transaction.atomic(): a slow answer would hold row locks
    and a rollback cannot take back a charge. (A test case's own wrapping block is allowed.)"""
    blocks = transaction.get_connection().atomic_blocks
    if any(not getattr(block, "_from_testcase", False) for block in blocks):
        raise RuntimeError("settlement must not call Stripe inside transaction.atomic()")


def attempt_key(pledge_id: int, number: int) -> str:
    return f"pledge-{pledge_id}-attempt-{number}"


def _clock(now: dt.datetime | None = None) -> dt.datetime:
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


def _claim_new_attempt(
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
                "lease_expires_at": _clock(now) + LEASE,
                "attempt_count": number,
                "next_attempt_at": None,
            },
            actor=actor,
            actor_label=actor_label,
            note=note or f"Attempt {number}",
        )
        if not won:
            return None
        return PaymentAttempt.objects.create(
            pledge=pledge,
            number=number,
            idempotency_key=attempt_key(pledge.pk, number),
            amount_cents=pledge.amount_cents,
            currency=pledge.currency,
        )


def _claim(pledge_id: int, *, now: dt.datetime) -> tuple[Pledge, PaymentAttempt, bool] | None:
    """Take a pledge for charging. Returns (pledge, attempt, resumed) or None if it is not ours.

    A new try: CHARGE_DUE/RETRY_DUE → CHARGING and attempt n+1 written in one transaction, so
    the key exists in our database before Stripe ever sees it. A resumed try: a CHARGING pledge
    whose lease expired (its worker died or lost the answer) keeps its pending attempt.
    """
    pledge = Pledge.objects.filter(pk=pledge_id).first()
    if pledge is None:
        return None
    lease = _clock(now) + LEASE
    if pledge.status == S.RETRY_DUE and not _retry_is_due(pledge, now=now):
        return None  # a redelivered or duplicate task: the retry is not due yet
    if pledge.status in (S.CHARGE_DUE, S.RETRY_DUE):
        attempt = _claim_new_attempt(pledge, now=now)
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
    5xx and timeouts with exponential backoff and jitter."""
    last: GatewayTransientError | None = None
    for n in range(TRANSIENT_TRIES):
        if n:
            delay = TRANSIENT_BACKOFF_SECONDS * (2 ** (n - 1))
            time.sleep(delay + random.uniform(0, delay / 2))  # noqa: S311 (jitter, not crypto)
        stripe_slot_acquire()
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
        stripe_slot_acquire()
        return attempt, gateway.payment_intent_retrieve(attempt.stripe_payment_intent_id)
    # Read the clock now, not when the run began: past the window the key may be forgotten.
    if attempt.created_at > _clock(now) - REPLAY_WINDOW:
        return attempt, _charge_with_backoff(pledge, attempt)
    stripe_slot_acquire()
    found = gateway.payment_intents_for_pledge(pledge.pk, customer_id=pledge.stripe_customer_id)
    # Money taken by any attempt settles the pledge; anything else counts only for its own
    # attempt (an older attempt's decline says nothing about this one).
    paid = next((r for r in found if r.outcome == ChargeOutcome.SUCCEEDED), None)
    if paid is not None:
        owner = intent_attempt(pledge_id=pledge.pk, result=paid) or attempt
        if owner.pk != attempt.pk:
            PaymentAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
                outcome=Outcome.CANCELED,
                message=f"Not needed: attempt {owner.number} ({paid.payment_intent_id}) paid.",
                finished_at=now,
            )
        return owner, paid
    best = _best_intent([r for r in found if r.metadata.get("attempt") == str(attempt.number)])
    if best is not None:
        return attempt, best
    # Stripe never created an intent for this attempt: close it and start the next one.
    with transaction.atomic():
        PaymentAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
            outcome=Outcome.CANCELED,
            message="No PaymentIntent at Stripe for this attempt after 24 hours.",
            finished_at=now,
        )
        number = attempt.number + 1
        updated = Pledge.objects.filter(
            pk=pledge.pk, status=S.CHARGING, attempt_count=attempt.number
        ).update(attempt_count=number, lease_expires_at=_clock(now) + LEASE)
        if not updated:
            raise SettlementError(f"pledge {pledge.pk} changed while it was being resumed")
        new = PaymentAttempt.objects.create(
            pledge=pledge,
            number=number,
            idempotency_key=attempt_key(pledge.pk, number),
            amount_cents=pledge.amount_cents,
            currency=pledge.currency,
        )
        pledge_log(
            pledge=pledge,
            note=f"Attempt {attempt.number} never reached Stripe; starting attempt {number}.",
            actor_label="settlement",
        )
    return new, _charge_with_backoff(pledge, new)


def intent_attempt(*, pledge_id: int, result: ChargeResult) -> PaymentAttempt | None:
    """The attempt a PaymentIntent belongs to: by its id, else by the metadata we set on it."""
    if result.payment_intent_id:
        found = PaymentAttempt.objects.filter(
            pledge_id=pledge_id, stripe_payment_intent_id=result.payment_intent_id
        ).first()
        if found is not None:
            return found
    number = str(result.metadata.get("attempt", ""))
    if number.isdigit():
        return PaymentAttempt.objects.filter(pledge_id=pledge_id, number=int(number)).first()
    return None


def _best_intent(found: list[ChargeResult]) -> ChargeResult | None:
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
    _outside_transactions()
    if settlement_is_halted():
        raise SettlementHalted(settlement_is_halted())
    now = now or timezone.now()
    claim = _claim(pledge_id, now=now)
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
        _attempt_note(attempt, code=exc.code, message=f"Transient error, will resume: {exc}")
        return ChargeReport(pledge_id=pledge_id, status=S.CHARGING, detail="transient")
    except TimeoutError as exc:
        # No rate-limit slot: Stripe never saw this attempt. It stays CHARGING for the
        # reconciler (same key); the caller stops its chunk (pledges_queue_marks_release).
        _attempt_note(attempt, code="rate_limit_wait", message=f"No Stripe slot, resuming: {exc}")
        raise
    except GatewayAuthError as exc:
        _attempt_note(attempt, code=exc.code, message=f"{HALTED_NOTE}: {exc}")
        settlement_halt(
            reason=f"Pledge #{pledge.pk} attempt {attempt.number}: HTTP {exc.http_status} {exc}"
        )
        raise SettlementHalted(str(exc)) from exc
    except GatewayInvalidRequest as exc:
        attempt_record(
            attempt_id=attempt.pk,
            result=ChargeResult(
                outcome=ChargeOutcome.HARD_DECLINE, code=exc.code, message=str(exc)
            ),
            invalid=True,
            source="settlement",
        )
        pledge.refresh_from_db()
        return ChargeReport(pledge_id=pledge_id, status=pledge.status, detail=exc.code)
    status = attempt_record(attempt_id=attempt.pk, result=result, source=source)
    return ChargeReport(
        pledge_id=pledge_id,
        status=status,
        amount_cents=result.amount_cents if status == S.PAID else 0,
        detail=result.decline_code or result.code,
    )


def _attempt_note(attempt: PaymentAttempt, *, code: str, message: str) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
        error_code=code[:64], message=message, updated_at=timezone.now()
    )


_RESULT_TO_OUTCOME = {
    ChargeOutcome.SUCCEEDED: Outcome.SUCCEEDED,
    ChargeOutcome.REQUIRES_ACTION: Outcome.REQUIRES_ACTION,
    ChargeOutcome.SOFT_DECLINE: Outcome.SOFT_DECLINE,
    ChargeOutcome.HARD_DECLINE: Outcome.HARD_DECLINE,
}


def attempt_record(  # noqa: C901 -- one branch per Stripe outcome, read as a table
    *,
    attempt_id: int,
    result: ChargeResult,
    source: str,
    invalid: bool = False,
    actor=None,
) -> str:
    """Write what Stripe said about an attempt and move the pledge accordingly.

    The one place an answer from Stripe becomes state, whoever brings it (settlement task,
    reconciler, webhook, the supporter's browser). Locks the pledge then the attempt, checks
    what is already recorded and applies only forward moves, so a second report of the same
    answer changes nothing. Returns the pledge's status afterwards.
    """
    now = timezone.now()
    with transaction.atomic():
        attempt = PaymentAttempt.objects.get(pk=attempt_id)
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("campaign", "supporter")
            .get(pk=attempt.pledge_id)
        )
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        if (
            attempt.stripe_payment_intent_id
            and result.payment_intent_id
            and attempt.stripe_payment_intent_id != result.payment_intent_id
        ):
            if result.outcome == ChargeOutcome.SUCCEEDED:
                # Money was taken by an intent this attempt does not know: it pays the pledge
                # if nothing has, else it is recorded as a duplicate and staff are alerted.
                _record_paid(pledge, attempt, result, source=source, now=now, actor=actor)
                pledge.refresh_from_db(fields=["status"])
                return pledge.status
            log.error(
                "attempt %s is %s, not %s: answer ignored",
                attempt.pk,
                attempt.stripe_payment_intent_id,
                result.payment_intent_id,
            )
            return pledge.status
        outcome = Outcome.INVALID if invalid else _RESULT_TO_OUTCOME.get(result.outcome)
        if result.status == "canceled":
            outcome = Outcome.CANCELED
        # Only money taken moves a pledge on an older attempt's word; declines, 3-D Secure
        # requests and cancellations count only for the attempt the pledge is on now.
        current = attempt.number == pledge.attempt_count

        # 1. The attempt: pending → anything; requires_action → its final answer.
        updates: dict = {"updated_at": now}
        if result.payment_intent_id and not attempt.stripe_payment_intent_id:
            updates["stripe_payment_intent_id"] = result.payment_intent_id
        open_outcomes = {Outcome.PENDING, Outcome.REQUIRES_ACTION}
        if outcome == Outcome.SUCCEEDED:
            # Money taken is the truth about an attempt, whatever we had made of it before
            # (a request we read as rejected, a decline, a cancel that came too late).
            open_outcomes = set(Outcome) - {Outcome.SUCCEEDED}
        if outcome and attempt.outcome in open_outcomes and attempt.outcome != outcome:
            updates.update(
                outcome=outcome,
                error_code=(result.code or "")[:64],
                decline_code=(result.decline_code or "")[:64],
                message=result.message or attempt.message,
                finished_at=now if outcome != Outcome.REQUIRES_ACTION else None,
            )
        if len(updates) > 1:
            PaymentAttempt.objects.filter(pk=attempt.pk).update(**updates)

        # 2. The pledge.
        if outcome == Outcome.SUCCEEDED:
            _record_paid(pledge, attempt, result, source=source, now=now, actor=actor)
        elif not current:
            pass
        elif outcome == Outcome.REQUIRES_ACTION:
            _record_requires_action(pledge, attempt, result, source=source, now=now)
        elif outcome in (Outcome.SOFT_DECLINE, Outcome.HARD_DECLINE, Outcome.CANCELED):
            # A cancelled intent can never be paid: for the pledge it is a hard decline.
            decline = (
                Outcome.SOFT_DECLINE if outcome == Outcome.SOFT_DECLINE else Outcome.HARD_DECLINE
            )
            _record_declined(pledge, attempt, result, decline, source=source, now=now)
        elif outcome == Outcome.INVALID and pledge.status == S.CHARGING:
            pledge_transition(
                pledge=pledge,
                to=S.NEEDS_REVIEW,
                expected=S.CHARGING,
                updates={"lease_expires_at": None},
                actor_label=source,
                note=f"Stripe rejected the request: {result.message}",
                code=result.code,
            )
            # Staff hear of it in the run's one digest (pledges/services/digest.py), not here.
        elif result.outcome == ChargeOutcome.PROCESSING and pledge.status == S.CHARGING and current:
            pledge_log(
                pledge=pledge,
                note="Stripe is still processing the payment; the reconciler will check it.",
                actor_label=source,
                stripe_object_id=result.payment_intent_id,
            )
    pledge.refresh_from_db(fields=["status"])
    return pledge.status


def _record_paid(pledge, attempt, result: ChargeResult, *, source, now, actor=None) -> None:
    amount = result.amount_cents or attempt.amount_cents
    if pledge.status in PAYABLE:
        pledge_transition(
            pledge=pledge,
            to=S.PAID,
            expected=pledge.status,
            updates={
                "paid_cents": amount,
                "paid_at": now,
                "stripe_payment_intent_id": result.payment_intent_id,
                "lease_expires_at": None,
                "next_attempt_at": None,
            },
            actor=actor,
            actor_label=source,
            note=f"Charged {money(amount, pledge.currency)} (attempt {attempt.number}).",
            stripe_object_id=result.payment_intent_id,
            amount_cents=amount,
        )
        Campaign.objects.filter(pk=pledge.campaign_id).update(
            collected_cents=F("collected_cents") + amount
        )
        if amount != pledge.amount_cents:
            staff_alert(
                subject=f"Pledge #{pledge.pk} charged a different amount",
                body=f"Pledged {money(pledge.amount_cents, pledge.currency)}, Stripe charged "
                f"{money(amount, pledge.currency)} "
                f"({result.payment_intent_id}).",
            )
        pledge_notify(pledge=pledge, template="settlement_charged")
        return
    if pledge.stripe_payment_intent_id == result.payment_intent_id:
        return  # the same success reported twice (task and webhook): nothing to do
    # A second succeeded intent for a pledge already paid: the one thing that must never happen.
    pledge_log(
        pledge=pledge,
        note=f"DOUBLE CHARGE: {result.payment_intent_id} succeeded while "
        f"{pledge.stripe_payment_intent_id} had already paid this pledge.",
        actor_label=source,
        code="double_charge",
        stripe_object_id=result.payment_intent_id,
        amount_cents=amount,
    )
    staff_alert(
        subject=f"Pledge #{pledge.pk} was charged twice",
        body=f"{result.payment_intent_id} and {pledge.stripe_payment_intent_id} both succeeded. "
        f"Refund the duplicate ({result.payment_intent_id}) with one click on the pledge's "
        "page under Settlements in the admin.",
    )


def _grace_updates(pledge: Pledge, now: dt.datetime) -> dict:
    grace = pledge.grace_ends_at or now + dt.timedelta(days=settings.PAYMENT_GRACE_DAYS)
    return {"grace_ends_at": grace, "last_reminder_at": now, "lease_expires_at": None}


def _record_requires_action(pledge, attempt, result: ChargeResult, *, source, now) -> None:
    if pledge.status != S.CHARGING:
        return
    pledge_transition(
        pledge=pledge,
        to=S.ACTION_REQUIRED,
        expected=S.CHARGING,
        updates={
            "stripe_payment_intent_id": result.payment_intent_id,
            **_grace_updates(pledge, now),
        },
        actor_label=source,
        note="The bank asks the supporter to confirm the payment.",
        stripe_object_id=result.payment_intent_id,
        code=result.code or "authentication_required",
    )
    # The supporter's own new-card page sends them straight to 3-D Secure; any other recorder
    # (a reconciler resuming the attempt after the page died, a webhook) must tell them.
    if not (attempt.on_session and source == "supporter"):
        pledge_notify(pledge=pledge, template="settlement_action_required")


def _record_declined(pledge, attempt, result: ChargeResult, outcome, *, source, now) -> None:
    code = result.decline_code or result.code
    if pledge.status == S.CHARGING and attempt.on_session:
        # The supporter is on the page: tell them there, no retry schedule, no email.
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_NEW_METHOD,
            expected=S.CHARGING,
            updates={"lease_expires_at": None},
            actor_label=source,
            note=f"The new card was declined ({code}).",
            code=code,
            stripe_object_id=result.payment_intent_id,
        )
    elif pledge.status == S.CHARGING:
        soft = outcome == Outcome.SOFT_DECLINE
        if soft and attempt.number < MAX_TRIES:
            retry_at = now + RETRY_DELAYS.get(attempt.number, RETRY_DELAYS[2])
            pledge_transition(
                pledge=pledge,
                to=S.RETRY_DUE,
                expected=S.CHARGING,
                updates={"next_attempt_at": retry_at, "lease_expires_at": None},
                actor_label=source,
                note=f"Declined ({code}); trying again {retry_at:%Y-%m-%d %H:%M} UTC.",
                code=code,
                stripe_object_id=result.payment_intent_id,
            )
            return
        why = "declined three times" if soft else f"declined ({code})"
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_NEW_METHOD,
            expected=S.CHARGING,
            updates=_grace_updates(pledge, now),
            actor_label=source,
            note=f"Card {why}; the supporter is asked for another card.",
            code=code,
            stripe_object_id=result.payment_intent_id,
        )
        pledge_notify(pledge=pledge, template="settlement_new_card")
    elif pledge.status == S.ACTION_REQUIRED and (
        not result.payment_intent_id or result.payment_intent_id == pledge.stripe_payment_intent_id
    ):
        # Authentication failed or the card was declined after it: only a new card helps now.
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_NEW_METHOD,
            expected=S.ACTION_REQUIRED,
            updates={"last_reminder_at": now},
            actor_label=source,
            note=f"Payment could not be completed ({code or 'authentication failed'}).",
            code=code,
            stripe_object_id=result.payment_intent_id,
        )
        pledge_notify(pledge=pledge, template="settlement_new_card")


# === closing a 3-D Secure request ===========================================================
class IntentStillOpen(SettlementError):
    """Stripe would not confirm that an earlier payment request is closed."""


def pledge_intent_close(*, pledge: Pledge, note: str) -> str:
    """Make sure the PaymentIntent a supporter was shown for 3-D Secure can no longer be paid
    before anything else is charged (a tab left open could still confirm it): cancel it at
    Stripe. Returns "closed", or "paid" if it had succeeded meanwhile (then recorded as the
    payment). Raises IntentStillOpen if Stripe does not say it is canceled, and GatewayError if
    Stripe cannot be reached: in both cases nothing new may be charged yet."""
    intent_id = pledge.stripe_payment_intent_id
    if not intent_id:
        return "closed"
    stripe_slot_acquire()
    try:
        result = gateway.payment_intent_cancel(intent_id)
    except GatewayError:  # already canceled or succeeded, or a hiccup: read what it is
        stripe_slot_acquire()
        result = gateway.payment_intent_retrieve(intent_id)
    owner = intent_attempt(pledge_id=pledge.pk, result=result)
    if result.outcome == ChargeOutcome.SUCCEEDED:
        if owner is not None:
            attempt_record(attempt_id=owner.pk, result=result, source="settlement")
        return "paid"
    if result.status != "canceled":
        raise IntentStillOpen(f"{intent_id} is still {result.status}")
    if owner is not None:
        PaymentAttempt.objects.filter(
            pk=owner.pk, outcome__in=[Outcome.PENDING, Outcome.REQUIRES_ACTION]
        ).update(outcome=Outcome.CANCELED, message=note, finished_at=timezone.now())
    return "closed"


# === staff review =============================================================================
def pledge_review_retry(*, pledge: Pledge, actor) -> ChargeReport:
    """Staff fixed what Stripe rejected (NEEDS_REVIEW): charge again now, as a new attempt with
    the next key — after asking Stripe that no earlier attempt of this pledge took the money."""
    platform_staff_required(actor=actor, doing="charge a pledge again")
    _outside_transactions()
    pledge.refresh_from_db()
    if pledge.status != S.NEEDS_REVIEW:
        raise SettlementError(
            f"Pledge R-{pledge.pk} is {pledge.get_status_display().lower()}, not awaiting review."
        )
    if settlement_is_halted():
        raise SettlementError("Charging is stopped: Stripe refused our credentials.")
    _review_check_stripe(pledge=pledge, actor=actor)
    now = timezone.now()
    attempt = _claim_new_attempt(
        pledge, now=now, actor=actor, actor_label="staff", note="Charge retried after review."
    )
    if attempt is None:
        raise SettlementError(f"Pledge R-{pledge.pk} was just changed by somebody else.")
    try:
        return charge_attempt_run(pledge=pledge, attempt=attempt, now=now)
    except SettlementHalted as exc:
        raise SettlementError(f"Stripe refused our credentials: {exc}") from exc


def _review_check_stripe(*, pledge: Pledge, actor) -> None:
    """Before a new key is used for a pledge in review, ask Stripe what it holds for it (by our
    metadata): an answer read as "rejected" may have hidden a charge that went through (a
    request still in flight under the same key, a lost response). A succeeded intent is
    recorded as the payment and the retry refused; one still processing refuses it too."""
    stripe_slot_acquire()
    try:
        found = gateway.payment_intents_for_pledge(pledge.pk, customer_id=pledge.stripe_customer_id)
    except GatewayError as exc:
        raise SettlementError(
            f"Could not check Stripe for earlier payments of pledge R-{pledge.pk} ({exc}). "
            "Nothing was charged; try again in a minute."
        ) from exc
    paid = next((r for r in found if r.outcome == ChargeOutcome.SUCCEEDED), None)
    if paid is not None:
        owner = intent_attempt(pledge_id=pledge.pk, result=paid)
        if owner is None:
            raise SettlementError(
                f"Not charged again: Stripe already holds a payment ({paid.payment_intent_id}) "
                f"for pledge R-{pledge.pk} that matches none of its attempts. Check it in the "
                "Stripe dashboard."
            )
        attempt_record(attempt_id=owner.pk, result=paid, source="staff", actor=actor)
        raise SettlementError(
            f"Not charged again: Stripe already took this payment ({paid.payment_intent_id}, "
            f"attempt {owner.number}); pledge R-{pledge.pk} is now recorded as paid."
        )
    if any(r.outcome == ChargeOutcome.PROCESSING for r in found):
        raise SettlementError(
            f"Not charged again: Stripe is still processing an earlier payment for pledge "
            f"R-{pledge.pk}. Try again later."
        )


def pledge_review_write_off(*, pledge: Pledge, actor, reason: str) -> None:
    """Staff decide a pledge in review will not be collected: NEEDS_REVIEW → UNPAID."""
    platform_staff_required(actor=actor, doing="write a pledge off")
    reason = (reason or "").strip()
    if not reason:
        raise SettlementError("Give a reason for the record.")
    with transaction.atomic():
        won = pledge_transition(
            pledge=pledge,
            to=S.UNPAID,
            expected=S.NEEDS_REVIEW,
            actor=actor,
            actor_label="staff",
            note=f"Not collected after review: {reason}",
        )
        if not won:
            raise SettlementError(f"Pledge R-{pledge.pk} is no longer awaiting review.")
        pledge_notify(pledge=pledge, template="settlement_unpaid")


# === foreground runs (management command) =====================================================
@dataclasses.dataclass
class RunSummary:
    campaigns: dict[str, int] = dataclasses.field(default_factory=dict)
    by_status: dict[str, int] = dataclasses.field(default_factory=dict)
    charged_cents: int = 0
    halted: str = ""
    no_slot: str = ""  # stopped: no Stripe rate-limit slot within STRIPE_SLOT_WAIT_SECONDS


def settle_run(  # noqa: C901 -- one loop over the run's phases (freeze, approve, charge), each a short branch
    *,
    campaign: Campaign | None = None,
    progress: Callable[[int, int, ChargeReport], None] | None = None,
) -> RunSummary:
    """Settle in the foreground: freeze what is due, finish bulk moves, then charge every due
    pledge (and resume expired leases) one by one in this process. Safe beside Celery workers:
    each pledge is claimed by the same conditional UPDATE."""
    now = timezone.now()
    summary = RunSummary()
    due = campaigns_due_for_freeze(now=now)
    if campaign is not None:
        due = due.filter(pk=campaign.pk)
    for campaign_id in due.values_list("pk", flat=True):
        outcome = campaign_freeze(campaign_id=campaign_id)  # each reads the clock itself
        if outcome:
            summary.campaigns[outcome] = summary.campaigns.get(outcome, 0) + 1
    for key, value in campaigns_sweep().items():
        summary.campaigns[key] = value
    todo = pledges_due_for_charge(
        now=now, campaign_id=campaign.pk if campaign else None, ignore_queue_marks=True
    )
    expired = Pledge.objects.filter(status=S.CHARGING, lease_expires_at__lte=now)
    if campaign is not None:
        expired = expired.filter(campaign=campaign)
    total = todo.count() + expired.count()
    done = 0
    try:
        for qs in (expired, todo):
            for ids in _iter_id_chunks(qs):
                for pledge_id in ids:
                    report = pledge_charge(pledge_id=pledge_id)
                    done += 1
                    summary.by_status[report.status] = summary.by_status.get(report.status, 0) + 1
                    summary.charged_cents += report.amount_cents
                    if progress:
                        progress(done, total, report)
    except SettlementHalted as exc:
        summary.halted = str(exc)
    except TimeoutError as exc:
        # The pledge it was on stays CHARGING for the reconciler (same key); the rest stay due.
        summary.no_slot = str(exc)
    # Staff get this run's one digest now (the beat would send it within a minute).
    if campaign is not None:
        settlement_digest_send(campaign_id=campaign.pk)
    else:
        settlement_digests_send()
    return summary


@dataclasses.dataclass
class Prediction:
    campaign: Campaign
    verdict: str
    pledges: list[tuple[int, str, int]]  # (pledge id, supporter email, cents) — capped
    pledge_count: int
    total_cents: int


def settle_predict(*, campaign: Campaign | None = None, limit: int = 50) -> list[Prediction]:
    """What a run would do now, writing nothing: which campaigns freeze and how they end, and
    who would be charged how much."""
    now = timezone.now()
    out: list[Prediction] = []
    candidates = Campaign.objects.filter(
        Q(status=C.LIVE, deadline__lte=now) | Q(status__in=[C.SETTLING, C.SUCCEEDED])
    ).order_by("deadline")
    if campaign is not None:
        candidates = candidates.filter(pk=campaign.pk)
    for c in candidates:
        if c.status == C.LIVE:
            totals = c.pledges.filter(status__in=COUNTED).aggregate(
                cents=Sum("amount_cents"), count=Count("id")
            )
            met = (totals["cents"] or 0) >= c.goal_cents
            verdict = (
                "freeze; goal met, would await staff approval"
                if met
                else "freeze; goal not met, would fail and release every pledge"
            )
            qs = c.pledges.filter(status=S.ACTIVE)
        elif c.status == C.SETTLING:
            verdict = "awaiting staff approval; nothing is charged until approved"
            qs = c.pledges.filter(status=S.ACTIVE)
        else:
            verdict = "charging"
            qs = pledges_due_for_charge(now=now, campaign_id=c.pk, ignore_queue_marks=True) | (
                c.pledges.filter(status=S.ACTIVE)
            )
            qs = qs | c.pledges.filter(status=S.CHARGING, lease_expires_at__lte=now)
        agg = qs.aggregate(cents=Sum("amount_cents"), count=Count("id"))
        if not agg["count"] and c.status == C.SUCCEEDED:
            continue
        rows = list(qs.order_by("pk").values_list("pk", "supporter__email", "amount_cents")[:limit])
        out.append(
            Prediction(
                campaign=c,
                verdict=verdict,
                pledges=rows,
                pledge_count=agg["count"] or 0,
                total_cents=agg["cents"] or 0,
            )
        )
    return out
