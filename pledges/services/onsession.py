"""Paying with the supporter present: finishing 3-D Secure, or paying with a new card.

Both pages end in `attempt_record`, the same function the settlement task uses, and both re-read
the PaymentIntent from Stripe instead of trusting the browser: the page only says "I'm done".
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from pledges import gateway
from pledges.gateway import ChargeOutcome
from pledges.models import AWAITING_SUPPORTER, Pledge
from pledges.services.attempts import (
    IntentStillOpen,
    attempt_open,
    attempt_record,
    pledge_intent_close,
)
from pledges.services.charging import LEASE, charge_attempt_run, decision_time
from pledges.services.transitions import pledge_log, pledge_transition

S = Pledge.Status


class PaymentPageError(Exception):
    """Something the supporter is told in a sentence on the page."""


NEW_CARD_PURPOSE = "settlement_new_card"
NEW_CARD_SETUP_CODE = "new_card_setup"
# Give the page's own POST a head start; look at the few latest cards the page offered.
NEW_CARD_CHECK_AFTER = dt.timedelta(minutes=5)
NEW_CARD_CHECK_LATEST = 3


PAYMENT_CHANGED = (
    "Your payment changed in another window while you were entering this card, so we have not "
    "charged it. Please reload this page to see where your payment stands."
)


def pledge_payable_on_session(pledge: Pledge, *, now: dt.datetime | None = None) -> bool:
    """The supporter may still pay: asked to act, and the grace period is not over."""
    now = now or timezone.now()
    return pledge.status in AWAITING_SUPPORTER and (
        pledge.grace_ends_at is None or pledge.grace_ends_at > now
    )


@dataclasses.dataclass(frozen=True)
class ConfirmStep:
    client_secret: str = ""
    status: str = ""


def pledge_confirm_prepare(*, pledge: Pledge) -> ConfirmStep:
    """What the confirm page needs: the PaymentIntent's client secret, re-read from Stripe. If
    the intent already succeeded (a second tab, a late webhook), record it and say so."""
    if not pledge_payable_on_session(pledge) or pledge.status != S.ACTION_REQUIRED:
        return ConfirmStep(status=pledge.status)
    result = gateway.payment_intent_retrieve(pledge.stripe_payment_intent_id)
    if result.outcome != ChargeOutcome.REQUIRES_ACTION:
        return ConfirmStep(status=_record_for_intent(pledge, result))
    return ConfirmStep(client_secret=result.client_secret, status=pledge.status)


def pledge_confirm_complete(*, pledge: Pledge, payment_intent_id: str) -> str:
    """The browser says 3-D Secure is finished. Re-read the intent and record what Stripe says.
    Returns the pledge's status afterwards."""
    if payment_intent_id != pledge.stripe_payment_intent_id:
        raise PaymentPageError("This payment link is out of date. Please use the latest email.")
    result = gateway.payment_intent_retrieve(payment_intent_id)
    return _record_for_intent(pledge, result)


def _record_for_intent(pledge: Pledge, result: gateway.ChargeResult) -> str:
    attempt = pledge.attempts.filter(stripe_payment_intent_id=result.payment_intent_id).first()
    if attempt is None:
        raise PaymentPageError("We could not find this payment. Please contact us.")
    if result.outcome == ChargeOutcome.REQUIRES_ACTION:
        return pledge.status
    return attempt_record(attempt_id=attempt.pk, result=result, source="supporter")


def pledge_new_card_prepare(*, pledge: Pledge) -> gateway.SetupIntentInfo:
    """A SetupIntent for the new-card page (nothing is charged by saving the card)."""
    if not pledge_payable_on_session(pledge):
        raise PaymentPageError("This pledge cannot be paid here any more.")
    info = gateway.setup_intent_create(
        customer_id=pledge.stripe_customer_id,
        metadata={"pledge_id": str(pledge.pk), "purpose": NEW_CARD_PURPOSE},
    )
    # Remembered so that a card saved here whose page POST never arrives is still found and
    # charged (the reconciler's `pledge_new_card_check`, or the setup_intent webhook).
    pledge_log(
        pledge=pledge,
        note="New-card page opened.",
        actor_label="supporter",
        stripe_object_id=info.id,
        code=NEW_CARD_SETUP_CODE,
    )
    return info


