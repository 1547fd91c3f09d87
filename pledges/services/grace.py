"""The grace period: reminders every 48 hours, then UNPAID when the window closes.

A supporter asked to confirm a payment (ACTION_REQUIRED) or to give another card
(NEEDS_NEW_METHOD) has PAYMENT_GRACE_DAYS from the first request. Reminders and the final
notice are each sent once, whoever runs the task: the conditional UPDATE that records the
reminder (or the transition to UNPAID) is what decides who sends the email.

The hourly beat run only finds who is due and fans them out (`pledges/services/sweeps.py`):
reminders in chunks on the `emails` queue, the end of grace (which closes the payment request at
Stripe first) in chunks on the `payments` queue, so a slow Stripe holds up one chunk, never the
run. The foreground run (tests, commands) works the same chunks in the calling process.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.db.models import QuerySet

from pledges.gateway import GatewayError
from pledges.models import AWAITING_SUPPORTER, Pledge, PledgeEvent
from pledges.selectors import ids_in_chunks
from pledges.services.attempts import IntentStillOpen, pledge_intent_close
from pledges.services.charging import decision_time
from pledges.services.notify import pledge_notify
from pledges.services.sweeps import (
    SWEEP_CHUNK,
    SWEEP_SECONDS,
    QueueMarks,
    payments_queue_wait,
    sweep_chunk_run,
    sweep_fan_out,
)
from pledges.services.transitions import pledge_log, pledge_transition
from pledges.tasks import pledges_expire as pledges_expire_task
from pledges.tasks import pledges_remind as pledges_remind_task

log = logging.getLogger(__name__)
S = Pledge.Status
REMINDER_EVERY = dt.timedelta(hours=48)

# Queue marks (sweeps.QueueMarks): a reminder chunk may wait behind a campaign's receipts on the
# `emails` queue; an expiry chunk behind the charges on `payments` (sweeps.payments_queue_wait).
REMIND_MARKS = QueueMarks("grace-remind", seconds=2 * 60 * 60)
EXPIRE_MARKS = QueueMarks("grace-expire", seconds=2 * 60 * 60)


def payments_remind_and_expire(
    *, now: dt.datetime | None = None, fan_out: bool = False
) -> dict[str, int]:
    """Remind the supporters whose reminder is due and mark UNPAID those whose grace is over.

    `fan_out` (the hourly beat): queue them in chunks and return how many were queued.
    Otherwise work the chunks here and return {"reminded": n, "unpaid": m} (plus "not_closed"
    and "errors" when there were any); `now` is then a time the caller has moved to.
    """
    from pledges.services.account_deletion import deleted_supporters_erase_settled

    if fan_out:
        deadline = time.monotonic() + SWEEP_SECONDS
        reminders, remind_chunks = sweep_fan_out(
            qs=pledges_reminder_due(now=now),
            marks=REMIND_MARKS,
            task=pledges_remind_task,
            arg="pledge_ids",
            deadline=deadline,
        )
        expiries, expire_chunks = sweep_fan_out(
            qs=pledges_grace_over(now=now),
            marks=EXPIRE_MARKS,
            task=pledges_expire_task,
            arg="pledge_ids",
            deadline=deadline,
            mark_seconds=max(EXPIRE_MARKS.seconds, payments_queue_wait()),
        )
        summary = {
            "reminders_queued": reminders,
            "expiries_queued": expiries,
            "chunks": remind_chunks + expire_chunks,
        }
    else:
        summary = {"reminded": 0, "unpaid": 0}
        for ids in ids_in_chunks(pledges_reminder_due(now=now), size=SWEEP_CHUNK):
            _add(summary, pledges_remind(pledge_ids=ids, now=now))
        for ids in ids_in_chunks(pledges_grace_over(now=now), size=SWEEP_CHUNK):
            _add(summary, pledges_expire(pledge_ids=ids, now=now, stop_at_no_slot=False))
    erased = deleted_supporters_erase_settled()
    if erased:  # reported only when it happens (kept addresses are rare)
        summary["addresses_erased"] = erased
    return summary


def _add(summary: dict[str, int], counts: dict[str, int]) -> None:
    for key in ("reminded", "unpaid", "not_closed", "errors"):
        if counts.get(key):
            summary[key] = summary.get(key, 0) + counts[key]


def pledges_reminder_due(*, now: dt.datetime | None = None) -> QuerySet[Pledge]:
    at = decision_time(now)
    return Pledge.objects.filter(
        status__in=AWAITING_SUPPORTER,
        grace_ends_at__gt=at,
        last_reminder_at__lte=at - REMINDER_EVERY,
    )


def pledges_grace_over(*, now: dt.datetime | None = None) -> QuerySet[Pledge]:
    return Pledge.objects.filter(
        status__in=AWAITING_SUPPORTER, grace_ends_at__lte=decision_time(now)
    )


def _awaiting_by_id(pledge_ids: list[int]) -> dict[int, Pledge]:
    """A chunk's pledges still waiting for their supporter, in one query (each one's decision
    is made again, at its own moment, by a conditional UPDATE)."""
    qs = Pledge.objects.filter(pk__in=pledge_ids, status__in=AWAITING_SUPPORTER)
    return {p.pk: p for p in qs.select_related("campaign", "supporter")}


def pledges_remind(*, pledge_ids: list[int], now: dt.datetime | None = None) -> dict[str, int]:
    """Send one chunk's reminders ("reminded"). Each is recorded by a conditional UPDATE that
    re-checks, at the moment it is made, that the reminder is due and nobody sent it since it
    was read: only the winner logs it and queues the email (after commit)."""
    loaded = _awaiting_by_id(pledge_ids)

    def remind(pledge_id: int) -> str:
        pledge = loaded.get(pledge_id)
        if pledge is None:
            return ""
        at = decision_time(now)
        with transaction.atomic():
            won = Pledge.objects.filter(
                pk=pledge.pk,
                status=pledge.status,
                last_reminder_at=pledge.last_reminder_at,
                last_reminder_at__lte=at - REMINDER_EVERY,
                grace_ends_at__gt=at,
            ).update(last_reminder_at=at)
            if not won:
                return ""
            pledge_log(
                pledge=pledge,
                note="Payment reminder sent.",
                actor_label="grace",
                kind=PledgeEvent.Kind.REMINDER,
            )
            action = "confirm" if pledge.status == S.ACTION_REQUIRED else "new_card"
            pledge_notify(pledge=pledge, template="settlement_reminder", extra={"action": action})
        return "reminded"

    return sweep_chunk_run(
        ids=pledge_ids, handle=remind, marks=REMIND_MARKS, failed="grace: pledge %s not reminded"
    )


def pledges_expire(
    *, pledge_ids: list[int], now: dt.datetime | None = None, stop_at_no_slot: bool = True
) -> dict[str, int]:
    """Mark UNPAID one chunk of pledges whose grace is over ("unpaid"), each only once its
    payment request is closed at Stripe; one that Stripe cannot close now ("not_closed") stays
    as it is and its mark is lifted, so the next hourly run tries again. Stops when no
    rate-limit slot comes (the rest are queued again by the next run)."""
    loaded = _awaiting_by_id(pledge_ids)

    def expire(pledge_id: int) -> str:
        pledge = loaded.get(pledge_id)
        if pledge is None or pledge.grace_ends_at is None:
            return ""
        if pledge.grace_ends_at > decision_time(now):
            return ""  # extended since it was queued
        # The supporter may have confirmed at the last minute without us hearing, or could
        # still confirm from a tab left open: close the request at Stripe first (which also
        # tells us if it was paid). If Stripe cannot say, try again next hour.
        try:
            if pledge_intent_close(pledge=pledge, note="Closed: the grace period ended.") == "paid":
                return "paid"
        except TimeoutError:
            raise  # no rate-limit slot: the chunk stops (Stripe was not asked)
        except (IntentStillOpen, GatewayError) as exc:
            log.warning("pledge %s: payment request not closed yet (%s)", pledge.pk, exc)
            return "not_closed"
        pledge.refresh_from_db()
        if pledge.status not in AWAITING_SUPPORTER:
            return ""
        with transaction.atomic():
            won = pledge_transition(
                pledge=pledge,
                to=S.UNPAID,
                expected=pledge.status,
                where={"grace_ends_at__lte": decision_time(now)},
                actor_label="grace",
                note="Grace period over without payment.",
            )
            if won:
                pledge_notify(pledge=pledge, template="settlement_unpaid")
        return "unpaid" if won else ""

    return sweep_chunk_run(
        ids=pledge_ids,
        handle=expire,
        marks=EXPIRE_MARKS,
        failed="grace: pledge %s not marked unpaid",
        stop_at_no_slot=stop_at_no_slot,
    )
