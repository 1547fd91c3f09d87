"""Writes for take-action: who is acting, call outcomes, "I sent it", petition signatures,
event RSVPs, advocates-first openings and event reminders.

Counts move only here, in the transaction that records what a supporter did, and only when a
conditional write wins: one `ActionCompletion` per (action, supporter) and one `CallOutcome` per
(target, supporter) are unique in the database, and a completion counts once, when its
`counted_at` goes from empty to set. Replaying a request therefore never inflates a total.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation

from actions.models import (
    ADVOCATES_FIRST_MAX_HOURS,
    Action,
    ActionCompletion,
    CallOutcome,
    CallTarget,
)
from actions.selectors import EARLY_ACCESS_TIERS, State, action_state
from actions.tasks import action_send_email_batch as action_send_email_batch_task
from api.events import event_emit
from campaigns.models import Campaign
from supporters.emails import email_enqueue, email_send_once, emails_fan_out
from supporters.milestones import next_supporter_milestone
from supporters.models import Supporter, normalize_email
from supporters.services import (
    supporter_confirm,
    supporter_confirm_by_token,
    supporter_upsert,
)
from supporters.throttle import throttle_hit

logger = logging.getLogger(__name__)

EMAIL_BATCH_SIZE = 200
# A batch redelivered after a worker crash skips the people it already mailed for this long.
EMAIL_SENT_MEMORY_SECONDS = 7 * 24 * 3600
# Reports (outcomes, "I sent it", RSVPs) allowed per window; settings may override.
# Sign-ons (who are you?) share the Ally sign-on's budget: settings.SIGN_ON_RATE_LIMITS.
DEFAULT_RATE_LIMITS = {"supporter": 20, "ip": 60, "window_seconds": 600}


class ActionUnavailable(Exception):
    """The action is not open to this supporter now (not yet, no longer, or not for their tier)."""


class EventFull(Exception):
    """Every place at the event is taken."""


class RateLimited(Exception):
    """Too many reports in a short time from this supporter or this network."""


def rate_limits() -> dict[str, int]:
    return {**DEFAULT_RATE_LIMITS, **getattr(settings, "ACTION_RATE_LIMITS", {})}


def report_throttle(*, supporter_id: int | None, ip: str) -> None:
    """Count one report against the supporter's and the network's budget; raise RateLimited
    when either is spent. Checked before any write so a flood changes nothing."""
    limits = rate_limits()
    window = limits["window_seconds"]
    if not throttle_hit(key=f"act-ip:{ip}", limit=limits["ip"], window_seconds=window):
        raise RateLimited("ip")
    if supporter_id is not None and not throttle_hit(
        key=f"act-supporter:{supporter_id}", limit=limits["supporter"], window_seconds=window
    ):
        raise RateLimited("supporter")


def _require_open(action: Action, *, supporter: Supporter | None, early_access: bool, now) -> None:
    """Raise ActionUnavailable unless this supporter may act now: the action is open (or in
    its advocates-first window for someone with early access), its campaign is public, and the
    supporter belongs to that campaign and has not left it."""
    state = action_state(action, now=now, early_access=early_access)
    if state not in {State.OPEN, State.EARLY}:
        raise ActionUnavailable(state)
    if not action.campaign.is_public:
        raise ActionUnavailable("campaign not public")
    if supporter is None:
        return
    if supporter.campaign_id != action.campaign_id or supporter.left_at is not None:
        raise ActionUnavailable("not a supporter of this campaign")


def _count_completion(completion: ActionCompletion, *, now: dt.datetime) -> bool:
    """Mark the completion counted and add it to the action's total, once. Call inside a
    transaction. Returns whether this call counted it."""
    won = ActionCompletion.objects.filter(pk=completion.pk, counted_at__isnull=True).update(
        counted_at=now
    )
    if won:
        Action.objects.filter(pk=completion.action_id).update(
            completed_count=F("completed_count") + 1, updated_at=now
        )
        completion.counted_at = now
        event_emit("action.taken", completion.pk)  # webhooks, after commit
    return bool(won)


def action_complete(
    *, action: Action, supporter: Supporter, early_access: bool = False, now=None
) -> bool:
    """Record that the supporter did the action ("I sent it"), counted once per person.
    Returns whether this call counted (False for a repeat)."""
    now = now or timezone.now()
    _require_open(action, supporter=supporter, early_access=early_access, now=now)
    with transaction.atomic():
        proven = _proven(supporter)
        completion, _ = ActionCompletion.objects.get_or_create(action=action, supporter=supporter)
        if not proven:
            return False  # waits for the address to be confirmed
        return _count_completion(completion, now=now)


# --- who is acting ----------------------------------------------------------------------------
def actor_sign_on(
    *,
    campaign: Campaign,
    name: str,
    email: str,
    postal_code: str,
    action_id: int,
    user=None,
    email_verified: bool = False,
    tracking: dict[str, str] | None = None,
) -> tuple[Supporter | None, str]:
    """Who a visitor acts as, from the name, email and ZIP they typed. Returns
    (supporter or None, outcome):

    - "owner": a signed-in account with that verified address: their own row (linked);
    - "new": an address not yet on the campaign: a fresh, unconfirmed row this browser acts as.
      What it reports waits (uncounted, no event place, no reminder) until the link we email
      is opened (`actor_confirm_by_link`);
    - "link_sent": the address is already on the campaign. A typed address proves nothing, so
      that record (its RSVP, calls, completions) is never handed to this browser: its owner is
      emailed the link that continues as them (on the action `action_id`), and None is
      returned.
    """
    email = normalize_email(email)
    owner = (
        user is not None and email_verified and normalize_email(getattr(user, "email", "")) == email
    )
    existing = Supporter.objects.filter(campaign=campaign, email=email).first()
    if existing is not None and not owner:
        _actor_link_send(supporter=existing, action_id=action_id)
        return None, "link_sent"
    supporter, created = supporter_upsert(
        campaign=campaign,
        email=email,
        name=name,
        user=user if owner else None,
        postal_code=postal_code,
        tracking=tracking,
    )
    if owner:
        return supporter, "owner"
    _actor_link_send(supporter=supporter, action_id=action_id)
    if not created:  # another request created the same address a moment ago
        return None, "link_sent"
    return supporter, "new"


ACTOR_LINK_SALT = "actions.actor-link"
ACTOR_LINK_MAX_AGE = 7 * 24 * 3600


def actor_link_token(*, supporter: Supporter) -> str:
    """A signed, expiring token naming the supporter row and its campaign."""
    return signing.dumps({"s": supporter.pk, "c": supporter.campaign_id}, salt=ACTOR_LINK_SALT)


def actor_link_supporter(*, campaign: Campaign, token: str) -> Supporter | None:
    """The row a take-action link names, or None for a forged, stale or foreign token."""
    try:
        data = signing.loads(token, salt=ACTOR_LINK_SALT, max_age=ACTOR_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != campaign.pk:
        return None
    return Supporter.objects.filter(
        pk=data.get("s"), campaign=campaign, left_at__isnull=True
    ).first()


def _actor_link_send(*, supporter: Supporter, action_id: int) -> None:
    """Email the address the link that proves it and continues as its supporter row."""
    campaign = supporter.campaign
    token = actor_link_token(supporter=supporter)
    with translation.override(supporter.language):
        context = {
            "campaign_title": campaign.title,
            "link_url": settings.SITE_URL
            + reverse(
                "actions:actor_continue",
                kwargs={"slug": campaign.slug, "pk": action_id, "token": token},
            ),
        }
    email_enqueue(
        to=supporter.email,
        template="action_actor_link",
        context=context,
        language=supporter.language,
    )


def actor_confirm_by_link(
    *, campaign: Campaign, token: str, count_waiting: bool = False
) -> Supporter | None:
    """The owner of the address opened the emailed link and pressed its button: the row is
    theirs. A row still waiting is confirmed. What was reported with it meanwhile counts only
    when `count_waiting` (the link was opened in the browser that typed the address and
    reported it: `actions_count_on_confirm`); opened anywhere else, those reports may be a
    stranger's and are dropped (`actions_drop_on_confirm`). Returns the supporter, or None for
    a bad token."""
    from campaigns.selectors import campaign_is_open

    supporter = actor_link_supporter(campaign=campaign, token=token)
    if supporter is None:
        return None
    if supporter.confirmed_at is None and campaign_is_open(campaign):
        supporter_confirm_by_token(
            campaign=campaign, token=supporter.confirm_token, count_waiting_actions=count_waiting
        )
        supporter.refresh_from_db()
    return supporter


def actions_count_on_confirm(*, supporter_id: int, now: dt.datetime) -> int:
    """Count what a supporter reported before proving their address, now that they have
    (called by `supporters.services.supporter_confirm`, inside its transaction, once). Calls,
    emails and RSVPs count now; an RSVP takes a place only if one is left (otherwise it keeps
    waiting). Petitions keep their own confirmation. Returns how many completions counted."""
    counted = 0
    waiting = (
        ActionCompletion.objects.select_for_update()
        .filter(supporter_id=supporter_id, counted_at__isnull=True)
        .exclude(action__kind=Action.Kind.PETITION)
        .select_related("action")
        .order_by("pk")
    )
    for completion in waiting:
        action = completion.action
        if action.kind == Action.Kind.EVENT:
            if _take_event_place(action_id=action.pk, now=now):
                ActionCompletion.objects.filter(pk=completion.pk).update(counted_at=now)
                event_emit("rsvp.created", completion.pk)  # webhooks, after commit
                counted += 1
            continue
        if action.kind == Action.Kind.CALL:
            for row in CallOutcome.objects.filter(action=action, supporter_id=supporter_id):
                field = CallOutcome.COUNT_FIELD[row.outcome]
                CallTarget.objects.filter(pk=row.target_id).update(**{field: F(field) + 1})
                Action.objects.filter(pk=action.pk).update(outcome_count=F("outcome_count") + 1)
        counted += _count_completion(completion, now=now)
    return counted


def actions_drop_on_confirm(*, supporter_id: int) -> int:
    """Forget what was reported with a row before its address was proven, when the proof came
    some other way than the emailed take-action link opened in the browser that reported it
    (a login, the sign-on email's link, a petition's link): those reports may be a stranger's
    who typed the address (called by `supporters.services.supporter_confirm`, inside its
    transaction). Waiting completions and their call outcomes never counted, so no total
    moves. Petitions keep their own confirmation. Returns how many completions were dropped."""
    waiting = ActionCompletion.objects.filter(
        supporter_id=supporter_id, counted_at__isnull=True
    ).exclude(action__kind=Action.Kind.PETITION)
    action_ids = list(waiting.values_list("action_id", flat=True))
    CallOutcome.objects.filter(supporter_id=supporter_id, action_id__in=action_ids).delete()
    dropped, _ = ActionCompletion.objects.filter(
        supporter_id=supporter_id, action_id__in=action_ids, counted_at__isnull=True
    ).delete()
    return dropped


def _take_event_place(*, action_id: int, now: dt.datetime) -> bool:
    """Add one to the event's RSVPs if a place is left (a conditional UPDATE)."""
    return bool(
        Action.objects.filter(pk=action_id)
        .filter(Q(event_capacity__isnull=True) | Q(completed_count__lt=F("event_capacity")))
        .update(completed_count=F("completed_count") + 1, updated_at=now)
    )


