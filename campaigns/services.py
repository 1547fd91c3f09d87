"""Writes and state transitions for campaigns.

`campaign_transition` is the only place a campaign's status changes: a conditional UPDATE on
the expected status, plus a CampaignEvent row in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from api.events import event_emit
from campaigns.models import Campaign, CampaignEvent
from campaigns.tasks import deadline_extended_fan_out as deadline_extended_fan_out_task
from campaigns.tasks import deadline_extended_send_batch as deadline_extended_send_batch_task
from supporters.emails import email_enqueue, emails_fan_out, task_hand_over

C = Campaign.Status
logger = logging.getLogger(__name__)

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
        event_emit(f"campaign.status:{to}", campaign.pk)  # webhooks, after commit
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
# The same defaults in Spanish (the `_es` columns; organizers edit both in the admin).
DEFAULT_TIERS_ES = {
    "ally": (
        "Aliado",
        "Únete a la comunidad de personas como tú que apoyan esta campaña.",
        "Recibe las novedades de cada logro de la campaña.\n"
        "Recibe contenido especial para compartir en redes sociales.\n"
        "Ten la oportunidad de apoyar la campaña con una promesa de donación.",
    ),
    "advocate": (
        "Defensor",
        "Haz una gran diferencia en el éxito de la campaña.",
        "Recibe novedades más frecuentes y detalles de las conversaciones sobre la estrategia.\n"
        "Contenido exclusivo para compartir en redes sociales.\n"
        "Entérate antes que nadie de cómo participar directamente en la campaña.",
    ),
    "champion": (
        "Campeón",
        "Haz una enorme diferencia. Además de todos los beneficios de Defensor:",
        "Tu nombre aparece en la página de la campaña como simpatizante.\n"
        "Recibe una insignia especial para tus redes sociales.",
    ),
}
DEFAULT_SECTIONS_ES = ("La meta", "El problema", "La solución", "Nuestra estrategia")


def campaign_add_defaults(*, campaign: Campaign) -> None:
    """Give a new campaign the three tiers (at $0, $15, $28) and the four standard sections,
    where it has none yet. Safe to call again."""
    from campaigns.models import Section, Tier

    for kind, (name, pitch, benefits) in DEFAULT_TIERS.items():
        name_es, pitch_es, benefits_es = DEFAULT_TIERS_ES[kind]
        Tier.objects.get_or_create(
            campaign=campaign,
            kind=kind,
            defaults={
                "name_en": name,
                "pitch_en": pitch,
                "benefits_en": benefits,
                "name_es": name_es,
                "pitch_es": pitch_es,
                "benefits_es": benefits_es,
                "min_cents": Tier.DEFAULT_MINIMUMS[kind],
            },
        )
    if not campaign.sections.exists():
        Section.objects.bulk_create(
            Section(
                campaign=campaign,
                heading_en=heading,
                heading_es=DEFAULT_SECTIONS_ES[i],
                body="",
                position=i,
            )
            for i, heading in enumerate(DEFAULT_SECTIONS)
        )


class CampaignNotReady(Exception):
    """A campaign cannot be submitted or published as it is; the message says what to fix."""


def _require_open_deadline(campaign: Campaign) -> None:
    if campaign.deadline <= timezone.now():
        raise CampaignNotReady(
            f"“{campaign.title}”: the deadline has passed. Set a deadline in the future first."
        )


def _review_email(*, campaign: Campaign, template: str, to: list[str], **extra) -> None:
    """Tell one side of the review loop (staff or the organizers) what the other just did."""
    if not to:
        logger.warning("campaign %s: nobody to tell about %s", campaign.pk, template)
        return
    email_enqueue(
        to=to,
        template=template,
        context={
            "campaign_title": campaign.title,
            "organization_name": campaign.organization.name,
            "campaign_url": settings.SITE_URL + campaign.get_absolute_url(),
            "admin_url": settings.SITE_URL
            + reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
            **extra,
        },
    )


def campaign_submit_for_review(*, campaign: Campaign, actor) -> bool:
    """An organizer hands a draft to platform staff (DRAFT → IN_REVIEW), and staff are emailed.
    Refused while the deadline is in the past (staff could not publish it anyway) or while the
    review checklist has open items, each named in the refusal."""
    from campaigns.selectors import campaign_review_checklist, platform_staff_emails

    _require_open_deadline(campaign)
    missing = [item.label for item in campaign_review_checklist(campaign) if not item.done]
    if missing and campaign.status == C.DRAFT:
        raise CampaignNotReady(
            f"“{campaign.title}” is not ready for review yet. Still needed: "
            + "; ".join(missing)
            + "."
        )
    won = campaign_transition(
        campaign=campaign,
        to=C.IN_REVIEW,
        expected=C.DRAFT,
        actor=actor,
        note="Submitted for review",
        updates={"review_note": ""},
    )
    if won:
        _review_email(
            campaign=campaign, template="campaign_review_submitted", to=platform_staff_emails()
        )
    return won


def platform_staff_required(*, actor, doing: str) -> None:
    """Refuse (PermissionDenied) unless `actor` is platform staff. Publishing and every money
    decision call this themselves, so no screen can forget it."""
    from campaigns.selectors import user_is_platform_staff

    if not user_is_platform_staff(actor):
        raise PermissionDenied(f"Only platform staff can {doing}.")


def campaign_approve(*, campaign: Campaign, actor) -> bool:
    """Platform staff publish a reviewed campaign (IN_REVIEW → LIVE): it becomes public and
    starts taking support."""
    from campaigns.selectors import user_is_platform_staff

    if not user_is_platform_staff(actor):
        raise PermissionDenied("Only platform staff can publish campaigns.")
    from campaigns.selectors import campaign_organizer_emails

    _require_open_deadline(campaign)
    won = campaign_transition(
        campaign=campaign,
        to=C.LIVE,
        expected=C.IN_REVIEW,
        actor=actor,
        note="Approved and published",
        updates={"published_at": timezone.now(), "review_note": ""},
    )
    if won:
        _review_email(
            campaign=campaign,
            template="campaign_review_approved",
            to=campaign_organizer_emails(campaign),
        )
    return won


def campaign_send_back(*, campaign: Campaign, actor, reason: str) -> bool:
    """Platform staff return a campaign in review to its organizers (IN_REVIEW → DRAFT) with the
    reason, which the organizers see on the campaign's admin page."""
    from campaigns.selectors import user_is_platform_staff

    if not user_is_platform_staff(actor):
        raise PermissionDenied("Only platform staff can send campaigns back.")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why the campaign is being sent back.")
    from campaigns.selectors import campaign_organizer_emails

    won = campaign_transition(
        campaign=campaign,
        to=C.DRAFT,
        expected=C.IN_REVIEW,
        actor=actor,
        note=reason,
        updates={"review_note": reason},
    )
    if won:
        _review_email(
            campaign=campaign,
            template="campaign_review_sent_back",
            to=campaign_organizer_emails(campaign),
            reason=reason,
        )
    return won


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


