"""The emails settlement sends, in one place so their context stays JSON-safe and consistent.

Every function here only enqueues (like `supporters.emails.email_enqueue`, after the surrounding
transaction commits), so a rolled-back transition never tells anybody anything.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_organizer_emails
from campaigns.templatetags.rallyround import money
from pledges.models import Pledge
from pledges.tasks import pledges_send_emails as pledges_send_emails_task
from supporters.emails import email_enqueue, email_send_now, emails_fan_out
from supporters.tasks import send_email

log = logging.getLogger(__name__)


def _when(campaign: Campaign, moment) -> str:
    if moment is None:
        return ""
    return campaign.local_display(moment)  # in the active language (the supporter's)


def pledge_links(pledge: Pledge) -> dict[str, str]:
    """Absolute links a supporter can follow from an email to finish paying."""
    return {
        "confirm_url": settings.SITE_URL
        + reverse("pledges:payment_confirm", kwargs={"token": pledge.token}),
        "new_card_url": settings.SITE_URL
        + reverse("pledges:payment_new_card", kwargs={"token": pledge.token}),
        "campaign_url": settings.SITE_URL + pledge.campaign.get_absolute_url(),
    }


def pledge_card_text(pledge: Pledge) -> str:
    """ "Visa ending 4242", or "your saved card" before one is saved."""
    if not pledge.card_last4:
        return gettext("your saved card")
    return gettext("%(brand)s ending %(last4)s") % {
        "brand": (pledge.card_brand or "card").title(),
        "last4": pledge.card_last4,
    }


def pledge_email_context(pledge: Pledge) -> dict[str, Any]:
    """What any pledge email may say (the pledging and the settlement emails share it), written
    — dates, money, links — in the supporter's language."""
    with translation.override(pledge.supporter.language):
        campaign = pledge.campaign
        return {
            "name": pledge.supporter.name,
            "campaign_title": campaign.title,
            "pledge_url": settings.SITE_URL
            + reverse("pledges:detail", kwargs={"token": pledge.token}),
            "amount": money(pledge.amount_cents, pledge.currency),
            "amount_cents": pledge.amount_cents,
            "paid_cents": pledge.paid_cents,
            "refunded_cents": pledge.refunded_cents,
            "currency": pledge.currency,
            "tier": str(Tier.Kind(pledge.tier).label),
            "deadline": campaign.deadline_display,
            "card": pledge_card_text(pledge),
            "grace_ends": _when(campaign, pledge.grace_ends_at),
            "paid_at": _when(campaign, pledge.paid_at),
            "reference": f"R-{pledge.pk}",
            **pledge_links(pledge),
        }


def pledge_notify(*, pledge: Pledge, template: str, extra: dict[str, Any] | None = None) -> None:
    """Email the supporter behind `pledge` with one of the `settlement_*` templates."""
    context = {**pledge_email_context(pledge), **(extra or {})}
    email_enqueue(
        to=pledge.supporter.email,
        template=template,
        context=context,
        language=pledge.supporter.language,
    )


# Supporters emailed per task when a whole campaign's pledges move at once.
EMAIL_BATCH = 200


def pledges_notify_batches(*, pledge_ids: list[int], template: str) -> None:
    """After commit, hand these pledges' emails to the `emails` queue, one task per
    EMAIL_BATCH supporters: settlement never waits on mail, and mail never waits behind (or
    delays) the money tasks on `default` and `payments`."""
    emails_fan_out(
        task=pledges_send_emails_task,
        ids=pledge_ids,
        batch_size=EMAIL_BATCH,
        ids_kwarg="pledge_ids",
        template=template,
    )


# The receipt for a pledge charged: sent once per pledge, whoever records the payment.
RECEIPT = "settlement_charged"
# How long the `emails` worker remembers that a pledge's receipt went out (a chunk of charges
# redelivered after a worker was killed hands its paid pledges' receipts over again).
RECEIPT_MEMORY_SECONDS = 2 * 24 * 3600

