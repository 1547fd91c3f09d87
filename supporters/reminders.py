"""Momentum to the deadline: deadline reminders (72 and 24 hours before) and card-health
warnings (a saved card that lapses before the deadline). Services, called by beat tasks.

Both claim first, then mail: a `Reminder` row is inserted for each person due (the table's
unique constraints decide who may have one, so two beat runs at once cannot double anything),
and only the rows this run claimed are handed to email batches after commit. A batch marks each
row sent; a batch that runs twice mails nobody twice (`email_send_once`).

- Deadline reminders ask for consent (they are campaign updates): Allies are asked to upgrade
  to a pledge, pledgers to share with their own `?source=` link. Each reminder once per
  supporter, and at most one a day per person (address) across every campaign: the day is the
  UTC date of the claim. Someone held back today gets the 72-hour reminder tomorrow; a 24-hour
  reminder held back is not sent late.
- Card warnings are about the person's money (transactional): no consent needed, once per
  pledge, with the link to the pledge's own page where the card can be changed.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.models import Campaign, Tier
from supporters.emails import email_enqueue, email_send_once, emails_fan_out
from supporters.models import Reminder, Supporter
from supporters.tasks import reminder_send_batch as reminder_send_batch_task

logger = logging.getLogger(__name__)

REMINDER_BATCH_SIZE = 200
REMINDER_SENT_MEMORY_SECONDS = 7 * 24 * 3600
WINDOWS = (
    (Reminder.Kind.DEADLINE_24H, dt.timedelta(hours=24)),
    (Reminder.Kind.DEADLINE_72H, dt.timedelta(hours=72)),
)


def deadline_reminder_kind(*, campaign: Campaign, now: dt.datetime) -> str | None:
    """Which reminder is due for `campaign` at `now`: the 24-hour one in the last day, the
    72-hour one in the two days before, none otherwise (or once the deadline passed)."""
    left = campaign.deadline - now
    if left <= dt.timedelta(0):
        return None
    for kind, window in WINDOWS:
        if left <= window:
            return kind
    return None


def deadline_reminder_recipients(*, campaign: Campaign):
    """Who may get a deadline reminder: confirmed, still in, and consenting to updates."""
    return Supporter.objects.filter(
        campaign=campaign,
        confirmed_at__isnull=False,
        left_at__isnull=True,
        consent_updates=True,
    )


def deadline_reminders_claim(*, campaign: Campaign, now: dt.datetime | None = None) -> int:
    """Claim and queue the due deadline reminder of one campaign. Returns how many people were
    queued. Running it again (the next beat tick, a second beat) queues nobody twice."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.LIVE:
        return 0
    kind = deadline_reminder_kind(campaign=campaign, now=now)
    if kind is None:
        return 0
    day = now.astimezone(dt.UTC).date()
    with transaction.atomic():
        candidates = (
            deadline_reminder_recipients(campaign=campaign)
            .exclude(reminders__kind=kind)
            .order_by("pk")
            .values_list("pk", "email")
        )
        rows = [
            Reminder(
                supporter_id=pk,
                campaign=campaign,
                kind=kind,
                email=email,
                day=day,
                created_at=now,
            )
            for pk, email in candidates
        ]
        # ON CONFLICT DO NOTHING: the constraints (once each, one a day per address) decide.
        Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        ids = list(
            Reminder.objects.filter(
                campaign=campaign, kind=kind, created_at=now, sent_at__isnull=True
            )
            .order_by("supporter_id")
            .values_list("supporter_id", flat=True)
        )
        emails_fan_out(
            task=reminder_send_batch_task,
            ids=ids,
            batch_size=REMINDER_BATCH_SIZE,
            campaign_id=campaign.pk,
            kind=str(kind),
        )
    return len(ids)


def deadline_reminders_due(*, now: dt.datetime | None = None) -> int:
    """Every live campaign whose deadline is within 72 hours: claim and queue its reminder."""
    now = now or timezone.now()
    queued = 0
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.LIVE, deadline__gt=now, deadline__lte=now + WINDOWS[-1][1]
    ).order_by("deadline"):
        queued += deadline_reminders_claim(campaign=campaign, now=now)
    return queued


