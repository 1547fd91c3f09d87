"""Settlement at campaign level: at the deadline, charge every pledge exactly once — or nobody.

A LIVE campaign past its deadline is frozen (LIVE → SETTLING with its totals snapshotted in the
same transaction); if the snapshot is below the goal it FAILS and every ACTIVE pledge is
RELEASED; otherwise it waits in SETTLING for staff to approve collection (→ SUCCEEDED, pledges
ACTIVE → CHARGE_DUE) or reject it (→ FAILED). The beat's `settle_due` and the foreground
`settle_run` tie it together with the charging of each pledge (`pledges.services.charging`).

Every step is safe to run twice or concurrently: state moves only by conditional UPDATE
(`pledge_transition`, `campaign_transition`), and Stripe sees the same idempotency key for the
same attempt however often it is repeated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_transition, platform_staff_required
from campaigns.templatetags.rallyround import money
from pledges.models import PaymentAttempt, Pledge, PledgeEvent
from pledges.selectors import campaigns_due_for_freeze, ids_in_chunks, pledges_due_for_charge
from pledges.services.attempts import SettlementError
from pledges.services.charging import (
    STEP_SECONDS,
    ChargeReport,
    SettlementHalted,
    charges_enqueue,
    charges_hand_over,
    charges_queue_mark,
    decision_time,
    pledge_charge,
)
from pledges.services.digest import settlement_digest_send, settlement_digests_send
from pledges.services.notify import (
    organizers_notify,
    pledges_notify_batches,
    staff_alert,
)
from pledges.services.transitions import (
    COUNTED,
    pledges_transition_bulk,
)
from pledges.tasks import campaign_collect_step as campaign_collect_step_task

log = logging.getLogger(__name__)

S = Pledge.Status
C = Campaign.Status
Outcome = PaymentAttempt.Outcome


# Pledges marked due (or released) per transaction: one keyset step on the
# (campaign, status, id) index, one UPDATE, one batch of events, one email batch per 200.
MARK_CHUNK = 1000

# An approval splits the campaign's ACTIVE pledges into this many id ranges, each collected by
# its own chain of steps, so several `default` worker processes (the Procfile runs 2 per
# machine) mark and queue a large campaign side by side. A campaign smaller than a few chunks
# per chain is collected by one chain.
COLLECT_CHAINS = 4

# How long a staff request may spend moving pledges before leaving the rest to the workers.
REQUEST_SECONDS = 5

# A whole beat run (freezes, sweep, fan-out) stays within this, well inside its lock's lease.
RUN_SECONDS = 4 * 60


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
                "frozen_at": decision_time(now),
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


def campaign_release_pledges(
    *, campaign_id: int, note: str, actor=None, seconds: float | None = None
) -> int:
    """ACTIVE → RELEASED for every pledge of a failed campaign (for at most `seconds` when
    given: the beat's sweep finishes the rest); tell each supporter kindly (emails go out in
    batches on the `emails` queue)."""
    released = 0
    end = None if seconds is None else time.monotonic() + seconds
    active = Pledge.objects.filter(campaign_id=campaign_id, status=S.ACTIVE)
    for ids in ids_in_chunks(active, size=MARK_CHUNK):
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
    transaction.on_commit(
        lambda: campaign_collect_step_task.delay(campaign_id=campaign.pk), robust=True
    )
    return campaign.frozen_backer_count or 0


def campaign_collect(*, campaign_id: int) -> int:
    """After approval, in the foreground: mark every ACTIVE pledge due and queue the charges."""
    due = campaign_mark_pledges_due(campaign_id=campaign_id, queue=True)
    charges_enqueue(campaign_id=campaign_id)  # anything due that was not queued with its chunk
    return due


def campaign_collect_ranges(
    *, campaign_id: int, chains: int | None = None
) -> list[tuple[int, int | None]]:
    """The id ranges (after_id, up_to_id) an approval's collection is split into: `chains`
    (COLLECT_CHAINS) contiguous ranges of the ACTIVE pledges' ids, the last one open-ended so a
    pledge that turns ACTIVE later is still met. Two indexed reads (min and max on the
    (campaign, status, id) index), whatever the campaign's size. One range for a small one."""
    chains = chains or COLLECT_CHAINS
    active = Pledge.objects.filter(campaign_id=campaign_id, status=S.ACTIVE).order_by("pk")
    low = active.values_list("pk", flat=True).first()
    high = active.reverse().values_list("pk", flat=True).first()
    if low is None or high is None or high - low < 2 * chains * MARK_CHUNK:
        return [(0, None)]
    width = (high - low + chains) // chains
    bounds = [low - 1 + width * n for n in range(chains)]
    return [(start, bounds[n + 1] if n + 1 < chains else None) for n, start in enumerate(bounds)]