_receipts_held: ContextVar[list[int] | None] = ContextVar("receipts_held", default=None)


def pledge_receipt_owed(pledge_id: int) -> None:
    """A pledge was just paid: its receipt goes to the `emails` queue after commit — or, inside
    `receipts_held` (a payments task's chunk), with the chunk's other receipts when it ends."""
    held = _receipts_held.get()
    if held is None:
        pledges_notify_batches(pledge_ids=[pledge_id], template=RECEIPT)
    else:
        held.append(pledge_id)


@contextlib.contextmanager
def receipts_held() -> Iterator[list[int]]:
    """Receipts owed inside this block are handed over once, when it ends (an exception
    included): one Celery publish per chunk of charges instead of one per charge, which was a
    fifth of a charge's CPU in the payments worker (issue 14). The `emails` worker sends a
    receipt only for a pledge that was paid, and once (`pledges_send_emails`), so a receipt
    held for a payment whose transaction rolled back, or handed over twice, sends nothing."""
    held: list[int] = []
    token = _receipts_held.set(held)
    try:
        yield held
    finally:
        _receipts_held.reset(token)
        if held:
            pledges_notify_batches(pledge_ids=list(dict.fromkeys(held)), template=RECEIPT)


def pledges_send_emails(*, pledge_ids: list[int], template: str) -> int:
    """Send one batch (the `emails` worker's side of `pledges_notify_batches`): one query for
    the batch, then each email; one that fails to send is handed to `send_email`, which
    retries it alone. Receipts go only to pledges that were paid, once per pledge."""
    pledges = Pledge.objects.filter(pk__in=pledge_ids).select_related("supporter", "campaign")
    if template == RECEIPT:
        pledges = pledges.filter(paid_at__isnull=False)
    sent = 0
    for pledge in pledges:
        once = f"pledge-receipt:{pledge.pk}" if template == RECEIPT else None
        if once and not cache.add(once, 1, timeout=RECEIPT_MEMORY_SECONDS):
            continue  # already sent (a redelivered chunk, or the same payment reported twice)
        context = pledge_email_context(pledge)
        to = [pledge.supporter.email]
        language = pledge.supporter.language
        try:
            email_send_now(to=to, template=template, context=context, headers={}, language=language)
            sent += 1
        except OSError:
            log.warning("email %s to pledge %s failed; retrying alone", template, pledge.pk)
            send_email.delay(
                to=to, template=template, context=context, headers={}, language=language
            )
    return sent


def organizers_notify(*, campaign: Campaign, template: str, extra: dict | None = None) -> None:
    """Email the campaign's contact and its organization's members."""
    recipients = campaign_organizer_emails(campaign)
    if not recipients:
        log.warning("campaign %s has nobody to notify about %s", campaign.pk, template)
        return
    context = {
        "campaign_title": campaign.title,
        "goal_cents": campaign.goal_cents,
        "frozen_pledged_cents": campaign.frozen_pledged_cents or 0,
        "frozen_backer_count": campaign.frozen_backer_count or 0,
        "collected_cents": campaign.collected_cents,
        "currency": campaign.currency,
        "campaign_url": settings.SITE_URL + campaign.get_absolute_url(),
        "admin_url": settings.SITE_URL
        + reverse("admin:pledges_campaignsettlement_change", args=[campaign.pk]),
        **(extra or {}),
    }
    email_enqueue(to=recipients, template=template, context=context)


def staff_alert(*, subject: str, body: str, level: int = logging.ERROR) -> None:
    """Tell the platform's staff something needs a person (keys revoked, a double charge, a
    campaign awaiting approval)."""
    log.log(level, "staff alert: %s — %s", subject, body)
    email_enqueue(
        to=list(settings.STAFF_ALERT_EMAILS),
        template="settlement_staff_alert",
        context={"subject": subject, "body": body},
    )