def _proven(supporter: Supporter) -> bool:
    """Whether the supporter's address is proven (their row confirmed), read under the row's
    lock, so a report and the confirmation that counts waiting reports never cross."""
    row = Supporter.objects.select_for_update().only("confirmed_at").get(pk=supporter.pk)
    return row.confirmed_at is not None


# --- calls ------------------------------------------------------------------------------------
def call_outcome_report(
    *,
    action: Action,
    target_id: int,
    supporter: Supporter,
    outcome: str,
    early_access: bool = False,
    now=None,
) -> str:
    """Record how a call went. Returns "recorded" (first report for this target), "changed"
    (they called again and it went differently: the count moves from the old outcome to the
    new) or "unchanged" (a repeat, counted already).

    The first report on any target of the action also counts the supporter as having done the
    action. Target counts, the action's call total and the completion move in one transaction.
    """
    now = now or timezone.now()
    if outcome not in CallOutcome.Outcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    _require_open(action, supporter=supporter, early_access=early_access, now=now)
    target = action.targets.get(pk=target_id)  # DoesNotExist for another action's target
    with transaction.atomic():
        proven = _proven(supporter)
        row = (
            CallOutcome.objects.select_for_update()
            .filter(target=target, supporter=supporter)
            .first()
        )
        if row is None:
            try:
                with transaction.atomic():
                    row = CallOutcome.objects.create(
                        action=action, target=target, supporter=supporter, outcome=outcome
                    )
            except IntegrityError:
                # The same report arrived twice at once; the other request recorded it.
                row = CallOutcome.objects.select_for_update().get(
                    target=target, supporter=supporter
                )
            else:
                if not proven:
                    # Recorded, counted once the address is confirmed.
                    ActionCompletion.objects.get_or_create(action=action, supporter=supporter)
                    return "recorded"
                field = CallOutcome.COUNT_FIELD[outcome]
                type(target).objects.filter(pk=target.pk).update(**{field: F(field) + 1})
                Action.objects.filter(pk=action.pk).update(
                    outcome_count=F("outcome_count") + 1, updated_at=now
                )
                completion, _ = ActionCompletion.objects.get_or_create(
                    action=action, supporter=supporter
                )
                _count_completion(completion, now=now)
                return "recorded"
        if row.outcome == outcome:
            return "unchanged"
        if not proven:
            CallOutcome.objects.filter(pk=row.pk).update(outcome=outcome, updated_at=now)
            return "changed"
        old_field, new_field = (
            CallOutcome.COUNT_FIELD[row.outcome],
            CallOutcome.COUNT_FIELD[outcome],
        )
        type(target).objects.filter(pk=target.pk).update(
            **{old_field: F(old_field) - 1, new_field: F(new_field) + 1}
        )
        CallOutcome.objects.filter(pk=row.pk).update(outcome=outcome, updated_at=now)
        return "changed"