def campaign_collect_step(
    *,
    campaign_id: int,
    after_id: int = 0,
    up_to_id: int | None = None,
    seconds: float = STEP_SECONDS,
) -> tuple[int, int | None]:
    """One bounded step of collecting after approval: mark ACTIVE pledges due and queue their
    charges chunk by chunk (ids above `after_id`, up to `up_to_id` when given: one range of
    `campaign_collect_ranges`) for at most `seconds`.

    Returns (pledges marked due, the id to resume after — None when the range is done).
    The task calling it queues itself again with that id, so no task runs long, a redelivered
    one repeats at most one step, and a lost one is finished by the beat's sweep."""
    end = time.monotonic() + seconds
    marked, last = 0, after_id
    while True:
        # Each chunk is queued as it is marked (one UPDATE sets both): charges start while the
        # rest is still being marked, and a million pledges are queued when the last is due.
        moved, last_seen = campaign_mark_due_chunk(
            campaign_id=campaign_id, after_id=last, up_to_id=up_to_id, queue=True
        )
        marked += moved
        if last_seen is None:
            resume = None
            break
        last = last_seen
        if time.monotonic() >= end:
            resume = last
            break
    if resume is None:
        # Anything due this step's chunks did not queue (a broker error, a step redelivered), in
        # its own id range only: other chains are still at work on theirs, and a sweep of the
        # whole campaign at the end of each chain walked every due row (the beat's minute sweep
        # covers the rest).
        charges_enqueue(
            campaign_id=campaign_id,
            after_id=after_id,
            up_to_id=up_to_id,
            seconds=max(1.0, end - time.monotonic()),
        )
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


def campaign_mark_pledges_due(
    *, campaign_id: int, seconds: float | None = None, queue: bool = False
) -> int:
    """ACTIVE → CHARGE_DUE for a SUCCEEDED campaign, chunk by chunk (for at most `seconds`
    when given; the next call goes on where this one stopped); with `queue`, each chunk is
    also handed to the payments queue (see `campaign_mark_due_chunk`)."""
    end = None if seconds is None else time.monotonic() + seconds
    due, last = 0, 0
    while end is None or time.monotonic() < end:
        moved, last_seen = campaign_mark_due_chunk(
            campaign_id=campaign_id, after_id=last, queue=queue
        )
        due += moved
        if last_seen is None:
            break
        last = last_seen
    return due


def campaign_mark_due_chunk(
    *,
    campaign_id: int,
    after_id: int = 0,
    up_to_id: int | None = None,
    size: int | None = None,
    queue: bool = False,
) -> tuple[int, int | None]:
    """Mark the next `size` ACTIVE pledges of a SUCCEEDED campaign (ids above `after_id`) due,
    in one transaction and a fixed number of statements whatever the campaign's size: a
    keyset step on the (campaign, status, id) index, the bulk transition, one email batch task
    per 200 supporters on the `emails` queue. Returns (pledges marked due, the last id looked
    at — None when no ACTIVE pledge is left past `after_id` (up to `up_to_id` when given)).

    With `queue`, the same UPDATE that marks them due sets the fan-out's queue mark (one write
    of each row and its index entries instead of two) and their charge tasks go to the
    `payments` queue after commit, exactly as `charges_enqueue` would hand them over.

    A pledge whose card was saved after the freeze (a late SetupIntent webhook) was not in the
    totals the campaign was judged on: it is released instead of charged.
    """
    active = Pledge.objects.filter(campaign_id=campaign_id, status=S.ACTIVE, pk__gt=after_id)
    if up_to_id is not None:
        active = active.filter(pk__lte=up_to_id)
    ids = list(active.order_by("pk").values_list("pk", flat=True)[: size or MARK_CHUNK])
    if not ids:
        return 0, None
    frozen_at, backlog = Campaign.objects.filter(pk=campaign_id).values_list(
        "frozen_at", "frozen_backer_count"
    )[0]
    # How far ahead the queue mark lies is set by all the campaign has to charge.
    updates = {"next_attempt_at": charges_queue_mark(backlog=backlog or 0)} if queue else {}
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
            updates=updates,
        )
        if queue:
            charges_hand_over(pledge_ids=moved)
        pledges_notify_batches(pledge_ids=moved, template="settlement_campaign_succeeded")
    return len(moved), ids[-1]