# --- extending a deadline --------------------------------------------------------------------
DEADLINE_EMAIL_BATCH_SIZE = 500
# How far ahead a deadline may be moved in one go (a typo of a year is caught, not emailed).
DEADLINE_EXTENSION_MAX = dt.timedelta(days=365)
# A redelivered batch skips the people it already mailed for a while.
DEADLINE_SENT_MEMORY_SECONDS = 7 * 24 * 3600


class DeadlineNotExtendable(Exception):
    """Why a deadline cannot be moved, as a sentence for the person who asked."""


def campaign_extend_deadline(*, campaign: Campaign, new_deadline: dt.datetime, actor, reason: str):
    """Platform staff give a LIVE campaign more time, before its deadline passes.

    Goal and deadline are frozen once people pledge: they pledged against them. The one change
    allowed is a later deadline, made by staff, and every confirmed supporter who has not left
    (pledgers included) is told, with the new deadline in the campaign's time zone and a link
    to cancel their pledge before it. The campaign row is locked and the deadline compared with
    the clock under that lock, the same lock settlement's freeze takes first: once a freeze has
    run the campaign is no longer LIVE, and a freeze waiting behind us sees the new deadline.

    Records a CampaignEvent (old and new deadline, the reason) and queues the emails in batches
    of DEADLINE_EMAIL_BATCH_SIZE after commit. Returns how many supporters are being told.
    Raises PermissionDenied for anyone but platform staff, DeadlineNotExtendable otherwise.
    """
    platform_staff_required(actor=actor, doing="extend a campaign's deadline")
    reason = (reason or "").strip()
    if not reason:
        raise DeadlineNotExtendable("Say why the deadline is being extended, for the record.")
    if new_deadline is None or timezone.is_naive(new_deadline):
        raise DeadlineNotExtendable("Give the new deadline as a date and time.")
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        now = timezone.now()
        if locked.status != C.LIVE:
            raise DeadlineNotExtendable(
                f"“{locked.title}” is {locked.get_status_display().lower()}: only a live "
                "campaign's deadline can be extended."
            )
        if now >= locked.deadline:
            raise DeadlineNotExtendable(
                f"The deadline already passed ({locked.deadline_display}); the totals are "
                "frozen for settlement and it can no longer be extended."
            )
        if new_deadline <= locked.deadline:
            raise DeadlineNotExtendable(
                f"The new deadline must be later than the current one ({locked.deadline_display})."
            )
        if new_deadline > now + DEADLINE_EXTENSION_MAX:
            raise DeadlineNotExtendable("The new deadline must be within a year from now.")
        old_text, new_text = locked.deadline_display, locked.local_display(new_deadline)
        old_deadline_at = locked.deadline
        Campaign.objects.filter(pk=locked.pk).update(deadline=new_deadline, updated_at=now)
        event = CampaignEvent.objects.create(
            campaign=locked,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label="staff",
            from_status=C.LIVE,
            to_status=C.LIVE,
            note=f"Deadline extended from {old_text} to {new_text}. Reason: {reason}",
        )
        told = _deadline_audience(locked.pk).count()
        # The supporters are read after commit, a chunk at a time, by a task: a campaign with
        # a million of them never holds their ids in memory, or the campaign row locked.
        transaction.on_commit(
            partial(
                task_hand_over,
                deadline_extended_fan_out_task,
                event_id=event.pk,
                # As moments, not text: each email writes them in its reader's language.
                old_deadline=old_deadline_at.isoformat(),
                new_deadline=new_deadline.isoformat(),
            ),
            robust=True,
        )
    campaign.deadline = new_deadline
    return told