def call_target_for_legislator(*, action: Action, legislator) -> CallTarget:
    """The call target that counts calls to `legislator` for this action, made on the first
    report (a member of Congress reached through supporters' ZIP codes). It keeps the member's
    title, name, seat and phone as they were, so the organizer's per-office counts read the
    same after the data are refreshed. One per (action, member): unique in the database."""
    office = f"{legislator.title}, {legislator.seat_label}"
    if legislator.party:
        office = f"{office} ({legislator.party})"
    defaults = {
        "name": f"{legislator.title} {legislator.name}"[:200],
        "office": office[:200],
        "phone": legislator.phone or "",
        "position": 1000,
    }
    try:
        with transaction.atomic():
            target, _ = CallTarget.objects.get_or_create(
                action=action, legislator=legislator, defaults=defaults
            )
    except IntegrityError:
        # Two first reports at once: the other request made it.
        target = CallTarget.objects.get(action=action, legislator=legislator)
    return target


# --- events -----------------------------------------------------------------------------------
def event_rsvp(
    *, action: Action, supporter: Supporter, early_access: bool = False, now=None
) -> bool:
    """Reserve a place at the event. Returns True when the supporter is newly going, False if
    they already were. Raises EventFull when the last place is gone: the capacity check is a
    conditional UPDATE, so two people cannot take the last place together."""
    now = now or timezone.now()
    _require_open(action, supporter=supporter, early_access=early_access, now=now)
    with transaction.atomic():
        proven = _proven(supporter)
        completion, created = ActionCompletion.objects.get_or_create(
            action=action, supporter=supporter
        )
        if not proven:
            # Waits, taking no place, until the address is confirmed: a flood of typed
            # addresses cannot fill the event.
            return created
        won = ActionCompletion.objects.filter(pk=completion.pk, counted_at__isnull=True).update(
            counted_at=now
        )
        if not won:
            return False
        if not _take_event_place(action_id=action.pk, now=now):
            raise EventFull(action.pk)  # rolls back the completion too
        event_emit("rsvp.created", completion.pk)  # webhooks, after commit
    return True


