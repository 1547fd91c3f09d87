"""Reads for supporters: whose rows a person may see, the organizer export, the daily chart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Tier
from campaigns.selectors import user_is_platform_staff
from supporters.milestones import next_supporter_milestone
from supporters.models import Supporter, normalize_email


def user_verified_emails(*, user) -> list[str]:
    """The addresses this account has proven it owns (allauth's EmailAddress rows)."""
    from allauth.account.models import EmailAddress

    if not getattr(user, "pk", None):
        return []
    return sorted(
        {
            normalize_email(e)
            for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
                "email", flat=True
            )
        }
    )


def user_email_is_verified(*, user) -> bool:
    return normalize_email(user.email) in user_verified_emails(user=user)


def supporters_for_user(*, user) -> QuerySet[Supporter]:
    """Every Supporter row that belongs to this person: signed on with one of the addresses the
    account has proven it owns. The only way views find a person's rows, so nobody ever reaches
    someone else's by guessing an id.

    `Supporter.user` alone is not trusted: an account that has not proven the row's address
    (an unverified sign-up with someone else's email, or a link made before this rule) never
    sees, changes or deletes that row."""
    emails = user_verified_emails(user=user)
    if not emails:
        return Supporter.objects.none()
    return Supporter.objects.filter(email__in=emails)