def campaigns_sweep(*, seconds: float = RUN_SECONDS, queue: bool = False) -> dict[str, int]:
    """Finish bulk moves a crash (or a step's time limit) left: ACTIVE pledges of FAILED
    campaigns are released, of SUCCEEDED campaigns marked due (and with `queue`, as the beat
    asks, handed to the payments queue with each chunk, as a collect step does), for at most
    about `seconds`. Cheap when there is nothing to do (an indexed EXISTS)."""
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
            done["marked_due"] += campaign_mark_pledges_due(
                campaign_id=campaign.pk, seconds=left, queue=queue
            )
    return done


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
    left = max(1.0, end - time.monotonic() - STEP_SECONDS)
    summary.update(campaigns_sweep(seconds=left, queue=True))
    summary["queued"] = charges_enqueue(now=now)
    summary["digests"] = settlement_digests_send()
    return summary


@dataclasses.dataclass
class RunSummary:
    campaigns: dict[str, int] = dataclasses.field(default_factory=dict)
    by_status: dict[str, int] = dataclasses.field(default_factory=dict)
    charged_cents: int = 0
    halted: str = ""
    no_slot: str = ""  # stopped: no Stripe rate-limit slot within STRIPE_SLOT_WAIT_SECONDS


def settle_run(
    *,
    campaign: Campaign | None = None,
    progress: Callable[[int, int, ChargeReport], None] | None = None,
) -> RunSummary:
    """Settle in the foreground: freeze what is due, finish bulk moves, then charge every due
    pledge (and resume expired leases) one by one in this process. Safe beside Celery workers:
    each pledge is claimed by the same conditional UPDATE."""
    now = timezone.now()
    summary = RunSummary()
    _run_freeze_and_sweep(summary, campaign=campaign, now=now)
    todo = pledges_due_for_charge(
        now=now, campaign_id=campaign.pk if campaign else None, ignore_queue_marks=True
    )
    expired = Pledge.objects.filter(status=S.CHARGING, lease_expires_at__lte=now)
    if campaign is not None:
        expired = expired.filter(campaign=campaign)
    try:
        _run_charges(summary, [expired, todo], progress=progress)
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


def _run_freeze_and_sweep(
    summary: RunSummary, *, campaign: Campaign | None, now: dt.datetime
) -> None:
    """A foreground run's first phase: freeze the due campaigns, finish bulk moves."""
    due = campaigns_due_for_freeze(now=now)
    if campaign is not None:
        due = due.filter(pk=campaign.pk)
    for campaign_id in due.values_list("pk", flat=True):
        outcome = campaign_freeze(campaign_id=campaign_id)  # each reads the clock itself
        if outcome:
            summary.campaigns[outcome] = summary.campaigns.get(outcome, 0) + 1
    for key, value in campaigns_sweep().items():
        summary.campaigns[key] = value


def _run_charges(
    summary: RunSummary,
    querysets: list[QuerySet[Pledge]],
    *,
    progress: Callable[[int, int, ChargeReport], None] | None,
) -> None:
    """Charge every pledge of `querysets`, in order, one by one; SettlementHalted and
    TimeoutError (no rate-limit slot) stop it and are the caller's to report."""
    total = sum(qs.count() for qs in querysets)
    done = 0
    for qs in querysets:
        for ids in ids_in_chunks(qs):
            for pledge_id in ids:
                report = pledge_charge(pledge_id=pledge_id)
                done += 1
                summary.by_status[report.status] = summary.by_status.get(report.status, 0) + 1
                summary.charged_cents += report.amount_cents
                if progress:
                    progress(done, total, report)


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
