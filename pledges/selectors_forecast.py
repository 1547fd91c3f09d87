"""The organizer's forecast: what settlement would do if the deadline were now, what is at risk,
and where the current pace leads by the deadline. Reads only; a handful of aggregate queries
whatever the number of pledges."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from django.db.models import Count, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import AWAITING_SUPPORTER, Pledge
from pledges.services.transitions import COUNTED

S = Pledge.Status
PACE_DAYS = 14  # the pace is read over the last two weeks


@dataclasses.dataclass(frozen=True)
class Forecast:
    campaign: Campaign
    now: dt.datetime
    counted_cents: int  # what the freeze would snapshot as pledged
    counted_count: int
    goal_met: bool
    would_charge_cents: int  # cards saved and ready: what approval would charge
    would_charge_count: int
    expiring_cents: int  # cards that lapse before the deadline
    expiring_count: int
    awaiting_cents: int  # supporters asked to authenticate or give a new card
    awaiting_count: int
    pace_cents_per_day: int
    days_left: int
    projected_cents: int
    shortfall_cents: int

    @property
    def at_risk_count(self) -> int:
        return self.expiring_count + self.awaiting_count

    @property
    def at_risk_cents(self) -> int:
        return self.expiring_cents + self.awaiting_cents

    @property
    def percent_projected(self) -> int:
        goal = self.campaign.goal_cents or 1
        return min(999, math.floor(100 * self.projected_cents / goal))


def _expires_before(moment: dt.datetime) -> Q:
    """Cards whose last valid month ends before `moment` (a card is good through its month)."""
    return Q(card_exp_year__lt=moment.year) | Q(
        card_exp_year=moment.year, card_exp_month__lt=moment.month
    )


def pledges_with_card_expiring(*, campaign: Campaign):
    """Saved cards that will have expired by the campaign's deadline."""
    deadline = campaign.deadline.astimezone(campaign.tz)
    return campaign.pledges.filter(status=S.ACTIVE, card_exp_year__isnull=False).filter(
        _expires_before(deadline)
    )


def campaign_forecast(*, campaign: Campaign, now: dt.datetime | None = None) -> Forecast:
    """If the deadline were `now`: the same totals the freeze takes (pledges in counted states),
    the same set approval would charge (cards saved), and the risks and pace around them."""
    now = now or timezone.now()
    pledges = campaign.pledges
    totals = pledges.filter(status__in=COUNTED).aggregate(
        cents=Sum("amount_cents"),
        count=Count("id"),
        ready_cents=Sum("amount_cents", filter=Q(status=S.ACTIVE)),
        ready_count=Count("id", filter=Q(status=S.ACTIVE)),
        awaiting_cents=Sum("amount_cents", filter=Q(status__in=AWAITING_SUPPORTER)),
        awaiting_count=Count("id", filter=Q(status__in=AWAITING_SUPPORTER)),
        recent_cents=Sum("amount_cents", filter=Q(created_at__gte=now - dt.timedelta(PACE_DAYS))),
    )
    expiring = pledges_with_card_expiring(campaign=campaign).aggregate(
        cents=Sum("amount_cents"), count=Count("id")
    )
    counted = totals["cents"] or 0
    # Pace over the last two weeks, or over the campaign's life if it is younger than that.
    started = campaign.published_at or campaign.created_at
    window_days = max(1.0, min(PACE_DAYS, (now - started).total_seconds() / 86400))
    pace = int((totals["recent_cents"] or 0) / window_days)
    seconds_left = max(0.0, (campaign.deadline - now).total_seconds())
    days_left = int(seconds_left // 86400)  # whole days, as the countdown shows them
    projected = counted + int(pace * seconds_left / 86400)
    return Forecast(
        campaign=campaign,
        now=now,
        counted_cents=counted,
        counted_count=totals["count"] or 0,
        goal_met=counted >= campaign.goal_cents,
        would_charge_cents=totals["ready_cents"] or 0,
        would_charge_count=totals["ready_count"] or 0,
        expiring_cents=expiring["cents"] or 0,
        expiring_count=expiring["count"] or 0,
        awaiting_cents=totals["awaiting_cents"] or 0,
        awaiting_count=totals["awaiting_count"] or 0,
        pace_cents_per_day=pace,
        days_left=days_left,
        projected_cents=projected,
        shortfall_cents=max(0, campaign.goal_cents - projected),
    )
