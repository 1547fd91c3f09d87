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
