"""Writes for supporters: sign-on, confirmation, tier changes, milestones.

The campaign's `supporter_count` counts confirmed supporters who have not left; it moves only
here, with a conditional UPDATE so a double-clicked confirm link counts once.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation

from api.events import event_emit
from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_is_open
from supporters.emails import email_enqueue, email_language, email_send_once, emails_fan_out
from supporters.milestones import next_supporter_milestone, supporter_milestones_passed
from supporters.models import Milestone, Supporter, normalize_email, source_is_reserved
from supporters.tasks import check_milestones
from supporters.tasks import milestone_send_batch as milestone_send_batch_task

logger = logging.getLogger(__name__)

# Milestone mail is fanned out in batches of this many recipients, one Celery task per batch.
MILESTONE_BATCH_SIZE = 200
MILESTONE_SENT_MEMORY_SECONDS = 7 * 24 * 3600

FUNDING_MILESTONES = (25, 50, 75, 100)


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
    language: str | None = None,
) -> tuple[Supporter, bool]:
    """Find or create the one Supporter row for (campaign, email). Returns (supporter, created).

    Signing on twice is harmless: details are refreshed, consents only change when the caller
    passes a value (True or False), source tracking keeps the first touch. The supporter's
    language is the one they acted in (`language`, else the request's active language): every
    email to them is written in it.
    """
    email = normalize_email(email)
    language = email_language(language or translation.get_language())
    now = timezone.now()
    with transaction.atomic():
        supporter = (
            Supporter.objects.select_for_update().filter(campaign=campaign, email=email).first()
        )
        created = supporter is None
        if created:
            supporter = Supporter(campaign=campaign, email=email, name=name)
            for key, value in (tracking or {}).items():
                if key == "source" and source_is_reserved(value):
                    continue  # only seed_demo marks demo rows
                if hasattr(supporter, key) and value:
                    setattr(supporter, key, value[: Supporter._meta.get_field(key).max_length])
        supporter.name = name or supporter.name
        supporter.language = language
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
        event_emit("supporter.created" if created else "", supporter.pk)  # webhooks
    return supporter, created


def supporter_confirm(*, supporter: Supporter, count_waiting_actions: bool = False) -> bool:
    """Mark the supporter confirmed and count them, once. Returns whether this call counted.

    What the row reported on take-action pages before the proof counts only with
    `count_waiting_actions` (the emailed take-action link, opened in the browser that typed the
    address); any other proof drops it, since a stranger may have typed the address."""
    with transaction.atomic():
        won = Supporter.objects.filter(
            pk=supporter.pk, confirmed_at__isnull=True, left_at__isnull=True
        ).update(confirmed_at=timezone.now(), updated_at=timezone.now())
        if won:
            Campaign.objects.filter(pk=supporter.campaign_id).update(
                supporter_count=F("supporter_count") + 1
            )
            milestones_check_later(campaign_id=supporter.campaign_id)
            event_emit("supporter.confirmed", supporter.pk)  # webhooks, after commit
            from actions.services import actions_count_on_confirm, actions_drop_on_confirm

            if count_waiting_actions:
                actions_count_on_confirm(supporter_id=supporter.pk, now=timezone.now())
            else:
                actions_drop_on_confirm(supporter_id=supporter.pk)
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
        event_emit("supporter.left", supporter.pk)  # webhooks, after commit
    supporter.refresh_from_db()
    return bool(counted)


def milestones_check_later(*, campaign_id: int) -> None:
    """After this transaction commits, record milestones the campaign has passed."""
    # robust: a broker hiccup must not turn a committed sign-on into an error page; the next
    # confirmation re-checks (milestones_record catches up on every rung passed).
    transaction.on_commit(lambda: check_milestones.delay(campaign_id=campaign_id), robust=True)


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


def milestones_mark_passed(*, campaign_id: int) -> int:
    """Record the milestones a campaign is already past as announced, without mailing anyone:
    for data that arrives with its counts (demo data, an import). Milestones are news only
    when crossed from now on. Returns how many were recorded."""
    new = milestones_record(campaign_id=campaign_id)
    Milestone.objects.filter(pk__in=[m.pk for m in new], notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    return len(new)


def milestones_announce(*, milestone: Milestone) -> int:
    """Tell the campaign's supporters who asked for updates that a milestone was reached.

    Claims the milestone by setting `notified_at` with a conditional UPDATE, so a second run (a
    redelivered task, two workers) announces nothing. Recipients are confirmed supporters who
    have not left and consented to updates; they are split into batches, each sent by its own
    Celery task after this transaction commits. Returns how many people were queued.
    """
    with transaction.atomic():
        won = Milestone.objects.filter(pk=milestone.pk, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
        if not won:
            return 0
        ids = list(
            milestone_recipients(campaign_id=milestone.campaign_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        emails_fan_out(
            task=milestone_send_batch_task,
            ids=ids,
            batch_size=MILESTONE_BATCH_SIZE,
            milestone_id=milestone.pk,
        )
    milestone.refresh_from_db()
    return len(ids)


def milestones_pick_announcements(*, milestones: list[Milestone]) -> list[Milestone]:
    """Of milestones recorded together, only the highest of each kind is worth an email: a
    campaign imported with 1,234 supporters should send "1,000 supporters", not ten emails.
    The lower ones are marked notified (skipped) so no later run announces them."""
    best: dict[str, Milestone] = {}
    for milestone in milestones:
        if milestone.kind not in best or milestone.threshold > best[milestone.kind].threshold:
            best[milestone.kind] = milestone
    skipped = [m.pk for m in milestones if m not in best.values()]
    if skipped:
        Milestone.objects.filter(pk__in=skipped, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
    return sorted(best.values(), key=lambda m: (m.kind, m.threshold))


def milestone_recipients(*, campaign_id: int):
    """Supporters who may receive campaign updates: confirmed, still in, and consenting."""
    return Supporter.objects.filter(
        campaign_id=campaign_id,
        confirmed_at__isnull=False,
        left_at__isnull=True,
        consent_updates=True,
    )


def milestone_send_batch(*, milestone_id: int, supporter_ids: list[int]) -> int:
    """Send the milestone email to each supporter of the batch, one message per person (never a
    shared To: list). Consent is checked again here: someone who unsubscribed after the batch
    was queued gets nothing. One bad address does not stop the rest. Returns messages sent."""
    milestone = Milestone.objects.select_related("campaign").get(pk=milestone_id)
    campaign = milestone.campaign
    recipients = milestone_recipients(campaign_id=campaign.pk).filter(pk__in=supporter_ids)
    sent = 0
    for supporter in recipients.iterator():
        with translation.override(supporter.language):
            context = milestone_email_context(milestone=milestone, supporter=supporter)
        sent += email_send_once(
            key=f"milestone-sent:{milestone.pk}:{supporter.pk}",
            memory_seconds=MILESTONE_SENT_MEMORY_SECONDS,
            to=supporter.email,
            template="milestone",
            context=context,
            headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"},
            language=supporter.language,
        )
    return sent


def milestone_email_context(*, milestone: Milestone, supporter: Supporter) -> dict:
    """What the milestone email says, as JSON-safe values."""
    from django.conf import settings

    campaign = milestone.campaign
    return {
        "name": supporter.name,
        "campaign_title": campaign.title,
        "campaign_url": settings.SITE_URL + campaign.get_absolute_url(),
        "kind": milestone.kind,
        "threshold": milestone.threshold,
        "supporter_count": campaign.supporter_count,
        "next_milestone": next_supporter_milestone(campaign.supporter_count),
        "percent_funded": campaign.percent_funded,
        "unsubscribe_url": settings.SITE_URL
        + reverse(
            "supporters:unsubscribe",
            kwargs={"slug": campaign.slug, "token": supporter.confirm_token},
        ),
    }


# --- Ally sign-on -----------------------------------------------------------------------------
class CampaignClosedForSignOn(Exception):
    """Only LIVE campaigns accept new supporters, and only before their deadline."""


def supporter_sign_on(
    *,
    campaign: Campaign,
    email: str,
    name: str,
    postal_code: str = "",
    phone: str = "",
    consent_updates: bool = False,
    consent_updates_text: str = "",
    consent_org: bool = False,
    consent_org_text: str = "",
    tracking: dict[str, str] | None = None,
    user=None,
    email_verified: bool = False,
) -> tuple[Supporter, str]:
    """Sign someone on as an Ally. Returns (supporter, outcome) where outcome is one of:

    - "confirmed": the person proved the address already (a logged-in account with that email
      verified), so they count at once and get the welcome email;
    - "confirm_sent": we emailed a link whose page asks them to press a button to confirm;
    - "already": they are already a confirmed supporter. We change nothing (a stranger who
      types their address must not be able to rewrite their details or consents) and email
      them a note instead, so a real person who forgot gets an answer.
    """
    if not campaign_is_open(campaign):
        raise CampaignClosedForSignOn(campaign.pk)
    email = normalize_email(email)
    existing = Supporter.objects.filter(campaign=campaign, email=email).first()
    owner_is_acting = email_verified and user is not None
    if existing is not None and existing.is_confirmed and not owner_is_acting:
        email_enqueue(
            to=email,
            template="ally_already",
            context=_supporter_email_context(existing),
            language=existing.language,
        )
        return existing, "already"
    supporter, _created = supporter_upsert(
        campaign=campaign,
        email=email,
        name=name,
        user=user if owner_is_acting else None,
        postal_code=postal_code,
        phone=phone,
        consent_updates=consent_updates,
        consent_updates_text=consent_updates_text,
        consent_org=consent_org,
        consent_org_text=consent_org_text,
        tracking=tracking,
    )
    if owner_is_acting:
        if supporter_confirm(supporter=supporter):
            email_enqueue(
                to=email,
                template="welcome",
                context=_supporter_email_context(supporter),
                language=supporter.language,
            )
        return supporter, "confirmed"
    email_enqueue(
        to=email,
        template="ally_confirm",
        context=_supporter_email_context(supporter),
        language=supporter.language,
    )
    return supporter, "confirm_sent"


def supporter_confirm_by_token(
    *, campaign: Campaign, token: str, count_waiting_actions: bool = False
) -> tuple[Supporter, bool]:
    """The person pressed the confirm button in the page their email linked to. Counts them
    once and sends the welcome email once; pressing again is harmless. Returns
    (supporter, counted_now). Raises Supporter.DoesNotExist for a wrong or stale token.
    `count_waiting_actions`: see `supporter_confirm`."""
    supporter = Supporter.objects.get(campaign=campaign, confirm_token=token, left_at__isnull=True)
    counted = supporter_confirm(supporter=supporter, count_waiting_actions=count_waiting_actions)
    if counted:
        email_enqueue(
            to=supporter.email,
            template="welcome",
            context=_supporter_email_context(supporter),
            language=supporter.language,
        )
    return supporter, counted


def supporter_unsubscribe(*, supporter: Supporter) -> bool:
    """Stop campaign updates for this supporter (the link in every update email). Returns
    whether anything changed; the withdrawal is timestamped like any consent change."""
    changed = Supporter.objects.filter(pk=supporter.pk, consent_updates=True).update(
        consent_updates=False,
        consent_updates_at=timezone.now(),
        consent_updates_text="",
        updated_at=timezone.now(),
    )
    supporter.refresh_from_db()
    return bool(changed)


def _supporter_email_context(supporter: Supporter) -> dict:
    """What the sign-on emails say, with links to the pages in the supporter's language."""
    with translation.override(supporter.language):
        return _supporter_email_context_in_language(supporter)


def _supporter_email_context_in_language(supporter: Supporter) -> dict:
    from django.conf import settings

    campaign = supporter.campaign
    base = settings.SITE_URL
    kwargs = {"slug": campaign.slug, "token": supporter.confirm_token}
    return {
        "name": supporter.name,
        "campaign_title": campaign.title,
        "organization_name": campaign.organization.name,
        "campaign_url": base + campaign.get_absolute_url(),
        "confirm_url": base + reverse("supporters:ally_confirm", kwargs=kwargs),
        "unsubscribe_url": base + reverse("supporters:unsubscribe", kwargs=kwargs),
        "advocate_url": base
        + reverse("pledges:pledge", kwargs={"slug": campaign.slug, "tier": "advocate"}),
        "dashboard_url": base + reverse("supporters:dashboard"),
        "supporter_count": campaign.supporter_count,
        "next_milestone": next_supporter_milestone(campaign.supporter_count),
    }


# --- Accounts ---------------------------------------------------------------------------------
def supporters_link_user(*, user) -> int:
    """Attach the Supporter rows signed on with any of the user's *verified* addresses to their
    account (so /me/ shows them), and confirm the ones still waiting: a verified address is the
    same proof the confirm button gives. Called on login and on email verification. Returns how
    many rows were linked."""
    from supporters.selectors import user_verified_emails

    emails = user_verified_emails(user=user)
    if not emails:
        return 0
    taken = Supporter.objects.filter(user=user).values_list("campaign_id", flat=True)
    candidates = Supporter.objects.filter(email__in=emails, user__isnull=True).exclude(
        campaign_id__in=list(taken)
    )
    linked = 0
    for supporter in candidates:
        try:
            with transaction.atomic():
                linked += Supporter.objects.filter(pk=supporter.pk, user__isnull=True).update(
                    user=user, updated_at=timezone.now()
                )
        except IntegrityError:
            continue  # the user got a row on that campaign a moment ago
    proven_name = (user.display_name or user.get_full_name()).strip()
    for supporter in Supporter.objects.filter(
        user=user, email__in=emails, confirmed_at__isnull=True, left_at__isnull=True
    ).select_related("campaign"):
        if campaign_is_open(supporter.campaign):
            if proven_name and supporter.name != proven_name:
                # A waiting row's name was typed, maybe by someone else: the account's wins.
                Supporter.objects.filter(pk=supporter.pk).update(
                    name=proven_name[: Supporter._meta.get_field("name").max_length],
                    updated_at=timezone.now(),
                )
            supporter_confirm(supporter=supporter)
    return linked


def supporter_update_preferences(
    *,
    supporter: Supporter,
    display_name: str,
    public_listing: bool,
    consent_updates: bool,
    consent_updates_text: str,
    consent_org: bool,
    consent_org_text: str,
) -> list[str]:
    """Change how a supporter is listed and what they agreed to. Each consent that changes gets
    a fresh timestamp and the wording shown at that moment (or none when withdrawn). Returns the
    names of the fields that changed."""
    now = timezone.now()
    changed: list[str] = []
    with transaction.atomic():
        row = Supporter.objects.select_for_update().get(pk=supporter.pk)
        display_name = display_name.strip()
        if display_name != row.display_name:
            row.display_name = display_name
            changed.append("display_name")
        if public_listing != row.public_listing:
            row.public_listing = public_listing
            changed.append("public_listing")
        if consent_updates != row.consent_updates:
            row.consent_updates = consent_updates
            row.consent_updates_at = now
            row.consent_updates_text = consent_updates_text if consent_updates else ""
            changed.append("consent_updates")
        if consent_org != row.consent_org:
            row.consent_org = consent_org
            row.consent_org_at = now
            row.consent_org_text = consent_org_text if consent_org else ""
            changed.append("consent_org")
        if changed:
            row.save()
    supporter.refresh_from_db()
    return changed


# --- Proof of a mailbox -----------------------------------------------------------------------
# The session that created an account (allauth's sign-up or the pledge page's): a proof made in
# it comes from the person who chose the password.
ACCOUNT_CREATED_SESSION_KEY = "rr_account_created"


def account_mailbox_proven(*, user, first_proof: bool, by_creator: bool) -> bool:
    """The owner of the account's mailbox has just proven it (email confirmation, login by an
    emailed code, password reset). Returns whether earlier credentials were voided.

    Until this first proof anyone could have created the account with someone else's address
    and set its password (a pre-hijack). So unless the proof comes from the very session that
    created the account, the password set before it is made unusable; that also changes the
    session auth hash, which signs every existing session out. The owner signs in by emailed
    code or resets the password. Then the supporter rows of the proven address are linked.
    """
    from django.contrib.auth import get_user_model

    voided = False
    if first_proof and not by_creator:
        with transaction.atomic():
            locked = get_user_model().objects.select_for_update().get(pk=user.pk)
            locked.set_unusable_password()
            locked.save(update_fields=["password"])
        user.password = locked.password
        voided = True
        logger.info("account %s: first proof of its address voided earlier credentials", user.pk)
    supporters_link_user(user=user)
    return voided
