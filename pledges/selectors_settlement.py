"""Reads for the settlement screens: the per-campaign report and its CSV."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import PaymentAttempt, Pledge

S = Pledge.Status

# How the report groups pledge states (every state after the deadline is in exactly one).
REPORT_GROUPS: dict[str, tuple[str, ...]] = {
    "collected": (S.PAID, S.DISPUTED),
    "refunded": (S.REFUNDED,),
    "pending": (S.ACTIVE, S.CHARGE_DUE, S.CHARGING, S.RETRY_DUE, S.ACTION_REQUIRED)
    + (S.NEEDS_NEW_METHOD,),
    "failed": (S.UNPAID, S.NEEDS_REVIEW),
    "released": (S.RELEASED,),
    "canceled": (S.CANCELED, S.PENDING_SETUP),
}


@dataclasses.dataclass(frozen=True)
class SettlementReport:
    campaign: Campaign
    pledged_cents: int
    backers: int
    collected_cents: int
    refunded_cents: int
    groups: dict[str, tuple[int, int]]  # group → (pledges, cents)
    by_status: list[tuple[str, str, int, int]]  # (status, label, pledges, cents)

    @property
    def net_collected_cents(self) -> int:
        return self.collected_cents


def settlement_report(*, campaign: Campaign) -> SettlementReport:
    """Pledged vs collected vs failed vs pending for one campaign, from one aggregate query."""
    rows = (
        Pledge.objects.filter(campaign=campaign)
        .values("status")
        .annotate(
            n=Count("id"),
            cents=Sum("amount_cents"),
            paid=Sum("paid_cents"),
            refunded=Sum("refunded_cents"),
        )
    )
    per_status = {
        r["status"]: (r["n"], r["cents"] or 0, r["refunded"] or 0, r["paid"] or 0) for r in rows
    }
    empty = (0, 0, 0, 0)

    def amount(name: str, status: str) -> int:
        n, cents, refunded, paid = per_status.get(status, empty)
        # Money, not pledged amounts, for the money rows: the "collected" row is the same
        # figure as "Collected (net of refunds)" above it; "refunded" is what went back.
        if name == "collected":
            return paid - refunded
        if name == "refunded":
            return refunded
        return cents

    groups = {
        name: (
            sum(per_status.get(s, empty)[0] for s in states),
            sum(amount(name, s) for s in states),
        )
        for name, states in REPORT_GROUPS.items()
    }
    labels = dict(S.choices)
    by_status = [
        (status, str(labels.get(status, status)), n, cents)
        for status, (n, cents, _, _) in sorted(per_status.items(), key=lambda kv: -kv[1][0])
    ]
    pledged = (
        campaign.frozen_pledged_cents
        if campaign.frozen_pledged_cents is not None
        else campaign.pledged_cents
    )
    backers = (
        campaign.frozen_backer_count
        if campaign.frozen_backer_count is not None
        else campaign.backer_count
    )
    return SettlementReport(
        campaign=campaign,
        pledged_cents=pledged,
        backers=backers,
        collected_cents=campaign.collected_cents,
        refunded_cents=sum(v[2] for v in per_status.values()),
        groups=groups,
        by_status=by_status,
    )


def settlement_pledges(*, campaign: Campaign, status: str = "") -> QuerySet[Pledge]:
    qs = (
        Pledge.objects.filter(campaign=campaign)
        .select_related("supporter")
        .annotate(attempts_made=Count("attempts"), last_attempt=Max("attempts__number"))
        .order_by("pk")
    )
    if status in REPORT_GROUPS:
        qs = qs.filter(status__in=REPORT_GROUPS[status])
    elif status:
        qs = qs.filter(status=status)
    return qs


CSV_HEADER = [
    "pledge_id",
    "supporter_name",
    "supporter_email",
    "tier",
    "amount_cents",
    "currency",
    "status",
    "attempts",
    "paid_cents",
    "refunded_cents",
    "paid_at",
    "stripe_payment_intent_id",
    "last_outcome",
    "last_code",
    "last_message",
]


CSV_CHUNK = 1000


def settlement_csv_rows(*, campaign: Campaign, chunk: int | None = None) -> Iterator[list[str]]:
    """Every pledge of the campaign as a CSV row, streamed in keyset chunks: two queries per
    chunk (the pledges with their supporters, then the attempts of those pledges), whatever
    the campaign's size; memory holds one chunk."""
    yield CSV_HEADER
    size = chunk or CSV_CHUNK
    after = 0
    while True:
        pledges = list(
            Pledge.objects.filter(campaign=campaign, pk__gt=after)
            .select_related("supporter")
            .order_by("pk")[:size]
        )
        if not pledges:
            return
        after = pledges[-1].pk
        latest: dict[int, PaymentAttempt] = {}
        with_attempts = [p.pk for p in pledges if p.attempt_count]
        for attempt in PaymentAttempt.objects.filter(pledge_id__in=with_attempts).order_by(
            "pledge_id", "number"
        ):
            latest[attempt.pledge_id] = attempt  # ordered by number: the last one wins
        for pledge in pledges:
            yield _csv_row(pledge, latest.get(pledge.pk))