def pledge_pay_with_new_card(
    *, pledge: Pledge, setup_intent_id: str, source: str = "supporter"
) -> str:
    """The supporter saved a new card on the page: charge it now, on-session, as a NEW attempt
    with the next deterministic key. Returns the pledge's status afterwards (PAID,
    ACTION_REQUIRED when the bank wants 3-D Secure, NEEDS_NEW_METHOD when declined).

    `source` is "supporter" from the page; "reconciler" or "webhook" when the page's POST never
    arrived (then a 3-D Secure request is emailed, since nobody is on the page)."""
    info = gateway.setup_intent_retrieve(setup_intent_id)
    if (
        info.metadata.get("pledge_id") != str(pledge.pk)
        or info.customer_id != pledge.stripe_customer_id
        # Without the supporter's page, only a card saved on the new-card page is charged
        # (never, say, the pledge's first card finishing late).
        or (source != "supporter" and info.metadata.get("purpose") != NEW_CARD_PURPOSE)
    ):
        raise PaymentPageError("That card was saved for another payment. Please try again.")
    if info.status != "succeeded":
        raise PaymentPageError(info.error_message or "Your bank has not confirmed the card yet.")
    pledge.refresh_from_db()
    if not pledge_payable_on_session(pledge):
        return pledge.status  # paid in another tab, or the window closed meanwhile
    # A 3-D Secure request shown earlier could still be confirmed from a tab left open (even
    # after a failed try, with another card): close it before charging anything new.
    try:
        closed = pledge_intent_close(
            pledge=pledge, note="Closed: the supporter paid with a new card instead."
        )
    except IntentStillOpen as exc:
        raise PaymentPageError(
            "We could not close your earlier payment request just now. "
            "Please try again in a minute; you have not been charged twice."
        ) from exc
    if closed == "paid":
        pledge.refresh_from_db()
        return pledge.status
    card = gateway.payment_method_attach(
        payment_method_id=info.payment_method_id, customer_id=pledge.stripe_customer_id
    )
    now = timezone.now()
    with transaction.atomic():
        locked = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if not pledge_payable_on_session(locked, now=now):
            return locked.status
        # What to close was decided on the unlocked read above. If another tab has charged
        # meanwhile (a new attempt, perhaps a new 3-D Secure request it is showing), that
        # request is still open: charging this card too could take the money twice.
        if (
            locked.attempt_count != pledge.attempt_count
            or locked.stripe_payment_intent_id != pledge.stripe_payment_intent_id
        ):
            raise PaymentPageError(PAYMENT_CHANGED)
        number = locked.attempt_count + 1
        pledge_transition(
            pledge=locked,
            to=S.CHARGING,
            expected=locked.status,
            updates={
                "attempt_count": number,
                "lease_expires_at": now + LEASE,
                "stripe_payment_method_id": info.payment_method_id,
                "card_brand": card.brand[:20],
                "card_last4": card.last4[:4],
                "card_exp_month": card.exp_month,
                "card_exp_year": card.exp_year,
            },
            actor_label=source,
            note=f"New card ({card.brand} ending {card.last4}); attempt {number} on-session.",
            stripe_object_id=info.id,
        )
        attempt = attempt_open(pledge=locked, number=number, on_session=True)
    return charge_attempt_run(pledge=locked, attempt=attempt, source=source).status


def pledges_new_card_waiting(*, now: dt.datetime | None = None) -> QuerySet[Pledge]:
    """Pledges still waiting for their supporter whose new-card page saved a card at Stripe at
    least NEW_CARD_CHECK_AFTER ago: the page's POST may never have arrived (a closed tab, a lost
    connection). The reconciler asks Stripe about each, at most every half hour, so waiting
    supporters never starve charges."""
    at = decision_time(now)
    return Pledge.objects.filter(
        status__in=AWAITING_SUPPORTER,
        events__code=NEW_CARD_SETUP_CODE,
        events__created_at__lte=at - NEW_CARD_CHECK_AFTER,
    ).distinct()


def pledge_new_card_check(*, pledge_id: int, now: dt.datetime | None = None) -> bool:
    """Ask Stripe about the page's latest SetupIntents of one waiting pledge and charge a
    succeeded one as the page would have (the same service, so the same claim decides).
    True if it was charged."""
    pledge = pledges_new_card_waiting(now=now).filter(pk=pledge_id).first()
    if pledge is None or not pledge_payable_on_session(pledge, now=decision_time(now)):
        return False
    last_attempt = pledge.attempts.order_by("-number").values_list("created_at", flat=True)
    since = last_attempt.first()
    pages = pledge.events.filter(code=NEW_CARD_SETUP_CODE)
    if since is not None:
        pages = pages.filter(created_at__gt=since)
    for setup_intent_id in pages.order_by("-pk").values_list("stripe_object_id", flat=True)[
        :NEW_CARD_CHECK_LATEST
    ]:
        try:
            info = gateway.setup_intent_retrieve(setup_intent_id)
            if info.status != "succeeded":
                continue
            pledge_pay_with_new_card(
                pledge=pledge, setup_intent_id=setup_intent_id, source="reconciler"
            )
        except (PaymentPageError, gateway.GatewayError, TimeoutError):
            continue
        return True
    return False