def event_rsvp_cancel(*, action: Action, supporter: Supporter, now=None) -> bool:
    """Give the place back. Returns whether there was an RSVP to cancel."""
    now = now or timezone.now()
    with transaction.atomic():
        counted, _ = ActionCompletion.objects.filter(
            action=action, supporter=supporter, counted_at__isnull=False
        ).delete()
        waiting, _ = ActionCompletion.objects.filter(action=action, supporter=supporter).delete()
        if counted:
            Action.objects.filter(pk=action.pk, completed_count__gt=0).update(
                completed_count=F("completed_count") - 1, updated_at=now
            )
    return bool(counted or waiting)


# --- petitions --------------------------------------------------------------------------------
def petition_sign(
    *,
    action: Action,
    name: str,
    email: str,
    postal_code: str,
    consent_updates: bool = False,
    consent_updates_text: str = "",
    consent_org: bool = False,
    consent_org_text: str = "",
    user=None,
    email_verified: bool = False,
    early_access: bool = False,
    tracking: dict[str, str] | None = None,
    now=None,
) -> tuple[ActionCompletion, str]:
    """Sign the petition the way an Ally signs on: `supporter_upsert`, then confirmation by
    email, with the petition's own wording. Returns (completion, outcome):

    - "signed": the account owner signed with their verified address; counted now (and they
      count as a supporter, once);
    - "already": the owner had signed before; nothing changed;
    - "confirm_sent": we emailed a link; the signature counts when its button is pressed.

    An address that already belongs to a confirmed supporter keeps its details (a stranger
    cannot rewrite them); the signature still waits for that person's confirmation.
    """
    now = now or timezone.now()
    campaign = action.campaign
    email = normalize_email(email)
    owner = (
        user is not None and email_verified and normalize_email(getattr(user, "email", "")) == email
    )
    # Refuse a closed petition before touching anyone's details.
    _require_open(action, supporter=None, early_access=early_access and owner, now=now)
    existing = Supporter.objects.filter(campaign=campaign, email=email).first()
    if owner or existing is None or not existing.is_confirmed:
        supporter, _ = supporter_upsert(
            campaign=campaign,
            email=email,
            name=name,
            user=user if owner else None,
            postal_code=postal_code,
            consent_updates=consent_updates,
            consent_updates_text=consent_updates_text,
            consent_org=consent_org,
            consent_org_text=consent_org_text,
            tracking=tracking,
        )
    else:
        supporter = existing
    _require_open(action, supporter=supporter, early_access=early_access and owner, now=now)
    with transaction.atomic():
        completion, _ = ActionCompletion.objects.get_or_create(action=action, supporter=supporter)
        if owner:
            supporter_confirm(supporter=supporter)
            counted = _count_completion(completion, now=now)
            return completion, "signed" if counted else "already"
        with translation.override(supporter.language):
            context = _petition_email_context(action=action, supporter=supporter)
        email_enqueue(
            to=email,
            template="action_petition_confirm",
            context=context,
            language=supporter.language,
        )
    return completion, "confirm_sent"


