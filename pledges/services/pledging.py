"""The supporter's side of a pledge: start it, save a card, change it, cancel it.

A pledge becomes ACTIVE only when Stripe itself says the SetupIntent succeeded: the browser's
return and the `setup_intent.succeeded` webhook both call `pledge_activate_from_setup_intent`,
which re-reads the intent from Stripe, so whichever arrives first wins and the other is a no-op.
Nothing here charges a card.

Stripe is always called outside `transaction.atomic()`. Locks are taken in the project's one
order (README, "Lock order") — the pledge row, then its campaign's row — like every settlement,
refund and webhook path, so none of them can deadlock with another. The freeze locks only the
campaign; an activation waits for it (or it for the activation) on the campaign row.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from api.events import event_emit
from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_is_open
from campaigns.templatetags.rallyround import money
from pledges import gateway
from pledges.models import LIVE_STATUSES, OPEN_STATUSES, Pledge, PledgeEvent
from pledges.services.notify import pledge_card_text, pledge_email_context
from pledges.services.transitions import pledge_log, pledge_transition
from supporters.emails import email_enqueue
from supporters.models import Supporter, User
from supporters.services import supporter_confirm, supporter_set_tier, supporter_upsert

logger = logging.getLogger(__name__)

S = Pledge.Status
# A pledge that still holds the supporter's place on the campaign (the unique constraint's view).
# SetupIntent states in which the browser may still confirm it.
SETUP_USABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


class PledgeError(Exception):
    """Something the supporter must be told (a sentence), with nothing changed."""


class PledgeFrozen(PledgeError):
    """The campaign's deadline passed or it is no longer live: pledges cannot move."""


def _frozen_message(campaign: Campaign) -> str:
    if timezone.now() >= campaign.deadline:
        return (
            f"This campaign's deadline passed on {campaign.deadline_display}. "
            "Pledges can no longer be made, changed or canceled."
        )
    return "This campaign is closed. Pledges can no longer be made, changed or canceled."