def reminder_send_batch(*, campaign_id: int, kind: str, supporter_ids: list[int]) -> int:
    """Mail one batch of a deadline reminder. Consent is read again: whoever withdrew it or
    left since the claim gets nothing. Returns how many were sent."""
    campaign = Campaign.objects.get(pk=campaign_id)
    reminders = Reminder.objects.filter(
        campaign_id=campaign_id,
        kind=kind,
        supporter_id__in=supporter_ids,
        sent_at__isnull=True,
        supporter__in=deadline_reminder_recipients(campaign=campaign),
    ).select_related("supporter")
    sent = 0
    for reminder in reminders:
        supporter = reminder.supporter
        is_ally = supporter.tier == Tier.Kind.ALLY
        with translation.override(supporter.language):
            context = reminder_email_context(campaign=campaign, supporter=supporter, kind=kind)
        if email_send_once(
            key=f"reminder-sent:{reminder.pk}",
            memory_seconds=REMINDER_SENT_MEMORY_SECONDS,
            to=supporter.email,
            template="deadline_reminder_ally" if is_ally else "deadline_reminder_pledger",
            context=context,
            headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"},
            language=supporter.language,
        ):
            Reminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).update(
                sent_at=timezone.now()
            )
            sent += 1
    return sent


def reminder_email_context(*, campaign: Campaign, supporter: Supporter, kind: str) -> dict:
    """What a deadline reminder says, as JSON-safe values."""
    from outreach.selectors import campaign_share_url
    from outreach.services import supporter_ensure_share_code

    base = settings.SITE_URL
    share_code = (
        "" if supporter.tier == Tier.Kind.ALLY else supporter_ensure_share_code(supporter=supporter)
    )
    kwargs = {"slug": campaign.slug, "token": supporter.confirm_token}
    return {
        "name": supporter.name,
        "campaign_title": campaign.title,
        "campaign_url": f"{base}{campaign.get_absolute_url()}",
        "hours": 24 if kind == Reminder.Kind.DEADLINE_24H else 72,
        "deadline": campaign.local_display(campaign.deadline),
        "percent_funded": campaign.percent_funded,
        "supporter_count": campaign.supporter_count,
        "upgrade_url": base
        + reverse("pledges:pledge", kwargs={"slug": campaign.slug, "tier": "advocate"}),
        "share_url": campaign_share_url(campaign=campaign, share_code=share_code),
        "unsubscribe_url": base + reverse("supporters:unsubscribe", kwargs=kwargs),
    }


# --- card health --------------------------------------------------------------------------------
def card_warnings_claim(*, campaign: Campaign, now: dt.datetime | None = None) -> int:
    """Warn each owner of an active pledge whose saved card lapses before `campaign`'s deadline,
    once per pledge, with the link to the pledge page where they change the card. Returns how
    many were queued."""
    from pledges.selectors_forecast import pledges_with_card_expiring

    now = now or timezone.now()
    if campaign.status != Campaign.Status.LIVE or campaign.deadline <= now:
        return 0
    queued = 0
    with transaction.atomic():
        pledges = (
            pledges_with_card_expiring(campaign=campaign)
            .exclude(reminders__kind=Reminder.Kind.CARD_EXPIRY)
            .select_related("supporter")
            .order_by("pk")
        )
        for pledge in pledges:
            supporter = pledge.supporter
            _row, created = Reminder.objects.get_or_create(
                pledge=pledge,
                kind=Reminder.Kind.CARD_EXPIRY,
                defaults={
                    "supporter": supporter,
                    "campaign": campaign,
                    "email": supporter.email,
                    "day": now.astimezone(dt.UTC).date(),
                    "created_at": now,
                    "sent_at": now,
                },
            )
            if not created:
                continue
            with translation.override(supporter.language):
                context = {
                    "name": supporter.name,
                    "campaign_title": campaign.title,
                    "amount_cents": pledge.amount_cents,
                    "currency": pledge.currency,
                    "card_exp": f"{pledge.card_exp_month:02d}/{pledge.card_exp_year}",
                    "deadline": campaign.local_display(campaign.deadline),
                    "pledge_url": settings.SITE_URL
                    + reverse("pledges:detail", kwargs={"token": pledge.token}),
                }
            email_enqueue(
                to=supporter.email,
                template="card_expiring",
                context=context,
                language=supporter.language,
            )
            queued += 1
    return queued


def card_warnings_due(*, now: dt.datetime | None = None) -> int:
    """Every live campaign before its deadline: warn the owners of cards that lapse first."""
    from pledges.models import Pledge

    now = now or timezone.now()
    return sum(
        card_warnings_claim(campaign=campaign, now=now)
        for campaign in Campaign.objects.filter(status=Campaign.Status.LIVE, deadline__gt=now)
        .filter(pledges__status=Pledge.Status.ACTIVE, pledges__card_exp_year__isnull=False)
        .distinct()
        .order_by("deadline")
    )