def petition_confirm(*, action: Action, token: str, now=None) -> tuple[ActionCompletion, bool]:
    """The signer pressed the button in the page their email linked to. Counts the signature
    once (and the signer as a supporter once, with the supporters app's welcome email); pressing
    again is harmless. Returns (completion, counted_now). Raises Supporter.DoesNotExist or
    ActionCompletion.DoesNotExist for a wrong token."""
    now = now or timezone.now()
    campaign = action.campaign
    supporter = Supporter.objects.get(campaign=campaign, confirm_token=token, left_at__isnull=True)
    completion = ActionCompletion.objects.get(action=action, supporter=supporter)
    if supporter.confirmed_at is None and campaign.status == Campaign.Status.LIVE:
        supporter_confirm_by_token(campaign=campaign, token=token)
    with transaction.atomic():
        counted = _count_completion(completion, now=now)
    return completion, counted


def _petition_email_context(*, action: Action, supporter: Supporter) -> dict:
    base = settings.SITE_URL
    slug = action.campaign.slug
    return {
        "name": supporter.name,
        "petition_title": action.title,
        "campaign_title": action.campaign.title,
        "confirm_url": base
        + reverse(
            "actions:petition_confirm",
            kwargs={"slug": slug, "pk": action.pk, "token": supporter.confirm_token},
        ),
        "signed_count": action.completed_count,
        "next_milestone": next_supporter_milestone(action.completed_count),
    }


# --- advocates first --------------------------------------------------------------------------
def advocates_first_recipients(*, campaign_id: int):
    """Who hears first: confirmed Advocates and Champions still supporting, who asked for
    campaign updates."""
    return Supporter.objects.filter(
        campaign_id=campaign_id,
        tier__in=list(EARLY_ACCESS_TIERS),
        confirmed_at__isnull=False,
        left_at__isnull=True,
        consent_updates=True,
    )


def advocates_first_open_due(*, now=None) -> int:
    """Announce every action whose advocates-first window has opened and is not announced yet.

    Each action is claimed by setting `advocates_notified_at` with a conditional UPDATE, so a
    second beat, a redelivered task or two workers announce it once. An action whose window
    already ended (it is open to everyone: beat was down, or it was published late) is claimed
    without email. Mail goes out in batches, one task each, after the claim commits. Returns
    how many people were queued.
    """
    now = now or timezone.now()
    candidates = Action.objects.filter(
        published=True,
        advocates_first_hours__gt=0,
        advocates_notified_at__isnull=True,
        starts_at__isnull=False,
        starts_at__lte=now + dt.timedelta(hours=ADVOCATES_FIRST_MAX_HOURS),
    ).select_related("campaign")
    queued = 0
    for action in candidates:
        if action.advocates_open_at > now:
            continue
        queued += _advocates_first_announce(action=action, now=now)
    return queued


