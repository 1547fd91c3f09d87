"""Writes for supporters: sign-on, confirmation, tier changes, milestones.

The campaign's `supporter_count` counts confirmed supporters who have not left; it moves only
here, with a conditional UPDATE so a double-clicked confirm link counts once.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign, Tier
from supporters.models import Milestone, Supporter, normalize_email

# The "Let's get to M!" ladder: (up to, step).
SUPPORTER_LADDER = ((500, 100), (1_000, 200), (10_000, 1_000), (50_000, 5_000), (100_000, 25_000))
FUNDING_MILESTONES = (25, 50, 75, 100)


def next_supporter_milestone(count: int) -> int:
    """The next round number above `count`: by 100 to 500, by 200 to 1,000, by 1,000 to 10,000,
    by 5,000 to 50,000, by 25,000 to 100,000, then by 100,000."""
    for ceiling, step in SUPPORTER_LADDER:
        if count < ceiling:
            return (count // step + 1) * step
    return (count // 100_000 + 1) * 100_000


def supporter_milestones_passed(count: int) -> list[int]:
    """Every ladder rung at or below `count` (0 excluded)."""
    rungs, value = [], 0
    while True:
        value = next_supporter_milestone(value)
        if value > count:
            return rungs
        rungs.append(value)


def supporter_upsert(
    *,
    campaign: Campaign,
    email: str,
    name: str,
    user=None,
    postal_code: str = "",
    phone: str = "",
    consent_updates: bool | None = None,
    consent_updates_text: str = "",
    consent_org: bool | None = None,
    consent_org_text: str = "",
    tracking: dict[str, str] | None = None,
) -> tuple[Supporter, bool]:
    """Find or create the one Supporter row for (campaign, email). Returns (supporter, created).

    Signing on twice is harmless: details are refreshed, consents only change when the caller
    passes a value (True or False), source tracking keeps the first touch.
    """
    email = normalize_email(email)
    now = timezone.now()
    with transaction.atomic():
        supporter = (
            Supporter.objects.select_for_update().filter(campaign=campaign, email=email).first()
        )
        created = supporter is None
        if created:
            supporter = Supporter(campaign=campaign, email=email, name=name)
            for key, value in (tracking or {}).items():
                if hasattr(supporter, key) and value:
                    setattr(supporter, key, value[: Supporter._meta.get_field(key).max_length])
        supporter.name = name or supporter.name
        if user is not None and supporter.user_id is None:
            supporter.user = user
        if postal_code:
            supporter.postal_code = postal_code
        if phone:
            supporter.phone = phone
        if consent_updates is not None and consent_updates != supporter.consent_updates:
            supporter.consent_updates = consent_updates
            supporter.consent_updates_at = now
            supporter.consent_updates_text = consent_updates_text if consent_updates else ""
        if consent_org is not None and consent_org != supporter.consent_org:
            supporter.consent_org = consent_org
            supporter.consent_org_at = now
            supporter.consent_org_text = consent_org_text if consent_org else ""
        if supporter.left_at is not None:
            # Coming back after leaving: start again unconfirmed.
            supporter.left_at = None
            supporter.confirmed_at = None
        try:
            with transaction.atomic():
                supporter.save()
        except IntegrityError:
            # Another request created the same person a moment ago; use that row.
            supporter = Supporter.objects.get(campaign=campaign, email=email)
            created = False
    return supporter, created


def supporter_confirm(*, supporter: Supporter) -> bool:
    """Mark the supporter confirmed and count them, once. Returns whether this call counted."""
    with transaction.atomic():
        won = Supporter.objects.filter(
            pk=supporter.pk, confirmed_at__isnull=True, left_at__isnull=True
        ).update(confirmed_at=timezone.now(), updated_at=timezone.now())
        if won:
            Campaign.objects.filter(pk=supporter.campaign_id).update(
                supporter_count=F("supporter_count") + 1
            )
            milestones_check_later(campaign_id=supporter.campaign_id)
    supporter.refresh_from_db()
    return bool(won)


def supporter_set_tier(*, supporter: Supporter, tier: str, allow_lower: bool = False) -> None:
    """Raise the supporter's tier (a pledge made them an Advocate or Champion). Lowering only
    happens when a pledge is canceled or reduced (`allow_lower=True`)."""
    current_rank = Tier.RANK[supporter.tier]
    if Tier.RANK[tier] > current_rank or (allow_lower and Tier.RANK[tier] != current_rank):
        Supporter.objects.filter(pk=supporter.pk).update(tier=tier, updated_at=timezone.now())
        supporter.tier = tier
    milestones_check_later(campaign_id=supporter.campaign_id)


def supporter_leave(*, supporter: Supporter) -> bool:
    """The supporter leaves the campaign: no longer counted or emailed. Returns whether counted."""
    with transaction.atomic():
        counted = Supporter.objects.filter(
            pk=supporter.pk, confirmed_at__isnull=False, left_at__isnull=True
        ).update(left_at=timezone.now(), consent_updates=False, consent_org=False)
        if not counted:
            Supporter.objects.filter(pk=supporter.pk, left_at__isnull=True).update(
                left_at=timezone.now(), consent_updates=False, consent_org=False
            )
        else:
            Campaign.objects.filter(pk=supporter.campaign_id, supporter_count__gt=0).update(
                supporter_count=F("supporter_count") - 1
            )
    supporter.refresh_from_db()
    return bool(counted)


def milestones_check_later(*, campaign_id: int) -> None:
    """After this transaction commits, record milestones the campaign has passed."""
    from supporters.tasks import check_milestones

    transaction.on_commit(lambda: check_milestones.delay(campaign_id=campaign_id))


def milestones_record(*, campaign_id: int) -> list[Milestone]:
    """Record every milestone the campaign has reached and not yet recorded (each exactly once,
    guarded by the unique constraint). Returns the newly recorded ones."""
    campaign = Campaign.objects.get(pk=campaign_id)
    wanted = [
        (Milestone.Kind.SUPPORTERS, n)
        for n in supporter_milestones_passed(campaign.supporter_count)
    ]
    pledged = (
        campaign.pledged_cents
        if campaign.frozen_pledged_cents is None
        else campaign.frozen_pledged_cents
    )
    percent = pledged * 100 // campaign.goal_cents if campaign.goal_cents else 0
    wanted += [(Milestone.Kind.FUNDING, p) for p in FUNDING_MILESTONES if percent >= p]
    existing = set(
        Milestone.objects.filter(campaign_id=campaign_id).values_list("kind", "threshold")
    )
    new = []
    for kind, threshold in wanted:
        if (kind, threshold) in existing:
            continue
        try:
            with transaction.atomic():
                new.append(
                    Milestone.objects.create(
                        campaign_id=campaign_id, kind=kind, threshold=threshold
                    )
                )
        except IntegrityError:
            continue  # recorded by a concurrent run
    return new