def _deadline_audience(campaign_id: int):
    from supporters.models import Supporter

    return Supporter.objects.filter(
        campaign_id=campaign_id, confirmed_at__isnull=False, left_at__isnull=True
    )


# Supporters read per step of the deadline fan-out (each step queues their email batches).
DEADLINE_FAN_OUT_CHUNK = 5000


def deadline_extended_fan_out(
    *, event_id: int, old_deadline: str, new_deadline: str, after_id: int = 0
) -> int | None:
    """Queue the deadline emails of the next DEADLINE_FAN_OUT_CHUNK supporters (ids above
    `after_id`) in batches of DEADLINE_EMAIL_BATCH_SIZE; return the id to go on after, or None
    when everyone is queued. A keyset step: memory and time per step stay flat."""
    event = CampaignEvent.objects.only("campaign_id").get(pk=event_id)
    ids = list(
        _deadline_audience(event.campaign_id)
        .filter(pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:DEADLINE_FAN_OUT_CHUNK]
    )
    emails_fan_out(
        task=deadline_extended_send_batch_task,
        ids=ids,
        batch_size=DEADLINE_EMAIL_BATCH_SIZE,
        event_id=event_id,
        old_deadline=old_deadline,
        new_deadline=new_deadline,
    )
    return ids[-1] if len(ids) == DEADLINE_FAN_OUT_CHUNK else None


def _moment_display(campaign: Campaign, value: str) -> str:
    """An ISO moment written in the campaign's zone and the active language (a message queued
    before deadlines travelled as moments carries the English text: kept as it is)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return campaign.local_display(moment)


def deadline_extended_send_batch(
    *, event_id: int, supporter_ids: list[int], old_deadline: str, new_deadline: str
) -> int:
    """Queue the "deadline extended" email for each supporter of one batch, one message per
    person. Who is checked again here (someone who left since is skipped), and so is their
    pledge: only a pledge they can still cancel gets the cancel link. Returns messages queued."""
    from campaigns.templatetags.rallyround import money
    from pledges.models import Pledge
    from supporters.emails import email_enqueue
    from supporters.models import Supporter

    event = CampaignEvent.objects.select_related("campaign").get(pk=event_id)
    campaign = event.campaign
    supporters = Supporter.objects.filter(
        pk__in=supporter_ids, campaign=campaign, confirmed_at__isnull=False, left_at__isnull=True
    ).order_by("pk")
    open_pledges = {
        p.supporter_id: p
        for p in Pledge.objects.filter(
            supporter_id__in=supporter_ids,
            campaign=campaign,
            status__in=[Pledge.Status.PENDING_SETUP, Pledge.Status.ACTIVE],
        ).order_by("created_at")
    }
    queued = 0
    for supporter in supporters.iterator():
        sent_key = f"deadline-extended-sent:{event_id}:{supporter.pk}"
        if not cache.add(sent_key, 1, timeout=DEADLINE_SENT_MEMORY_SECONDS):
            continue
        pledge = open_pledges.get(supporter.pk)
        with translation.override(supporter.language):
            context = {
                "name": supporter.name,
                "campaign_title": campaign.title,
                "campaign_url": f"{settings.SITE_URL}{campaign.get_absolute_url()}",
                "old_deadline": _moment_display(campaign, old_deadline),
                "new_deadline": _moment_display(campaign, new_deadline),
                "pledge_url": (
                    settings.SITE_URL + reverse("pledges:detail", kwargs={"token": pledge.token})
                    if pledge
                    else ""
                ),
                "amount": money(pledge.amount_cents, pledge.currency) if pledge else "",
                "card_saved": bool(pledge and pledge.status == Pledge.Status.ACTIVE),
            }
        email_enqueue(
            to=supporter.email,
            template="deadline_extended",
            context=context,
            language=supporter.language,
        )
        queued += 1
    return queued
