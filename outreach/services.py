"""Writes for outreach: publishing updates and emailing them once to the right people, the
signed unsubscribe link, and share codes.

Sending is at most once per person: each batch claims an UpdateDelivery row (unique per update
and supporter) before it sends, so a redelivered task, a second worker or an organizer pressing
"send" again can never mail someone twice. If the mail server refuses a message the claim is
released, so a later run tries that person again.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from campaigns.templatetags.rallyround import render_markdown
from outreach.models import CampaignUpdate, UpdateDelivery
from outreach.selectors import update_recipients
from outreach.tasks import update_send_batch as update_send_batch_task
from supporters.emails import email_send_now, emails_fan_out
from supporters.models import Supporter

logger = logging.getLogger(__name__)

# Update mail is fanned out in batches of this many recipients, one Celery task per batch.
UPDATE_BATCH_SIZE = 200
UNSUBSCRIBE_SALT = "outreach.unsubscribe"


class UpdateNotPublishable(Exception):
    """The update cannot be published (e.g. its campaign is not public)."""


# --- publishing and sending -------------------------------------------------------------------
def update_publish(*, update: CampaignUpdate) -> bool:
    """Publish the update (it appears on the updates page) and queue its email to the people it
    is for. Publishing twice does nothing the second time. Returns whether it was published now.
    """
    if not update.campaign.is_public:
        raise UpdateNotPublishable(
            "This campaign is not live yet: publish updates once staff have approved it."
        )
    with transaction.atomic():
        won = CampaignUpdate.objects.filter(pk=update.pk, published_at__isnull=True).update(
            published_at=timezone.now(), updated_at=timezone.now()
        )
        if won:
            update.refresh_from_db()
            update_send(update=update)
    update.refresh_from_db()
    return bool(won)


def update_send(*, update: CampaignUpdate, again: bool = False) -> int:
    """Queue the email of a published update, in batches, one Celery task each, after commit.

    The first call claims `sent_at`; later calls do nothing unless `again` (the organizer's
    "send to anyone not yet emailed", e.g. people who upgraded their tier since): even then
    nobody already emailed gets it twice. Returns how many people were queued."""
    if update.published_at is None:
        return 0
    with transaction.atomic():
        claimed = CampaignUpdate.objects.filter(pk=update.pk, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
        if not claimed and not again:
            return 0
        ids = list(
            update_recipients(update=update)
            .exclude(update_deliveries__update=update)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        emails_fan_out(
            task=update_send_batch_task, ids=ids, batch_size=UPDATE_BATCH_SIZE, update_id=update.pk
        )
    return len(ids)


def update_send_batch(*, update_id: int, supporter_ids: list[int]) -> int:
    """Email the update to each supporter of the batch who still qualifies (tier, consent and
    membership are checked again now: someone who unsubscribed after the batch was queued gets
    nothing). One message per person with its own unsubscribe link. Returns messages sent."""
    update = CampaignUpdate.objects.select_related("campaign", "campaign__organization").get(
        pk=update_id
    )
    if update.published_at is None:
        return 0
    sent = 0
    for supporter in update_recipients(update=update).filter(pk__in=supporter_ids).iterator():
        try:
            with transaction.atomic():
                delivery = UpdateDelivery.objects.create(update=update, supporter=supporter)
        except IntegrityError:
            continue  # already emailed by an earlier run
        with translation.override(supporter.language):  # links and texts in their language
            unsubscribe = unsubscribe_url(supporter=supporter)
            context = update_email_context(
                update=update, supporter=supporter, unsubscribe_url=unsubscribe
            )
        try:
            email_send_now(
                to=[supporter.email],
                template="outreach_update",
                context=context,
                headers={
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                language=supporter.language,
            )
        except OSError:
            # Release the claim so a later run can try this person again.
            delivery.delete()
            logger.exception("update %s: sending to supporter %s failed", update.pk, supporter.pk)
            continue
        sent += 1
    return sent


def update_email_context(
    *, update: CampaignUpdate, supporter: Supporter, unsubscribe_url: str
) -> dict:
    campaign = update.campaign
    base = settings.SITE_URL
    return {
        "name": supporter.display_name or supporter.name,
        "campaign_title": campaign.title,
        "organization_name": campaign.organization.name,
        "campaign_url": f"{base}{campaign.get_absolute_url()}",
        "update_title": update.title,
        "update_url": base
        + reverse("outreach:update_detail", kwargs={"slug": campaign.slug, "pk": update.pk}),
        "update_html": render_markdown(update.body),
        "update_text": update.body,
        "image_url": f"{base}{update.image.url}" if update.image else "",
        "image_alt": update.image_alt,
        "audience": update.audience,
        "audience_label": {
            CampaignUpdate.Audience.ADVOCATES: gettext("For Advocates and Champions"),
            CampaignUpdate.Audience.CHAMPIONS: gettext("For Champions only"),
        }.get(update.audience, ""),
        "colour": campaign.accent_colour,
        "unsubscribe_url": unsubscribe_url,
        "card_url": _card_url(update=update, supporter=supporter),
    }


def _card_url(*, update: CampaignUpdate, supporter: Supporter) -> str:
    """For the "card expires before the deadline" push: the link to this person's pledge, where
    they can put in a new card."""
    if update.segment != CampaignUpdate.Segment.CARD_EXPIRING:
        return ""
    from pledges.models import Pledge

    pledge = (
        Pledge.objects.filter(supporter=supporter, status=Pledge.Status.ACTIVE)
        .only("token")
        .first()
    )
    if pledge is None:
        return ""
    return settings.SITE_URL + reverse("pledges:detail", kwargs={"token": pledge.token})


# --- unsubscribe ------------------------------------------------------------------------------
def unsubscribe_token(*, supporter: Supporter) -> str:
    """A signed token naming the supporter; it never expires (old emails must keep working)."""
    return signing.dumps({"s": supporter.pk, "c": supporter.campaign_id}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, supporter: Supporter) -> str:
    return settings.SITE_URL + reverse(
        "outreach:unsubscribe",
        kwargs={"slug": supporter.campaign.slug, "token": unsubscribe_token(supporter=supporter)},
    )


def supporter_from_unsubscribe_token(*, token: str, slug: str) -> Supporter | None:
    """The supporter a token was made for, or None if it was tampered with or is not for
    this campaign."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    return (
        Supporter.objects.select_related("campaign")
        .filter(pk=data.get("s"), campaign_id=data.get("c"), campaign__slug=slug)
        .first()
    )


def supporter_unsubscribe_updates(*, supporter: Supporter) -> bool:
    """Stop campaign update emails for this supporter (the consent withdrawal is timestamped by
    the supporters service). Returns whether anything changed."""
    from supporters.services import supporter_unsubscribe

    return supporter_unsubscribe(supporter=supporter)


# --- share codes ------------------------------------------------------------------------------
def supporter_ensure_share_code(*, supporter: Supporter) -> str:
    """The supporter's referral code for `?source=`, made on first need. The column is unique;
    a clash (vanishingly rare) is retried with a new code, and two requests racing to make the
    code agree on whichever was stored first."""
    if supporter.share_code:
        return supporter.share_code
    for _ in range(5):
        code = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")[:8]
        try:
            with transaction.atomic():
                Supporter.objects.filter(pk=supporter.pk, share_code__isnull=True).update(
                    share_code=code
                )
        except IntegrityError:
            continue
        supporter.refresh_from_db(fields=["share_code"])
        if supporter.share_code:
            return supporter.share_code
    raise RuntimeError(f"could not make a share code for supporter {supporter.pk}")