def _csv_row(pledge: Pledge, last: PaymentAttempt | None) -> list[str]:
    return [
        str(pledge.pk),
        _csv_safe(pledge.supporter.name),
        _csv_safe(pledge.supporter.email),
        pledge.tier,
        str(pledge.amount_cents),
        pledge.currency,
        pledge.status,
        str(pledge.attempt_count),
        str(pledge.paid_cents),
        str(pledge.refunded_cents),
        pledge.paid_at.isoformat() if pledge.paid_at else "",
        pledge.stripe_payment_intent_id,
        last.outcome if last else "",
        (last.decline_code or last.error_code) if last else "",
        _csv_safe(last.message) if last else "",
    ]


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: defuse them."""
    value = value or ""
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


# States a charge of an approved campaign passes through before it has an answer.
CHARGING_STATES = (S.ACTIVE, S.CHARGE_DUE, S.CHARGING)
PROGRESS_WINDOW = dt.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class SettlementProgress:
    total: int  # pledges to charge (frozen at the deadline)
    remaining: int  # not charged yet (ACTIVE, CHARGE_DUE, CHARGING)
    per_minute: float  # answers recorded per minute over the last PROGRESS_WINDOW
    expected_finish: dt.datetime | None  # None while nothing has been charged recently
    expected_finish_display: str  # in the campaign's time zone, like its deadline

    @property
    def done(self) -> int:
        return max(0, self.total - self.remaining)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


def settlement_progress(
    *, campaign: Campaign, report: SettlementReport, now: dt.datetime | None = None
) -> SettlementProgress | None:
    """How far charging an approved campaign has come and, at the rate of the last few minutes,
    when it should finish. None unless the campaign is collecting. One indexed count on top of
    the report's aggregate."""
    if campaign.status != Campaign.Status.SUCCEEDED:
        return None
    counts = {status: n for status, _, n, _ in report.by_status}
    remaining = sum(counts.get(s, 0) for s in CHARGING_STATES)
    if not remaining:
        return None
    now = now or timezone.now()
    answered = PaymentAttempt.objects.filter(
        pledge__campaign=campaign, finished_at__gte=now - PROGRESS_WINDOW
    ).count()
    per_minute = answered / (PROGRESS_WINDOW.total_seconds() / 60)
    finish = now + dt.timedelta(minutes=remaining / per_minute) if per_minute else None
    return SettlementProgress(
        total=max(report.backers, remaining),
        remaining=remaining,
        per_minute=per_minute,
        expected_finish=finish,
        expected_finish_display=campaign.local_display(finish) if finish else "",
    )
