"""Reads for outreach: which updates a visitor may read, campaign figures for the embed and the
share image, share links, and the organizer's dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_countdown, campaigns_public, user_can_edit_campaign
from outreach.models import CampaignUpdate
from supporters.models import Milestone, Supporter

ORGANIZER_RANK = max(Tier.RANK.values())


# --- who may read what ------------------------------------------------------------------------
def campaign_public_by_slug(*, slug: str) -> Campaign | None:
    """A campaign the public may see (never a draft or one in review)."""
    return campaigns_public().select_related("organization").filter(slug=slug).first()


def viewer_supporter(*, user, campaign: Campaign) -> Supporter | None:
    """This signed-in person's confirmed, current Supporter row on `campaign`, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    from supporters.selectors import supporters_for_user

    return (
        supporters_for_user(user=user)
        .filter(campaign=campaign, confirmed_at__isnull=False, left_at__isnull=True)
        .order_by("-pk")
        .first()
    )


def viewer_rank(*, user, campaign: Campaign, supporter: Supporter | None = None) -> int:
    """What this visitor may read: 0 public (anyone, Allies), 1 Advocates, 2 Champions. The
    campaign's organizers and platform staff read everything they write."""
    if getattr(user, "is_authenticated", False) and user_can_edit_campaign(user, campaign):
        return ORGANIZER_RANK
    supporter = supporter or viewer_supporter(user=user, campaign=campaign)
    if supporter is None:
        return 0
    return Tier.RANK.get(supporter.tier, 0)


def updates_published(*, campaign: Campaign) -> QuerySet[CampaignUpdate]:
    return CampaignUpdate.objects.filter(campaign=campaign, published_at__isnull=False).order_by(
        "-published_at", "-id"
    )


def update_recipients(*, update: CampaignUpdate) -> QuerySet[Supporter]:
    """Who gets this update by email: confirmed supporters still in, who asked for updates, at
    the update's tier or above, narrowed to the update's segment."""
    recipients = Supporter.objects.filter(
        campaign_id=update.campaign_id,
        confirmed_at__isnull=False,
        left_at__isnull=True,
        consent_updates=True,
        tier__in=update.tier_kinds,
    )
    return segment_filter(recipients, campaign=update.campaign, segment=update.segment)


def segment_filter(
    supporters: QuerySet[Supporter], *, campaign: Campaign, segment: str
) -> QuerySet[Supporter]:
    """Supporters of `campaign` in a final-push segment (all of them for the empty segment)."""
    from pledges.models import Pledge
    from pledges.selectors_forecast import pledges_with_card_expiring
    from pledges.services.transitions import COUNTED

    Segment = CampaignUpdate.Segment  # noqa: N806
    if segment == Segment.ALLIES_NOT_PLEDGED:
        pledged = Pledge.objects.filter(
            campaign=campaign, supporter=OuterRef("pk"), status__in=COUNTED
        )
        return supporters.filter(tier=Tier.Kind.ALLY).exclude(Exists(pledged))
    if segment == Segment.CARD_EXPIRING:
        expiring = pledges_with_card_expiring(campaign=campaign).values("supporter_id")
        return supporters.filter(pk__in=expiring)
    return supporters


def final_push_segments(*, campaign: Campaign) -> list[dict[str, Any]]:
    """The dashboard's "final push": how many consenting supporters each segment would email,
    with the audience an update to them would use."""
    reachable = Supporter.objects.filter(
        campaign=campaign, confirmed_at__isnull=False, left_at__isnull=True, consent_updates=True
    )
    Segment = CampaignUpdate.Segment  # noqa: N806
    audiences = {
        Segment.ALLIES_NOT_PLEDGED: CampaignUpdate.Audience.EVERYONE,
        Segment.CARD_EXPIRING: CampaignUpdate.Audience.ADVOCATES,
    }
    return [
        {
            "segment": segment,
            "label": segment.label,
            "audience": audience,
            "count": segment_filter(reachable, campaign=campaign, segment=segment).count(),
        }
        for segment, audience in audiences.items()
    ]


# --- figures ----------------------------------------------------------------------------------
def campaign_stats(*, campaign: Campaign, now: dt.datetime | None = None) -> dict[str, Any]:
    """The counter's figures, JSON-safe: what the embed and stats.json show."""
    countdown = campaign_countdown(campaign=campaign, now=now)
    # Whole days left; the last day counts as 0 days (hours_left says how many hours).
    days_left = 0 if countdown.ended or countdown.unit == "hours" else countdown.value
    return {
        "slug": campaign.slug,
        "title": campaign.title,
        "url": f"{settings.SITE_URL}{campaign.get_absolute_url()}",
        "status": campaign.status,
        "currency": campaign.currency,
        "pledged_cents": campaign.shown_pledged_cents,
        "goal_cents": campaign.goal_cents,
        "percent_funded": campaign.percent_funded,
        "supporters": campaign.supporter_count,
        "backers": campaign.shown_backer_count,
        "deadline": campaign.deadline.isoformat(),
        "days_left": days_left,
        "hours_left": countdown.value if countdown.unit == "hours" else None,
        "ended": countdown.ended,
        "countdown_label": countdown.label,
        "countdown_value": countdown.value,
    }


# --- sharing ----------------------------------------------------------------------------------
def campaign_share_url(*, campaign: Campaign, share_code: str = "") -> str:
    url = f"{settings.SITE_URL}{campaign.get_absolute_url()}"
    return f"{url}?{urlencode({'source': share_code})}" if share_code else url


