"""Writes and state transitions for campaigns.

`campaign_transition` is the only place a campaign's status changes: a conditional UPDATE on
the expected status, plus a CampaignEvent row in the same transaction.
"""

from __future__ import annotations

from typing import Any

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
