"""Staff review of a pledge Stripe rejected (NEEDS_REVIEW): charge it again, or write it off."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import platform_staff_required
from pledges import gateway
from pledges.gateway import (
    ChargeOutcome,
    GatewayError,
)
from pledges.models import PaymentAttempt, Pledge
from pledges.services.attempts import SettlementError, attempt_record, intent_attempt
from pledges.services.charging import (
    ChargeReport,
    SettlementHalted,
    charge_attempt_run,
    claim_new_attempt,
    outside_transactions,
    settlement_is_halted,
)
from pledges.services.notify import (
    pledge_notify,
)
from pledges.services.transitions import (
    pledge_transition,
)

log = logging.getLogger(__name__)

S = Pledge.Status
C = Campaign.Status
Outcome = PaymentAttempt.Outcome


def pledge_review_retry(*, pledge: Pledge, actor) -> ChargeReport:
    """Staff fixed what Stripe rejected (NEEDS_REVIEW): charge again now, as a new attempt with
    the next key — after asking Stripe that no earlier attempt of this pledge took the money."""
    platform_staff_required(actor=actor, doing="charge a pledge again")
    outside_transactions()
    pledge.refresh_from_db()
    if pledge.status != S.NEEDS_REVIEW:
        raise SettlementError(
            f"Pledge R-{pledge.pk} is {pledge.get_status_display().lower()}, not awaiting review."
        )
    if settlement_is_halted():
        raise SettlementError("Charging is stopped: Stripe refused our credentials.")
    _review_check_stripe(pledge=pledge, actor=actor)
    now = timezone.now()
    attempt = claim_new_attempt(
        pledge, now=now, actor=actor, actor_label="staff", note="Charge retried after review."
    )
    if attempt is None:
        raise SettlementError(f"Pledge R-{pledge.pk} was just changed by somebody else.")
    try:
        return charge_attempt_run(pledge=pledge, attempt=attempt, now=now)
    except SettlementHalted as exc:
        raise SettlementError(f"Stripe refused our credentials: {exc}") from exc


def _review_check_stripe(*, pledge: Pledge, actor) -> None:
    """Before a new key is used for a pledge in review, ask Stripe what it holds for it (by our
    metadata): an answer read as "rejected" may have hidden a charge that went through (a
    request still in flight under the same key, a lost response). A succeeded intent is
    recorded as the payment and the retry refused; one still processing refuses it too."""
    try:
        found = gateway.payment_intents_for_pledge(pledge.pk, customer_id=pledge.stripe_customer_id)
    except GatewayError as exc:
        raise SettlementError(
            f"Could not check Stripe for earlier payments of pledge R-{pledge.pk} ({exc}). "
            "Nothing was charged; try again in a minute."
        ) from exc
    paid = next((r for r in found if r.outcome == ChargeOutcome.SUCCEEDED), None)
    if paid is not None:
        owner = intent_attempt(pledge_id=pledge.pk, result=paid)
        if owner is None:
            raise SettlementError(
                f"Not charged again: Stripe already holds a payment ({paid.payment_intent_id}) "
                f"for pledge R-{pledge.pk} that matches none of its attempts. Check it in the "
                "Stripe dashboard."
            )
        attempt_record(attempt_id=owner.pk, result=paid, source="staff", actor=actor)
        raise SettlementError(
            f"Not charged again: Stripe already took this payment ({paid.payment_intent_id}, "
            f"attempt {owner.number}); pledge R-{pledge.pk} is now recorded as paid."
        )
    if any(r.outcome == ChargeOutcome.PROCESSING for r in found):
        raise SettlementError(
            f"Not charged again: Stripe is still processing an earlier payment for pledge "
            f"R-{pledge.pk}. Try again later."
        )


def pledge_review_write_off(*, pledge: Pledge, actor, reason: str) -> None:
    """Staff decide a pledge in review will not be collected: NEEDS_REVIEW → UNPAID."""
    platform_staff_required(actor=actor, doing="write a pledge off")
    reason = (reason or "").strip()
    if not reason:
        raise SettlementError("Give a reason for the record.")
    with transaction.atomic():
        won = pledge_transition(
            pledge=pledge,
            to=S.UNPAID,
            expected=S.NEEDS_REVIEW,
            actor=actor,
            actor_label="staff",
            note=f"Not collected after review: {reason}",
        )
        if not won:
            raise SettlementError(f"Pledge R-{pledge.pk} is no longer awaiting review.")
        pledge_notify(pledge=pledge, template="settlement_unpaid")