def share_links(*, campaign: Campaign, share_code: str = "") -> dict[str, str]:
    """Ready-made links for each place people share, carrying `?source=<share_code>` so the
    people who sign on through them are counted as this supporter's referrals."""
    url = campaign_share_url(campaign=campaign, share_code=share_code)
    text = f"I support “{campaign.title}”. Join me:"
    return {
        "url": url,
        "email": "mailto:?"
        + urlencode(
            {"subject": campaign.title, "body": f"{text}\n\n{campaign.summary}\n\n{url}"},
            quote_via=quote,
        ),
        "x": "https://twitter.com/intent/tweet?" + urlencode({"text": text, "url": url}),
        "facebook": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
        "whatsapp": "https://wa.me/?" + urlencode({"text": f"{text} {url}"}),
    }


# --- the organizer's dashboard ----------------------------------------------------------------
def dashboard_series(*, campaign: Campaign, days: int = 60) -> dict[str, Any]:
    """Cumulative confirmed supporters and pledges (card saved) per day over the last `days`
    days, in the campaign's time zone, with the geometry of a server-drawn SVG line chart."""
    from pledges.models import Pledge

    tz = campaign.tz
    today = timezone.localdate(timezone.now(), tz)
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    supporters = Supporter.objects.filter(campaign=campaign, confirmed_at__isnull=False)
    pledges = Pledge.objects.filter(campaign=campaign).exclude(status=Pledge.Status.PENDING_SETUP)
    base_supporters = supporters.filter(confirmed_at__lt=start).count()
    base_pledges = pledges.filter(created_at__lt=start).count()
    per_day_supporters = dict(
        supporters.filter(confirmed_at__gte=start)
        .order_by()
        .annotate(day=TruncDate("confirmed_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    per_day_pledges = dict(
        pledges.filter(created_at__gte=start)
        .order_by()
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    rows = []
    total_s, total_p = base_supporters, base_pledges
    for i in range(days):
        day = first + dt.timedelta(days=i)
        total_s += per_day_supporters.get(day, 0)
        total_p += per_day_pledges.get(day, 0)
        rows.append({"day": day, "supporters": total_s, "pledges": total_p})

    width, height, left, bottom = 640, 220, 44, 24
    plot_w, plot_h = width - left - 8, height - bottom - 8
    peak = max([1] + [max(r["supporters"], r["pledges"]) for r in rows])
    # A round top for the y axis so the labels read well.
    magnitude = 10 ** (len(str(peak)) - 1)
    top = ((peak + magnitude - 1) // magnitude) * magnitude

    def point(i: int, value: int) -> str:
        x = left + (plot_w * i / max(1, days - 1))
        y = 8 + plot_h - (plot_h * value / top)
        return f"{x:.1f},{y:.1f}"

    ticks = []
    for fraction in (0, 0.5, 1):
        value = round(top * fraction)
        ticks.append({"value": value, "y": round(8 + plot_h - plot_h * fraction, 1)})
    labels = []
    for i in range(0, days, max(1, days // 6)):
        labels.append(
            {
                "x": round(left + plot_w * i / max(1, days - 1), 1),
                "text": rows[i]["day"].strftime("%b %-d"),
            }
        )
    return {
        "rows": rows,
        "days": days,
        "width": width,
        "height": height,
        "left": left,
        "plot_right": left + plot_w,
        "axis_y": 8 + plot_h,
        "label_y": height - 6,
        "ticks": ticks,
        "labels": labels,
        "supporters_points": " ".join(point(i, r["supporters"]) for i, r in enumerate(rows)),
        "pledges_points": " ".join(point(i, r["pledges"]) for i, r in enumerate(rows)),
        "supporters_now": rows[-1]["supporters"] if rows else 0,
        "pledges_now": rows[-1]["pledges"] if rows else 0,
        "supporters_gained": total_s - base_supporters,
        "pledges_gained": total_p - base_pledges,
    }


def top_referral_sources(*, campaign: Campaign, limit: int = 10) -> list[dict[str, Any]]:
    """Where confirmed supporters came from (`?source=`), most first; each supporter's own
    share code is resolved to their name so organizers see who brings people in."""
    rows = list(
        Supporter.objects.filter(campaign=campaign, confirmed_at__isnull=False)
        .exclude(source="")
        .order_by()
        .values("source")
        .annotate(n=Count("pk"))
        .order_by("-n", "source")[:limit]
    )
    codes = {
        s.share_code: s.display_name or s.name
        for s in Supporter.objects.filter(
            campaign=campaign, share_code__in=[r["source"] for r in rows]
        ).only("share_code", "name", "display_name")
    }
    peak = max([1] + [r["n"] for r in rows])
    return [
        {
            "source": r["source"],
            "referrer_name": codes.get(r["source"], ""),
            "count": r["n"],
            "percent_of_peak": r["n"] * 100 // peak,
        }
        for r in rows
    ]


def milestone_history(*, campaign: Campaign) -> QuerySet[Milestone]:
    return Milestone.objects.filter(campaign=campaign).order_by("-reached_at", "-pk")


def action_results(*, campaign: Campaign) -> list[dict[str, Any]]:
    """Each counted action's results for the dashboard (one query): people who did it, and for
    calls the outcomes across every office."""
    from django.db.models import Sum

    from actions.models import Action

    actions = (
        Action.objects.filter(campaign=campaign, kind__in=Action.COUNTED_KINDS)
        .annotate(
            talked=Sum("targets__talked_count"),
            voicemail=Sum("targets__voicemail_count"),
            busy=Sum("targets__busy_count"),
        )
        .order_by("position", "id")
    )
    return [
        {
            "action": action,
            "kind": action.get_kind_display(),
            "people": action.completed_count,
            "calls": action.outcome_count,
            "talked": action.talked or 0,
            "voicemail": action.voicemail or 0,
            "busy": action.busy or 0,
            "capacity": action.event_capacity if action.kind == Action.Kind.EVENT else None,
        }
        for action in actions
    ]