def _advocates_first_announce(*, action: Action, now: dt.datetime) -> int:
    still_early = now < action.starts_at and (action.ends_at is None or now < action.ends_at)
    with transaction.atomic():
        won = Action.objects.filter(pk=action.pk, advocates_notified_at__isnull=True).update(
            advocates_notified_at=now
        )
        if not won or not still_early or not action.campaign.is_public:
            return 0
        ids = list(
            advocates_first_recipients(campaign_id=action.campaign_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        emails_fan_out(
            task=action_send_email_batch_task,
            ids=ids,
            batch_size=EMAIL_BATCH_SIZE,
            action_id=action.pk,
            kind="advocates_first",
        )
    return len(ids)


# --- event reminders --------------------------------------------------------------------------
def event_reminders_send_due(*, now=None) -> int:
    """Queue the reminder for every RSVP whose event starts within its reminder window and who
    has not been reminded. Each RSVP is claimed (`reminded_at`) under a row lock that other
    runs skip, so nobody is reminded twice. Returns how many were queued."""
    now = now or timezone.now()
    events = Action.objects.filter(
        kind=Action.Kind.EVENT,
        published=True,
        event_starts_at__gt=now,
        event_starts_at__lte=now + dt.timedelta(hours=ADVOCATES_FIRST_MAX_HOURS),
    )
    queued = 0
    for action in events:
        if action.event_starts_at - dt.timedelta(hours=action.reminder_hours) > now:
            continue
        with transaction.atomic():
            ids = list(
                ActionCompletion.objects.select_for_update(skip_locked=True)
                .filter(
                    action=action,
                    counted_at__isnull=False,
                    reminded_at__isnull=True,
                    supporter__confirmed_at__isnull=False,
                    supporter__left_at__isnull=True,
                )
                .order_by("pk")
                .values_list("supporter_id", flat=True)
            )
            if not ids:
                continue
            ActionCompletion.objects.filter(action=action, supporter_id__in=ids).update(
                reminded_at=now
            )
            emails_fan_out(
                task=action_send_email_batch_task,
                ids=ids,
                batch_size=EMAIL_BATCH_SIZE,
                action_id=action.pk,
                kind="event_reminder",
            )
            queued += len(ids)
    return queued


def action_send_email_batch(*, action_id: int, kind: str, supporter_ids: list[int]) -> int:
    """Send one batch of advocates-first or event-reminder emails, one message per person.
    Who may receive it is checked again here (someone who left or unsubscribed, or cancelled
    their RSVP, after the batch was queued gets nothing). Returns messages sent."""

    action = Action.objects.select_related("campaign").get(pk=action_id)
    if kind == "advocates_first":
        recipients = advocates_first_recipients(campaign_id=action.campaign_id)
        template = "action_advocates_first"
    elif kind == "event_reminder":
        recipients = Supporter.objects.filter(
            action_completions__action=action,
            action_completions__counted_at__isnull=False,
            confirmed_at__isnull=False,
            left_at__isnull=True,
        )
        template = "action_event_reminder"
    else:
        raise ValueError(f"unknown batch kind {kind!r}")
    base = settings.SITE_URL
    slug = action.campaign.slug
    sent = 0
    for supporter in recipients.filter(pk__in=supporter_ids).iterator():
        with translation.override(supporter.language):
            context = _batch_email_context(action, supporter, base, slug)
        sent += email_send_once(
            key=f"action-{kind}-sent:{action_id}:{supporter.pk}",
            memory_seconds=EMAIL_SENT_MEMORY_SECONDS,
            to=supporter.email,
            template=template,
            context=context,
            language=supporter.language,
        )
    return sent


def _batch_email_context(action: Action, supporter: Supporter, base: str, slug: str) -> dict:
    """An advocates-first or event-reminder email's context, in the active language."""
    from actions.content import (
        event_location_line,
        event_when_display,
        local_datetime_display,
    )

    action_url = base + reverse("actions:detail", kwargs={"slug": slug, "pk": action.pk})
    context = {
        "name": supporter.name,
        "action_title": action.title,
        "campaign_title": action.campaign.title,
        "action_url": action_url,
        "opens_to_everyone": (
            local_datetime_display(action.starts_at, action.campaign.tz) if action.starts_at else ""
        ),
        "when": event_when_display(action),
        "where": event_location_line(action),
        "ics_url": base + reverse("actions:ics", kwargs={"slug": slug, "pk": action.pk}),
        "unsubscribe_url": base
        + reverse(
            "supporters:unsubscribe", kwargs={"slug": slug, "token": supporter.confirm_token}
        ),
    }
    return context
