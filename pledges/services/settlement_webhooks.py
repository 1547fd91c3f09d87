"""Webhook handlers for settlement events, dispatched from pledges/webhooks.py.

Each re-reads what it can from Stripe and funnels into the same recording functions as the
settlement task (`attempt_record`, `refund_apply`), so a webhook arriving before, during or
after the task's own write, or twice, changes the pledge exactly once.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum

from pledges import gateway
from pledges.models import PaymentAttempt, Pledge, Refund
from pledges.ratelimit import stripe_slot_acquire
from pledges.services.notify import staff_alert
from pledges.services.refunds import refund_apply
from pledges.services.settlement import attempt_record
from pledges.services.transitions import pledge_transition

log = logging.getLogger(__name__)
S = Pledge.Status


def _attempt_for(event: gateway.WebhookEvent) -> PaymentAttempt | None:
    """The attempt a PaymentIntent belongs to: by its id, else by the metadata we set."""
    attempt = PaymentAttempt.objects.filter(stripe_payment_intent_id=event.object_id).first()
    if attempt is not None:
        return attempt
    metadata = event.data.get("metadata") or {}
    pledge_id, number = metadata.get("pledge_id", ""), metadata.get("attempt", "")
    if pledge_id.isdigit() and number.isdigit():
        return PaymentAttempt.objects.filter(pledge_id=int(pledge_id), number=int(number)).first()
    return None


def handle_payment_intent_event(event: gateway.WebhookEvent) -> str:
    """payment_intent.succeeded / payment_intent.payment_failed: re-read the intent and record
    it on its attempt (a no-op if the settlement task already did)."""
    attempt = _attempt_for(event)
    if attempt is None:
        return "no matching attempt"
    stripe_slot_acquire()
    result = gateway.payment_intent_retrieve(event.object_id)
    if result.outcome == gateway.ChargeOutcome.PROCESSING:
        return f"processing pledge={attempt.pledge_id}"
    status = attempt_record(attempt_id=attempt.pk, result=result, source="webhook")
    return f"{result.outcome} pledge={attempt.pledge_id} now {status}"


def _pledge_for_charge(data: dict) -> Pledge | None:
    pi = data.get("payment_intent") or ""
    if isinstance(pi, dict):
        pi = pi.get("id", "")
    return Pledge.objects.filter(stripe_payment_intent_id=pi).first() if pi else None


def handle_charge_refunded(event: gateway.WebhookEvent) -> str:
    """A refund reached the card — ours (already counted, or in flight) or one made in the
    Stripe dashboard (counted now). Only the part we do not know about yet is applied."""
    pledge = _pledge_for_charge(event.data)
    if pledge is None:
        return "no matching pledge"
    refunded_at_stripe = int(event.data.get("amount_refunded") or 0)
    with transaction.atomic():
        locked = Pledge.objects.select_for_update().get(pk=pledge.pk)
        in_flight = (
            locked.refunds.filter(status=Refund.Status.PENDING).aggregate(s=Sum("amount_cents"))[
                "s"
            ]
            or 0
        )
        unknown = refunded_at_stripe - locked.refunded_cents - in_flight
        if unknown <= 0:
            return f"already counted pledge={pledge.pk}"
        refund_apply(
            pledge_id=locked.pk,
            amount_cents=unknown,
            source="webhook",
            stripe_object_id=event.object_id,
            reason="Refunded at Stripe.",
        )
    return f"refunded {unknown} pledge={pledge.pk}"


def handle_charge_dispute_created(event: gateway.WebhookEvent) -> str:
    """The supporter disputed the charge with their bank: PAID → DISPUTED, staff alerted."""
    pledge = _pledge_for_charge(event.data)
    if pledge is None:
        return "no matching pledge"
    if pledge.status != S.PAID:
        return f"pledge={pledge.pk} is {pledge.status}"
    won = pledge_transition(
        pledge=pledge,
        to=S.DISPUTED,
        expected=S.PAID,
        actor_label="webhook",
        note=f"Disputed by the cardholder ({event.data.get('reason') or 'no reason given'}).",
        stripe_object_id=event.object_id,
        code=str(event.data.get("reason") or ""),
        amount_cents=int(event.data.get("amount") or 0) or None,
    )
    if won:
        staff_alert(
            subject=f"Pledge #{pledge.pk} disputed",
            body=f"Dispute {event.object_id} on {pledge.stripe_payment_intent_id}: "
            f"{event.data.get('reason')}. Respond in the Stripe dashboard.",
        )
    return f"disputed pledge={pledge.pk}" if won else f"unchanged pledge={pledge.pk}"


def handle_charge_dispute_closed(event: gateway.WebhookEvent) -> str:
    """The bank closed the dispute. `lost`: the money went back to the cardholder (refund
    counted, pledge REFUNDED when nothing is left). `won` (the payment stands) and
    `warning_closed` (an inquiry that never became a chargeback): DISPUTED → PAID, the money
    untouched. Any other status is not a closing one: logged, nothing changes."""
    pledge = _pledge_for_charge(event.data)
    if pledge is None or pledge.status != S.DISPUTED:
        return "nothing to do"
    outcome = str(event.data.get("status") or "")
    if outcome in ("won", "warning_closed"):
        pledge_transition(
            pledge=pledge,
            to=S.PAID,
            expected=S.DISPUTED,
            actor_label="webhook",
            note=(
                "Dispute won; the payment stands."
                if outcome == "won"
                else "The bank's inquiry closed without a chargeback; the payment stands."
            ),
            stripe_object_id=event.object_id,
            code=outcome,
        )
        return f"dispute {outcome} pledge={pledge.pk}"
    if outcome != "lost":
        log.warning(
            "dispute %s on pledge %s closed with status %r: nothing changed",
            event.object_id,
            pledge.pk,
            outcome,
        )
        return f"dispute {outcome or 'without status'} pledge={pledge.pk}: nothing to do"
    with transaction.atomic():
        refund_apply(
            pledge_id=pledge.pk,
            amount_cents=int(event.data.get("amount") or pledge.paid_cents),
            source="webhook",
            stripe_object_id=event.object_id,
            reason="Dispute lost: the bank returned the payment to the cardholder.",
        )
    return f"dispute lost pledge={pledge.pk}"


def handle_payment_intent_succeeded(event: gateway.WebhookEvent) -> str:
    """A charge went through (off-session, or the supporter finished 3-D Secure)."""
    return handle_payment_intent_event(event)


def handle_payment_intent_payment_failed(event: gateway.WebhookEvent) -> str:
    """A charge was declined or 3-D Secure failed."""
    return handle_payment_intent_event(event)


SETTLEMENT_WEBHOOK_HANDLERS = {
    "payment_intent.succeeded": handle_payment_intent_succeeded,
    "payment_intent.payment_failed": handle_payment_intent_payment_failed,
    "charge.refunded": handle_charge_refunded,
    "charge.dispute.created": handle_charge_dispute_created,
    "charge.dispute.closed": handle_charge_dispute_closed,
}
