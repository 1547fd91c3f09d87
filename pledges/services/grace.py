"""The grace period: reminders every 48 hours, then UNPAID when the window closes.

A supporter asked to confirm a payment (ACTION_REQUIRED) or to give another card
(NEEDS_NEW_METHOD) has PAYMENT_GRACE_DAYS from the first request. Reminders and the final
notice are each sent once, whoever runs the task: the conditional UPDATE that records the
reminder (or the transition to UNPAID) is what decides who sends the email.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from pledges.models import Pledge
from pledges.services.notify import pledge_notify
from pledges.services.reconcile import action_required_refresh
from pledges.services.settlement import AWAITING_SUPPORTER
from pledges.services.transitions import pledge_log, pledge_transition

S = Pledge.Status
REMINDER_EVERY = dt.timedelta(hours=48)


def payments_remind_and_expire(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {"reminded": _remind(now=now), "unpaid": _expire(now=now)}


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
            pledge_log(pledge=pledge, note="Payment reminder sent.", actor_label="grace")
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
        # The supporter may have confirmed at the last minute without us hearing: ask first.
        if pledge.status == S.ACTION_REQUIRED and pledge.stripe_payment_intent_id:
            if action_required_refresh(pledge=pledge) == S.PAID:
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