def _lock_open_campaign(campaign_id: int) -> Campaign:
    """Lock the campaign row and check it still takes pledges (inside a transaction)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if not campaign_is_open(campaign):
        raise PledgeFrozen(_frozen_message(campaign))
    return campaign


# --- the inline sign-up -----------------------------------------------------------------------
UNPROVEN_EMAIL = gettext_lazy(
    "Please confirm your email address first: open the link we emailed you, then come back "
    "to pledge. Nothing has been saved or charged."
)


def pledge_account_create(*, email: str, password: str, name: str) -> User:
    """Create the account a pledge needs, from the pledge page's inline sign-up.

    The address is recorded with allauth as primary and not yet verified. Nobody is signed in
    with it and no pledge is tied to it until the owner of the mailbox opens the emailed link
    (see `pledge_start`, which refuses an unproven account).
    """
    from allauth.account.models import EmailAddress

    first, _, last = (name or "").strip().partition(" ")
    with transaction.atomic():
        user = User.objects.create_user(
            email=email, password=password, first_name=first[:150], last_name=last[:150]
        )
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    return user


# --- Stripe Customer --------------------------------------------------------------------------
def stripe_customer_ensure(*, user: User) -> str:
    """The user's Stripe Customer id, created the first time they save a card.

    Called outside any transaction. The idempotency key makes two concurrent first pledges ask
    Stripe for the same customer; the conditional UPDATE keeps whichever id was stored first.
    """
    user.refresh_from_db(fields=["stripe_customer_id"])
    if user.stripe_customer_id:
        return user.stripe_customer_id
    customer_id = gateway.customer_create(
        email=user.email,
        name=user.get_full_name() or user.display_name,
        # The address is in the key so a recycled user id (a reset test database) never
        # replays another person's customer.
        idempotency_key=f"customer-{user.pk}-{hashlib.sha256(user.email.encode()).hexdigest()[:16]}",
    )
    User.objects.filter(pk=user.pk, stripe_customer_id="").update(stripe_customer_id=customer_id)
    user.refresh_from_db(fields=["stripe_customer_id"])
    return user.stripe_customer_id


# --- starting a pledge ------------------------------------------------------------------------
class StartOutcome(enum.StrEnum):
    NEEDS_CARD = "needs_card"  # go to the card step
    CHANGED = "changed"  # an active pledge's amount or tier changed; no card needed
    UNCHANGED = "unchanged"  # a replayed form, or the same amount and tier again


@dataclass(frozen=True)
class PledgeStart:
    pledge: Pledge
    outcome: StartOutcome


def pledge_start(
    *,
    user: User,
    campaign: Campaign,
    tier: Tier,
    amount_cents: int,
    form_key: str,
    name: str,
    postal_code: str,
    consent_updates: bool,
    consent_updates_text: str,
    consent_org: bool,
    consent_org_text: str,
    public_listing: bool = False,
    display_name: str = "",
    tracking: dict[str, str] | None = None,
) -> PledgeStart:
    """Handle a submitted pledge form: the supporter, their Stripe Customer, and the pledge.

    A replayed or double-submitted form (same `form_key`) finds the pledge it already made. A
    supporter who already has a live pledge on this campaign changes it instead of making a
    second one (the database's unique constraint backs this up). A new pledge waits in
    PENDING_SETUP, uncounted, until its card is saved.
    """
    from supporters.selectors import supporters_for_user, user_verified_emails

    # Identity is proven, never typed: an account that has not proven its address is tied to no
    # supporter row and no pledge (its address may be someone else's).
    verified = user_verified_emails(user=user)
    if user.email.lower() not in verified:
        raise PledgeError(str(UNPROVEN_EMAIL))
    existing = Pledge.objects.filter(form_key=form_key).select_related("supporter").first()
    if existing is not None:
        if existing.supporter.email not in verified:
            raise PledgeError("This form was already used. Please reload the page and try again.")
        return PledgeStart(
            pledge=existing,
            outcome=StartOutcome.NEEDS_CARD
            if existing.status == S.PENDING_SETUP
            else StartOutcome.UNCHANGED,
        )
    if not campaign_is_open(campaign):
        raise PledgeFrozen(_frozen_message(campaign))

    # The person's row on this campaign, even if their account email changed since they joined.
    known = supporters_for_user(user=user).filter(campaign=campaign).only("email").first()
    supporter, _ = supporter_upsert(
        campaign=campaign,
        email=known.email if known else user.email,
        name=name,
        user=user,
        postal_code=postal_code,
        consent_updates=consent_updates,
        consent_updates_text=consent_updates_text,
        consent_org=consent_org,
        consent_org_text=consent_org_text,
        tracking=tracking,
    )
    if tier.kind == Tier.Kind.CHAMPION:
        Supporter.objects.filter(pk=supporter.pk).update(
            public_listing=public_listing,
            display_name=(display_name or name).strip()[:120] if public_listing else "",
            updated_at=timezone.now(),
        )

    live = Pledge.objects.filter(campaign=campaign, supporter=supporter, status__in=LIVE_STATUSES)
    current = live.first()
    if current is not None:
        return _pledge_start_change(
            pledge=current, tier=tier, amount_cents=amount_cents, form_key=form_key, user=user
        )

    customer_id = stripe_customer_ensure(user=user)
    try:
        with transaction.atomic():
            pledge = Pledge.objects.create(
                campaign=campaign,
                supporter=supporter,
                tier=tier.kind,
                amount_cents=amount_cents,
                currency=campaign.currency,
                form_key=form_key,
                stripe_customer_id=customer_id,
            )
            pledge_log(
                pledge=pledge,
                note=(
                    f"Pledge started: {money(amount_cents, campaign.currency)} as {tier.name}; "
                    "waiting for card."
                ),
                kind=PledgeEvent.Kind.PLEDGE_CHANGED,
                actor=user,
                amount_cents=amount_cents,
            )
    except IntegrityError:
        # A double click or a second tab created it a moment ago: use that pledge.
        existing = Pledge.objects.filter(form_key=form_key).first() or live.first()
        if existing is None:
            raise
        if existing.form_key == form_key or existing.status != S.PENDING_SETUP:
            return PledgeStart(
                pledge=existing,
                outcome=StartOutcome.NEEDS_CARD
                if existing.status == S.PENDING_SETUP
                else StartOutcome.UNCHANGED,
            )
        return _pledge_start_change(
            pledge=existing, tier=tier, amount_cents=amount_cents, form_key=form_key, user=user
        )
    pledge_setup_intent_ensure(pledge=pledge)
    return PledgeStart(pledge=pledge, outcome=StartOutcome.NEEDS_CARD)


def _pledge_start_change(
    *, pledge: Pledge, tier: Tier, amount_cents: int, form_key: str, user: User
) -> PledgeStart:
    changed = pledge_change(
        pledge=pledge, tier=tier.kind, amount_cents=amount_cents, form_key=form_key, actor=user
    )
    if pledge.status == S.PENDING_SETUP:
        return PledgeStart(pledge=pledge, outcome=StartOutcome.NEEDS_CARD)
    return PledgeStart(
        pledge=pledge, outcome=StartOutcome.CHANGED if changed else StartOutcome.UNCHANGED
    )


# --- the card step ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CardStep:
    client_secret: str = ""
    setup_intent_id: str = ""
    # Set when Stripe already holds a saved card for this pledge (a reloaded page after success).
    already_done: bool = False
    last_error: str = ""


def pledge_setup_intent_ensure(*, pledge: Pledge) -> CardStep:
    """A SetupIntent the browser can confirm for this pledge, reusing the current one if Stripe
    still accepts it, else creating a new one (after a decline localstripe cancels the intent;
    for a card change on an active pledge the old intent has already succeeded).

    If the pledge is still waiting and its intent turns out to have succeeded (the supporter
    reloaded after saving the card), it is activated now instead.
    """
    if not campaign_is_open(pledge.campaign):
        raise PledgeFrozen(_frozen_message(pledge.campaign))
    if pledge.status not in OPEN_STATUSES:
        raise PledgeError("This pledge can no longer take a new card here.")
    last_error = ""
    current_id = pledge.stripe_setup_intent_id
    if current_id:
        info = gateway.setup_intent_retrieve(current_id)
        last_error = info.error_message
        if last_error or info.status == "canceled":
            _note_setup_failure(pledge=pledge, info=info, actor_label="card step")
        if info.status in SETUP_USABLE and info.customer_id == pledge.stripe_customer_id:
            return CardStep(
                client_secret=info.client_secret, setup_intent_id=info.id, last_error=last_error
            )
        if info.status == "succeeded" and pledge.status == S.PENDING_SETUP:
            result = pledge_activate_from_setup_intent(
                setup_intent_id=info.id, actor_label="card step"
            )
            if result.outcome in (ActivationOutcome.ACTIVATED, ActivationOutcome.ALREADY_DONE):
                return CardStep(setup_intent_id=info.id, already_done=True)
    if not pledge.stripe_customer_id:
        # Pledges are made by account holders: the supporter row of a pledge has its user.
        customer_id = stripe_customer_ensure(user=cast(User, pledge.supporter.user))
        Pledge.objects.filter(pk=pledge.pk, stripe_customer_id="").update(
            stripe_customer_id=customer_id
        )
        pledge.refresh_from_db()
    info = gateway.setup_intent_create(
        customer_id=pledge.stripe_customer_id,
        metadata={"pledge_id": str(pledge.pk), "campaign_id": str(pledge.campaign_id)},
    )
    # Two tabs may race here; the intent stored last is the one a card change must match,
    # and activation accepts any intent Stripe says belongs to this pledge.
    Pledge.objects.filter(pk=pledge.pk).update(
        stripe_setup_intent_id=info.id, updated_at=timezone.now()
    )
    pledge.stripe_setup_intent_id = info.id
    return CardStep(
        client_secret=info.client_secret, setup_intent_id=info.id, last_error=last_error
    )


# --- activation -------------------------------------------------------------------------------
class ActivationOutcome(enum.StrEnum):
    ACTIVATED = "activated"  # PENDING_SETUP → ACTIVE by this call
    CARD_CHANGED = "card_changed"  # an active pledge now uses the newly saved card
    ALREADY_DONE = "already_done"  # the other path (browser or webhook) got there first
    NOT_SUCCEEDED = "not_succeeded"  # Stripe does not say the card was saved
    FROZEN = "frozen"  # saved after the campaign closed: not counted
    IGNORED = "ignored"  # not ours, or superseded by a newer card


@dataclass(frozen=True)
class Activation:
    outcome: ActivationOutcome
    pledge: Pledge | None = None
    message: str = ""


def pledge_activate_from_setup_intent(
    *, setup_intent_id: str, actor=None, actor_label: str = ""
) -> Activation:
    """Make a pledge ACTIVE (or swap an active pledge's card) once Stripe says the card is saved.

    Re-reads the SetupIntent from Stripe and never trusts the caller's word for its status.
    Idempotent and forward-only: the browser return and the webhook may both call it, in any
    order, any number of times; the pledge is counted once.
    """
    info = gateway.setup_intent_retrieve(setup_intent_id)
    pledge = _pledge_for_setup_intent(info)
    if pledge is None:
        logger.warning("setup intent %s matches no pledge", setup_intent_id)
        return Activation(outcome=ActivationOutcome.IGNORED, message="no matching pledge")
    if info.status != "succeeded":
        return Activation(
            outcome=ActivationOutcome.NOT_SUCCEEDED,
            pledge=pledge,
            message=info.error_message or "Your bank has not confirmed the card yet.",
        )
    if pledge.status == S.ACTIVE and pledge.stripe_payment_method_id == info.payment_method_id:
        return Activation(outcome=ActivationOutcome.ALREADY_DONE, pledge=pledge)
    if pledge.status == S.ACTIVE and info.id != pledge.stripe_setup_intent_id:
        # An older intent finishing late must not put back a card the supporter replaced.
        return Activation(outcome=ActivationOutcome.IGNORED, pledge=pledge, message="superseded")
    if pledge.status not in OPEN_STATUSES:
        return Activation(outcome=ActivationOutcome.ALREADY_DONE, pledge=pledge)

    card = gateway.payment_method_attach(
        payment_method_id=info.payment_method_id, customer_id=info.customer_id
    )
    card_fields = {
        "stripe_payment_method_id": info.payment_method_id,
        "card_brand": card.brand[:20],
        "card_last4": card.last4[:4],
        "card_exp_month": card.exp_month,
        "card_exp_year": card.exp_year,
        "stripe_setup_intent_id": info.id,
    }
    with transaction.atomic():
        locked = Pledge.objects.select_for_update().get(pk=pledge.pk)  # pledge, then campaign
        try:
            _lock_open_campaign(pledge.campaign_id)
        except PledgeFrozen as exc:
            return Activation(outcome=ActivationOutcome.FROZEN, pledge=pledge, message=str(exc))
        if locked.status == S.PENDING_SETUP:
            pledge_transition(
                pledge=locked,
                to=S.ACTIVE,
                expected=S.PENDING_SETUP,
                actor=actor,
                actor_label=actor_label,
                note=f"Card saved ({card.brand.title()} ending {card.last4}).",
                stripe_object_id=info.id,
                amount_cents=locked.amount_cents,
                updates=card_fields,
            )
            supporter = locked.supporter
            supporter_set_tier(supporter=supporter, tier=locked.tier)
            supporter_confirm(supporter=supporter)
            _email(locked, "pledge_confirmed")
            return Activation(outcome=ActivationOutcome.ACTIVATED, pledge=locked)
        if locked.status == S.ACTIVE and locked.stripe_payment_method_id != info.payment_method_id:
            if info.id != locked.stripe_setup_intent_id:
                return Activation(outcome=ActivationOutcome.IGNORED, pledge=locked)
            replaced = locked.stripe_payment_method_id
            Pledge.objects.filter(pk=locked.pk).update(**card_fields, updated_at=timezone.now())
            locked.refresh_from_db()
            pledge_log(
                pledge=locked,
                note=f"Card changed to {card.brand.title()} ending {card.last4}.",
                kind=PledgeEvent.Kind.CARD,
                actor=actor,
                actor_label=actor_label,
                stripe_object_id=info.id,
            )
            _email(
                locked,
                "pledge_changed",
                change=lambda: (
                    gettext("Your card is now %(card)s.") % {"card": pledge_card_text(locked)}
                ),
            )
            changed = Activation(outcome=ActivationOutcome.CARD_CHANGED, pledge=locked)
        else:
            return Activation(outcome=ActivationOutcome.ALREADY_DONE, pledge=locked)
    _card_forget(payment_method_id=replaced)
    return changed


def _pledge_for_setup_intent(info: gateway.SetupIntentInfo) -> Pledge | None:
    """The pledge an intent belongs to, by Stripe's own metadata and the customer it names."""
    pledge_id = info.metadata.get("pledge_id", "")
    pledge = None
    if pledge_id.isdigit():
        pledge = Pledge.objects.filter(pk=int(pledge_id)).select_related("campaign").first()
    if pledge is None:
        pledge = (
            Pledge.objects.filter(stripe_setup_intent_id=info.id).select_related("campaign").first()
        )
    if pledge is None or (info.customer_id and info.customer_id != pledge.stripe_customer_id):
        return None
    return pledge


def pledge_note_setup_failure(*, setup_intent_id: str, actor_label: str = "") -> Pledge | None:
    """Record in the pledge's history that the bank refused the card at setup (no state
    change: the pledge stays PENDING_SETUP and the supporter may try another card)."""
    info = gateway.setup_intent_retrieve(setup_intent_id)
    pledge = _pledge_for_setup_intent(info)
    if pledge is not None and (info.error_message or info.status == "canceled"):
        _note_setup_failure(pledge=pledge, info=info, actor_label=actor_label)
    return pledge


def _note_setup_failure(*, pledge: Pledge, info: gateway.SetupIntentInfo, actor_label: str):
    """One history line per refused intent, whoever notices it first (webhook or card step)."""
    if pledge.events.filter(code="setup_failed", stripe_object_id=info.id).exists():
        return
    # Stripe says why in last_setup_error; localstripe only cancels the intent.
    reason = info.error_message or "the bank refused the card or authentication did not complete."
    pledge_log(
        pledge=pledge,
        note=f"Card not saved: {reason}",
        kind=PledgeEvent.Kind.CARD,
        actor_label=actor_label,
        stripe_object_id=info.id,
        code="setup_failed",
    )


# The browser return and the webhook can both go missing (a tab closed right after Stripe.js
# saved the card; localstripe sends no setup_intent events). A sweep every few minutes asks
# Stripe about recent waiting pledges; after this window a supporter who comes back to the card
# step is activated there (pledge_setup_intent_ensure).
SETUP_SWEEP_AFTER = dt.timedelta(minutes=5)
SETUP_SWEEP_UNTIL = dt.timedelta(hours=2)


def pledges_setup_reconcile(*, limit: int = 200) -> dict[str, int]:
    """Activate waiting pledges whose card Stripe says was saved, when neither the browser
    return nor the webhook told us. Returns counts by outcome. Safe to run twice at once
    (activation is idempotent)."""
    now = timezone.now()
    intent_ids = list(
        Pledge.objects.filter(
            status=S.PENDING_SETUP,
            campaign__in=Campaign.objects.open(now),
            updated_at__lte=now - SETUP_SWEEP_AFTER,
            updated_at__gte=now - SETUP_SWEEP_UNTIL,
        )
        .exclude(stripe_setup_intent_id="")
        .order_by("updated_at")
        .values_list("stripe_setup_intent_id", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for intent_id in intent_ids:
        try:
            result = pledge_activate_from_setup_intent(
                setup_intent_id=intent_id, actor_label="setup reconciler"
            )
            outcome = str(result.outcome)
        except gateway.GatewayAuthError:
            logger.error("setup reconciler stopped: Stripe refused our credentials")
            counts["halted"] = 1
            break
        except TimeoutError:
            # No Stripe rate-limit slot within the worker's wait: the rest wait for the next run.
            logger.warning("setup reconciler stopped: no Stripe rate-limit slot in time")
            counts["no_slot"] = 1
            break
        except gateway.GatewayError:
            logger.warning("setup reconciler: could not read %s", intent_id, exc_info=True)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# --- change and cancel ------------------------------------------------------------------------
def pledge_change(
    *,
    pledge: Pledge,
    tier: str,
    amount_cents: int,
    form_key: str = "",
    actor=None,
) -> bool:
    """Change a live pledge's amount and tier before the deadline. Returns whether it changed.

    An ACTIVE pledge moves the campaign total by the difference in the same transaction, under
    row locks, so the total always equals the sum of counted pledges. A form already applied
    (same `form_key`) changes nothing.
    """
    with transaction.atomic():
        # Lock order: the pledge row, then its campaign's (README, "Lock order").
        locked = Pledge.objects.select_for_update().select_related("supporter").get(pk=pledge.pk)
        _lock_open_campaign(pledge.campaign_id)
        if form_key and locked.form_key == form_key:
            pledge.refresh_from_db()
            return False
        if locked.status not in OPEN_STATUSES:
            raise PledgeFrozen("This pledge can no longer be changed.")
        old_amount, old_tier = locked.amount_cents, locked.tier
        updates: dict[str, Any] = {"updated_at": timezone.now()}
        if form_key:
            updates["form_key"] = form_key
        if (old_amount, old_tier) == (amount_cents, tier):
            Pledge.objects.filter(pk=locked.pk).update(**updates)
            pledge.refresh_from_db()
            return False
        Pledge.objects.filter(pk=locked.pk).update(amount_cents=amount_cents, tier=tier, **updates)
        if locked.status == S.ACTIVE:
            Campaign.objects.filter(pk=locked.campaign_id).update(
                pledged_cents=F("pledged_cents") + (amount_cents - old_amount)
            )
        locked.refresh_from_db()
        pledge_log(
            pledge=locked,
            note=(
                f"Changed from {money(old_amount, locked.currency)} ({Tier.Kind(old_tier).label}) "
                f"to {money(amount_cents, locked.currency)} ({Tier.Kind(tier).label})."
            ),
            kind=PledgeEvent.Kind.PLEDGE_CHANGED,
            actor=actor,
            amount_cents=amount_cents,
        )
        event_emit("pledge.changed" if locked.status == S.ACTIVE else "", locked.pk)  # webhooks
        if locked.status == S.ACTIVE:
            supporter_set_tier(supporter=locked.supporter, tier=tier, allow_lower=True)
            _email(
                locked,
                "pledge_changed",
                change=lambda: (
                    gettext(
                        "Your pledge changed from %(old_amount)s as %(old_tier)s to %(amount)s as "
                        "%(tier)s."
                    )
                    % {
                        "old_amount": money(old_amount, locked.currency),
                        "old_tier": Tier.Kind(old_tier).label,
                        "amount": money(amount_cents, locked.currency),
                        "tier": Tier.Kind(tier).label,
                    }
                ),
            )
    pledge.refresh_from_db()
    return True


def pledge_cancel(*, pledge: Pledge, actor=None) -> bool:
    """Cancel a pledge before the deadline: it leaves the totals and the supporter goes back to
    Ally (they still support the campaign). Returns whether this call canceled it."""
    with transaction.atomic():
        # Lock order: the pledge row, then its campaign's (README, "Lock order").
        locked = Pledge.objects.select_for_update().select_related("supporter").get(pk=pledge.pk)
        _lock_open_campaign(pledge.campaign_id)
        if locked.status == S.CANCELED:
            pledge.refresh_from_db()
            return False
        if locked.status not in OPEN_STATUSES:
            raise PledgeFrozen("This pledge can no longer be canceled.")
        was_active = locked.status == S.ACTIVE
        pledge_transition(
            pledge=locked,
            to=S.CANCELED,
            expected=locked.status,
            actor=actor,
            note="Canceled by the supporter.",
            amount_cents=locked.amount_cents,
        )
        supporter_set_tier(supporter=locked.supporter, tier=Tier.Kind.ALLY, allow_lower=True)
        if was_active:
            _email(locked, "pledge_canceled")
    pledge.refresh_from_db()
    # Stripe is never called inside a transaction: when a caller holds one (account deletion
    # cancels inside its erasure), the card is forgotten once that commits; otherwise at once.
    payment_method_id = pledge.stripe_payment_method_id
    transaction.on_commit(lambda: _card_forget(payment_method_id=payment_method_id), robust=True)
    return True


def _card_forget(*, payment_method_id: str) -> None:
    """Detach a card no pledge uses any more (each pledge saves its own card, so a canceled or
    replaced one is nobody's). Best effort, after commit: the pledge change stands either way."""
    if not payment_method_id:
        return
    if Pledge.objects.filter(
        stripe_payment_method_id=payment_method_id, status__in=LIVE_STATUSES
    ).exists():
        return
    try:
        gateway.payment_method_detach(payment_method_id=payment_method_id)
    except gateway.GatewayError:
        logger.warning("could not detach payment method %s", payment_method_id, exc_info=True)


# --- emails -----------------------------------------------------------------------------------
def _email(pledge: Pledge, template: str, **extra) -> None:
    """Queue one of the pledge emails (sent by Celery after this transaction commits), written
    in the supporter's language: its amounts, deadline, links and `extra` (callables, so their
    sentences are translated in that language too)."""
    supporter = pledge.supporter
    context = pledge_email_context(pledge)
    with translation.override(supporter.language):
        context.update({key: value() if callable(value) else value for key, value in extra.items()})
    email_enqueue(
        to=supporter.email, template=template, context=context, language=supporter.language
    )