def supporter_count_line(*, campaign: Campaign) -> dict[str, int]:
    """ "N supporters. Let's get to M!" and how far along the way to M we are; `shown` is false
    under the threshold where pages invite instead of printing a small number (issue 16)."""
    from actions.selectors import COUNT_SHOWN_FROM

    count = campaign.supporter_count
    target = next_supporter_milestone(count)
    return {
        "count": count,
        "shown": count >= COUNT_SHOWN_FROM,
        "next_milestone": target,
        "percent_to_next": min(100, count * 100 // target) if target else 100,
    }


def dashboard_rows(*, user) -> list[dict[str, Any]]:
    """For /me/: each campaign I support, with my tier and my current pledge (if any)."""
    from pledges.models import Pledge

    supporters = list(
        supporters_for_user(user=user)
        .select_related("campaign", "campaign__organization")
        .order_by("-created_at")
    )
    pledges: dict[int, Pledge] = {}
    for pledge in Pledge.objects.filter(supporter__in=supporters).order_by("created_at"):
        # The newest pledge wins; a canceled one only shows if there is nothing newer.
        pledges[pledge.supporter_id] = pledge
    return [{"supporter": s, "pledge": pledges.get(s.pk)} for s in supporters]


def user_data_export(*, user) -> dict[str, Any]:
    """Everything we hold about a person, for the "download my data" button. Card numbers are
    never stored (Stripe keeps them); we include brand and last four digits as shown to them."""
    from pledges.models import PaymentAttempt, Pledge

    def iso(value):
        return value.isoformat() if value else None

    supporters = list(supporters_for_user(user=user).select_related("campaign"))
    pledges = list(
        Pledge.objects.filter(supporter__in=supporters)
        .select_related("campaign")
        .order_by("created_at")
    )
    attempts = PaymentAttempt.objects.filter(pledge__in=pledges).order_by("pledge_id", "number")
    return {
        "exported_at": iso(timezone.now()),
        "account": {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "display_name": user.display_name,
            "date_joined": iso(user.date_joined),
            "last_login": iso(user.last_login),
            "verified_emails": user_verified_emails(user=user),
        },
        "supporters": [
            {
                "campaign": s.campaign.title,
                "campaign_url": f"/c/{s.campaign.slug}/",
                "name": s.name,
                "email": s.email,
                "postal_code": s.postal_code,
                "phone": s.phone,
                "tier": s.tier,
                "signed_on_at": iso(s.created_at),
                "confirmed_at": iso(s.confirmed_at),
                "left_at": iso(s.left_at),
                "public_listing": s.public_listing,
                "display_name": s.display_name,
                "consents": {
                    "campaign_updates": {
                        "given": s.consent_updates,
                        "changed_at": iso(s.consent_updates_at),
                        "wording": s.consent_updates_text,
                    },
                    "organization_contact": {
                        "given": s.consent_org,
                        "changed_at": iso(s.consent_org_at),
                        "wording": s.consent_org_text,
                    },
                },
                "source": {
                    "source": s.source,
                    "referrer": s.referrer,
                    "utm_source": s.utm_source,
                    "utm_medium": s.utm_medium,
                    "utm_campaign": s.utm_campaign,
                },
            }
            for s in supporters
        ],
        "pledges": [
            {
                "id": p.pk,
                "campaign": p.campaign.title,
                "tier": p.tier,
                "amount_cents": p.amount_cents,
                "currency": p.currency,
                "status": p.status,
                "paid_cents": p.paid_cents,
                "refunded_cents": p.refunded_cents,
                "card": f"{p.card_brand} ending {p.card_last4}" if p.card_last4 else "",
                "created_at": iso(p.created_at),
                "paid_at": iso(p.paid_at),
            }
            for p in pledges
        ],
        "payment_attempts": [
            {
                "pledge_id": a.pledge_id,
                "number": a.number,
                "amount_cents": a.amount_cents,
                "currency": a.currency,
                "outcome": a.outcome,
                "error_code": a.error_code,
                "decline_code": a.decline_code,
                "created_at": iso(a.created_at),
                "finished_at": iso(a.finished_at),
            }
            for a in attempts
        ],
    }


# --- Organizers -------------------------------------------------------------------------------
def supporters_visible_to(*, user) -> QuerySet[Supporter]:
    """Organizers see the supporters of their own organizations' campaigns; platform staff
    (superusers and the "Platform staff" group) see everyone's."""
    qs = Supporter.objects.select_related("campaign")
    if user_is_platform_staff(user):
        return qs
    return qs.filter(campaign__organization__members=user)


def campaigns_visible_to(*, user) -> QuerySet[Campaign]:
    if user_is_platform_staff(user):
        return Campaign.objects.all()
    return Campaign.objects.filter(organization__members=user).distinct()


def supporters_for_org_export(queryset: QuerySet[Supporter]) -> QuerySet[Supporter]:
    """Narrow any supporter list to the people the organization may contact: confirmed, still
    supporting, and who ticked "contact from the organizing organization"."""
    return queryset.filter(
        consent_org=True, confirmed_at__isnull=False, left_at__isnull=True
    ).order_by("created_at", "pk")


def daily_signups(campaign_id: int, days: int = 30) -> dict[str, Any]:
    """New confirmed supporters and new pledges (card saved) per day over the last `days` days,
    in the campaign's own time zone, with the geometry for a small server-rendered SVG chart."""
    from pledges.models import Pledge

    campaign = Campaign.objects.get(pk=campaign_id)
    tz = campaign.tz
    today = timezone.localdate(timezone.now(), tz)
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    supporters = dict(
        Supporter.objects.filter(campaign_id=campaign_id, confirmed_at__gte=start)
        .order_by()
        .annotate(day=TruncDate("confirmed_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    pledges = dict(
        Pledge.objects.filter(campaign_id=campaign_id, created_at__gte=start)
        .exclude(status=Pledge.Status.PENDING_SETUP)
        .order_by()
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    rows = []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        rows.append(
            {"day": day, "supporters": supporters.get(day, 0), "pledges": pledges.get(day, 0)}
        )
    peak = max([1] + [max(r["supporters"], r["pledges"]) for r in rows])
    # Geometry: a 600×160 plot; two bars per day.
    width, height, pad = 600, 160, 4
    slot = width / days
    bar = max(1.0, (slot - pad) / 2)
    for i, r in enumerate(rows):
        x = i * slot + pad / 2
        r["x_supporters"] = round(x, 1)
        r["x_pledges"] = round(x + bar, 1)
        r["h_supporters"] = round(r["supporters"] / peak * height, 1)
        r["h_pledges"] = round(r["pledges"] / peak * height, 1)
        r["y_supporters"] = round(height - r["h_supporters"], 1)
        r["y_pledges"] = round(height - r["h_pledges"], 1)
        # A date under every 7th bar, counted back from today so the last bar is labelled.
        r["label"] = (days - 1 - i) % 7 == 0
        if i == days - 1:
            r["label_x"], r["label_anchor"] = width - 2, "end"
        elif i == 0:
            r["label_x"], r["label_anchor"] = round(x, 1), "start"
        else:
            r["label_x"], r["label_anchor"] = round(x + bar, 1), "middle"
    return {
        "campaign": campaign,
        "rows": rows,
        "days": days,
        "peak": peak,
        "bar_width": round(bar, 1),
        "width": width,
        "height": height,
        "total_supporters": sum(r["supporters"] for r in rows),
        "total_pledges": sum(r["pledges"] for r in rows),
    }


def daily_chart_html(campaign_id: int, days: int = 30) -> str:
    """The daily chart as an HTML fragment, for any admin page that wants to show it."""
    from django.template.loader import render_to_string

    return render_to_string(
        "supporters/admin/daily_chart.html", {"chart": daily_signups(campaign_id, days=days)}
    )


def supporter_standing(*, user, campaign: Campaign) -> dict[str, Any] | None:
    """Where a signed-in person stands on `campaign`, for the campaign page and its tier
    buttons: their confirmed, current Supporter row (found through `supporters_for_user`, so
    only a proven address counts) and their live pledge, if any. None for anyone else.
    Never called for anonymous visitors: their pages are shared through the page cache."""
    if not getattr(user, "is_authenticated", False):
        return None
    from pledges.models import LIVE_STATUSES, Pledge

    supporter = (
        supporters_for_user(user=user)
        .filter(campaign=campaign, confirmed_at__isnull=False, left_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    if supporter is None:
        return None
    pledge = (
        Pledge.objects.filter(supporter=supporter, status__in=LIVE_STATUSES)
        .order_by("-created_at")
        .first()
    )
    kind = pledge.tier if pledge else supporter.tier
    tier = campaign.tiers.filter(kind=kind).first()
    return {
        "supporter": supporter,
        "tier": kind,
        # The campaign's own name for the tier, with its article: "an Advocate", "a Champion".
        "tier_with_article": tier.name_with_article if tier else Tier.Kind(kind).label,
        "pledge": pledge,
    }
