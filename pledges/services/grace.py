"""The grace period: reminders every 48 hours, then UNPAID when the window closes.

A supporter asked to confirm a payment (ACTION_REQUIRED) or to give another card
(NEEDS_NEW_METHOD) has PAYMENT_GRACE_DAYS from the first request. Reminders and the final
notice are each sent once, whoever runs the task: the conditional UPDATE that records the
reminder (or the transition to UNPAID) is what decides who sends the email.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from pledges.gateway import GatewayError
from pledges.models import AWAITING_SUPPORTER, Pledge, PledgeEvent
from pledges.services.attempts import IntentStillOpen, pledge_intent_close
from pledges.services.notify import pledge_notify
from pledges.services.transitions import pledge_log, pledge_transition

log = logging.getLogger(__name__)
S = Pledge.Status
REMINDER_EVERY = dt.timedelta(hours=48)


def payments_remind_and_expire(*, now: dt.datetime | None = None) -> dict[str, int]:
    from pledges.services.account_deletion import deleted_supporters_erase_settled

    now = now or timezone.now()
    summary = {"reminded": _remind(now=now), "unpaid": _expire(now=now)}
    erased = deleted_supporters_erase_settled()
    if erased:  # reported only when it happens (kept addresses are rare)
        summary["addresses_erased"] = erased
    return summary


def _remind(*, now: dt.datetime) -> int:
    due = (
        Pledge.objects.filter(
            status__in=AWAITING_SUPPORTER,
            grace_ends_at__gt=now,
            last_reminder_at__lte=now - REMINDER_EVERY,
        )
        .select_related("campaign", "supporter")
        .order_by("pk")
    )
    sent = 0
    for pledge in due.iterator(chunk_size=200):
        with transaction.atomic():
            won = Pledge.objects.filter(
                pk=pledge.pk, status=pledge.status, last_reminder_at=pledge.last_reminder_at
            ).update(last_reminder_at=now)
            if not won:
                continue
            pledge_log(
                pledge=pledge,
                note="Payment reminder sent.",
                actor_label="grace",
                kind=PledgeEvent.Kind.REMINDER,
            )
            pledge_notify(
                pledge=pledge,
                template="settlement_reminder",
                extra={"action": "confirm" if pledge.status == S.ACTION_REQUIRED else "new_card"},
            )
        sent += 1
    return sent


def _expire(*, now: dt.datetime) -> int:
    over = (
        Pledge.objects.filter(status__in=AWAITING_SUPPORTER, grace_ends_at__lte=now)
        .select_related("campaign", "supporter")
        .order_by("pk")
    )
    unpaid = 0
    for pledge in over.iterator(chunk_size=200):
        # The supporter may have confirmed at the last minute without us hearing, or could
        # still confirm from a tab left open: close the request at Stripe first (which also
        # tells us if it was paid). If Stripe cannot say, try again next hour.
        try:
            if pledge_intent_close(pledge=pledge, note="Closed: the grace period ended.") == "paid":
                continue
        except (IntentStillOpen, GatewayError) as exc:
            log.warning("pledge %s: payment request not closed yet (%s)", pledge.pk, exc)
            continue
        pledge.refresh_from_db()
        if pledge.status not in AWAITING_SUPPORTER:
            continue
        with transaction.atomic():
            won = pledge_transition(
                pledge=pledge,
                to=S.UNPAID,
                expected=pledge.status,
                where={"grace_ends_at__lte": now},
                actor_label="grace",
                note="Grace period over without payment.",
            )
            if won:
                pledge_notify(pledge=pledge, template="settlement_unpaid")
                unpaid += 1
    return unpaid
