"""Writes and state transitions for campaigns.

`campaign_transition` is the only place a campaign's status changes: a conditional UPDATE on
the expected status, plus a CampaignEvent row in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CampaignEvent

C = Campaign.Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    C.DRAFT: frozenset({C.IN_REVIEW}),
    C.IN_REVIEW: frozenset({C.LIVE, C.DRAFT}),
    C.LIVE: frozenset({C.SETTLING}),
    C.SETTLING: frozenset({C.SUCCEEDED, C.FAILED}),
    C.SUCCEEDED: frozenset({C.CLOSED}),
    C.FAILED: frozenset({C.CLOSED}),
    C.CLOSED: frozenset(),
}


class IllegalCampaignTransition(Exception):
    """A campaign transition the state machine does not allow."""


def campaign_transition(
    *,
    campaign: Campaign,
    to: str,
    expected: str | None = None,
    actor=None,
    actor_label: str = "",
    note: str = "",
    updates: dict[str, Any] | None = None,
) -> bool:
    """Move `campaign` from `expected` (default: its in-memory status) to `to`.

    Returns whether this call won; a concurrent caller that lost gets False and changes nothing.
    """
    expected = expected or campaign.status
    if to not in ALLOWED_TRANSITIONS.get(expected, frozenset()):
        raise IllegalCampaignTransition(f"campaign {campaign.pk}: {expected} → {to} is not allowed")
    fields = {"status": to, "updated_at": timezone.now(), **(updates or {})}
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign.pk, status=expected).update(**fields)
        if not won:
            return False
        CampaignEvent.objects.create(
            campaign=campaign,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label,
            from_status=expected,
            to_status=to,
            note=note,
        )
    campaign.refresh_from_db()
    return True


DEFAULT_TIERS = {
    "ally": (
        "Ally",
        "Join the community of people like you supporting this campaign.",
        "Get milestone updates on the campaign.\n"
        "Receive special content to share on social media.\n"
        "Get a chance to support the campaign by pledging a donation.",
    ),
    "advocate": (
        "Advocate",
        "Make a big difference in the success of the campaign.",
        "Get more regular campaign updates and insights on the strategy discussions.\n"
        "Premium content to share on social media.\n"
        "Be the first to find out how you can participate directly in the campaign.",
    ),
    "champion": (
        "Champion",
        "Make a great difference. Along with all the Advocate benefits:",
        "Get your name listed on the campaign page as a supporter.\n"
        "Receive a special awareness badge for your social media accounts.",
    ),
}
DEFAULT_SECTIONS = ("The Goal", "The Problem", "The Solution", "Our Strategy")


def campaign_add_defaults(*, campaign: Campaign) -> None:
    """Give a new campaign the three tiers (at $0, $15, $28) and the four standard sections,
    where it has none yet. Safe to call again."""
    from campaigns.models import Section, Tier

    for kind, (name, pitch, benefits) in DEFAULT_TIERS.items():
        Tier.objects.get_or_create(
            campaign=campaign,
            kind=kind,
            defaults={
                "name": name,
                "pitch": pitch,
                "benefits": benefits,
                "min_cents": Tier.DEFAULT_MINIMUMS[kind],
            },
        )
    if not campaign.sections.exists():
        Section.objects.bulk_create(
            Section(campaign=campaign, heading=heading, body="", position=i)
            for i, heading in enumerate(DEFAULT_SECTIONS)
        )


class CampaignNotReady(Exception):
    """A campaign cannot be submitted or published as it is; the message says what to fix."""


def _require_open_deadline(campaign: Campaign) -> None:
    if campaign.deadline <= timezone.now():
        raise CampaignNotReady(
            f"“{campaign.title}”: the deadline has passed. Set a deadline in the future first."
        )


def campaign_submit_for_review(*, campaign: Campaign, actor) -> bool:
    """An organizer hands a draft to platform staff (DRAFT → IN_REVIEW). Refused while the
    deadline is in the past, since staff could not publish it anyway."""
    _require_open_deadline(campaign)
    return campaign_transition(
        campaign=campaign,
        to=C.IN_REVIEW,
        expected=C.DRAFT,
        actor=actor,
        note="Submitted for review",
        updates={"review_note": ""},
    )


def campaign_approve(*, campaign: Campaign, actor) -> bool:
    """Platform staff publish a reviewed campaign (IN_REVIEW → LIVE): it becomes public and
    starts taking support."""
    from campaigns.selectors import user_is_platform_staff

    if not user_is_platform_staff(actor):
        raise PermissionDenied("Only platform staff can publish campaigns.")
    _require_open_deadline(campaign)
    return campaign_transition(
        campaign=campaign,
        to=C.LIVE,
        expected=C.IN_REVIEW,
        actor=actor,
        note="Approved and published",
        updates={"published_at": timezone.now(), "review_note": ""},
    )


def campaign_send_back(*, campaign: Campaign, actor, reason: str) -> bool:
    """Platform staff return a campaign in review to its organizers (IN_REVIEW → DRAFT) with the
    reason, which the organizers see on the campaign's admin page."""
    from campaigns.selectors import user_is_platform_staff

    if not user_is_platform_staff(actor):
        raise PermissionDenied("Only platform staff can send campaigns back.")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why the campaign is being sent back.")
    return campaign_transition(
        campaign=campaign,
        to=C.DRAFT,
        expected=C.IN_REVIEW,
        actor=actor,
        note=reason,
        updates={"review_note": reason},
    )


def campaign_recount_supporters(*, campaign: Campaign) -> int:
    """Set `supporter_count` from the supporter rows (confirmed, not left). For repairs and for
    demo data written in bulk; day to day the supporter services move the count one by one."""
    from supporters.models import Supporter

    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        count = Supporter.objects.filter(
            campaign=campaign, confirmed_at__isnull=False, left_at__isnull=True
        ).count()
        Campaign.objects.filter(pk=campaign.pk).update(supporter_count=count)
    campaign.supporter_count = count
    return count
