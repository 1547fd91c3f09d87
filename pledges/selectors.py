"""Pledge queries with no side effects: what is due for freezing or charging."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import PaymentAttempt, Pledge

log = logging.getLogger(__name__)

S = Pledge.Status
C = Campaign.Status
Outcome = PaymentAttempt.Outcome


def campaigns_due_for_freeze(*, now: dt.datetime | None = None) -> QuerySet[Campaign]:
    """LIVE campaigns whose deadline has passed (the deadline lives in the database)."""
    return Campaign.objects.filter(status=C.LIVE, deadline__lte=now or timezone.now())


def ids_in_chunks(qs: QuerySet, size: int = 200) -> Iterator[list[int]]:
    """Ids of `qs` in ascending chunks, re-querying each time (rows may leave the set as we
    go), so memory holds one chunk however many rows there are."""
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


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


def pledges_paid_among(pledge_ids: list[int]) -> list[int]:
    """Which of these pledges have been paid (at any time; refunded or disputed since
    included). No query for no ids."""
    if not pledge_ids:
        return []
    return list(
        Pledge.objects.filter(pk__in=pledge_ids, paid_at__isnull=False).values_list("pk", flat=True)
    )
