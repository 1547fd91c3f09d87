"""Webhook handlers for settlement events, dispatched from pledges/webhooks.py.

Each re-reads the object from Stripe (amounts, statuses and the pledge it belongs to come from
Stripe's answer, never from the payload, so a forged or stale event moves nothing) and funnels
into the same recording functions as the settlement task (`attempt_record`, `refund_apply`),
so a webhook arriving before, during or after the task's own write, or twice, changes the
pledge exactly once.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum

from campaigns.templatetags.rallyround import money
from pledges import gateway
from pledges.gateway import GatewayInvalidRequest
from pledges.models import PaymentAttempt, Pledge, Refund
from pledges.services.attempts import attempt_record
from pledges.services.notify import staff_alert
from pledges.services.refunds import refund_apply
from pledges.services.transitions import pledge_lock_with_campaign, pledge_log, pledge_transition

log = logging.getLogger(__name__)
S = Pledge.Status


def _attempt_for(result: gateway.ChargeResult) -> PaymentAttempt | None:
    """The attempt a PaymentIntent belongs to, by what Stripe says of it (never the payload):
    its id, else the metadata we set when we created it."""
    attempt = PaymentAttempt.objects.filter(
        stripe_payment_intent_id=result.payment_intent_id
    ).first()
    if attempt is not None:
        return attempt
    metadata = result.metadata or {}
    pledge_id, number = str(metadata.get("pledge_id", "")), str(metadata.get("attempt", ""))
    if pledge_id.isdigit() and number.isdigit():
        return PaymentAttempt.objects.filter(pledge_id=int(pledge_id), number=int(number)).first()
    return None


def handle_payment_intent_event(event: gateway.WebhookEvent) -> str:
    """payment_intent.succeeded / payment_intent.payment_failed: re-read the intent and record
    it on its attempt (a no-op if the settlement task already did)."""
    known = PaymentAttempt.objects.filter(stripe_payment_intent_id=event.object_id).exists()
    if not known and not (event.data.get("metadata") or {}).get("pledge_id"):
        # Not one of ours (another integration on the account): nothing to ask Stripe about.
        # The payload only ever lets us skip; what we record comes from Stripe's answer.
        return "no matching attempt"
    succeeded = event.type == "payment_intent.succeeded"
    if (
        succeeded
        and PaymentAttempt.objects.filter(
            stripe_payment_intent_id=event.object_id, outcome=PaymentAttempt.Outcome.SUCCEEDED
        ).exists()
    ):
        # The charging task already recorded it (the usual case): nothing to ask Stripe.
        return "already recorded"
    try:
        result = gateway.payment_intent_retrieve(event.object_id)
    except GatewayInvalidRequest:
        return "no such payment intent at Stripe"
    attempt = _attempt_for(result)
    if attempt is None:
        return "no matching attempt"
    if result.outcome == gateway.ChargeOutcome.PROCESSING:
        return f"processing pledge={attempt.pledge_id}"
    status = attempt_record(attempt_id=attempt.pk, result=result, source="webhook")
    return f"{result.outcome} pledge={attempt.pledge_id} now {status}"


def handle_charge_refunded(event: gateway.WebhookEvent) -> str:
    """A refund reached the card — ours (already counted, or in flight) or one made in the
    Stripe dashboard (counted now). The charge is re-read from Stripe (a payload's amount is
    never trusted), and only the part we do not know about yet, never more than was paid, is
    applied."""
    try:
        charge = gateway.charge_retrieve(event.object_id)
    except GatewayInvalidRequest:
        return "no such charge at Stripe"
    pledge = (
        Pledge.objects.filter(stripe_payment_intent_id=charge.payment_intent_id).first()
        if charge.payment_intent_id
        else None
    )
    if pledge is None:
        return "no matching pledge"
    refunded_at_stripe = min(charge.amount_refunded_cents, charge.amount_captured_cents)
    with transaction.atomic():
        locked = pledge_lock_with_campaign(pledge.pk)
        in_flight = (
            locked.refunds.filter(status=Refund.Status.PENDING).aggregate(s=Sum("amount_cents"))[
                "s"
            ]
            or 0
        )
        unknown = min(refunded_at_stripe, locked.paid_cents) - locked.refunded_cents - in_flight
        if unknown <= 0:
            return f"already counted pledge={pledge.pk}"
        refund_apply(
            pledge_id=locked.pk,
            amount_cents=unknown,
            source="webhook",
            stripe_object_id=charge.id,
            reason="Refunded at Stripe.",
        )
    return f"refunded {unknown} pledge={pledge.pk}"


# Dispute statuses (Stripe): still open, closed in our favour, closed against us.
DISPUTE_OPEN = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)
DISPUTE_KEPT = frozenset({"won", "warning_closed"})
DISPUTE_LOST_CODE = "dispute_lost"


def dispute_sync(*, dispute_id: str) -> str:
    """Bring a pledge in line with its dispute as Stripe holds it now.

    `charge.dispute.created` and `charge.dispute.closed` both land here and re-read the dispute,
    so their order, a redelivery, or a forged payload cannot matter: open → the paid pledge is
    DISPUTED (staff alerted); won / warning_closed → it is PAID again, the money untouched;
    lost → the amount the bank took back (never more than was paid) is counted as refunded
    once per dispute, and the pledge is REFUNDED if nothing is left, else PAID with the rest.
    The pledge row is locked (after its campaign's) while it is decided.
    """
    try:
        dispute = gateway.dispute_retrieve(dispute_id)
    except GatewayInvalidRequest:
        return "no such dispute at Stripe"
    pledge = (
        Pledge.objects.filter(stripe_payment_intent_id=dispute.payment_intent_id).first()
        if dispute.payment_intent_id
        else None
    )
    if pledge is None:
        return "no matching pledge"
    alert = False
    with transaction.atomic():
        locked = pledge_lock_with_campaign(pledge.pk)
        if dispute.status in DISPUTE_OPEN:
            if locked.status != S.PAID:
                return (
                    f"dispute {dispute.status} pledge={pledge.pk} is {locked.status}: nothing to do"
                )
            alert = pledge_transition(
                pledge=locked,
                to=S.DISPUTED,
                expected=S.PAID,
                actor_label="webhook",
                note=f"Disputed by the cardholder ({dispute.reason or 'no reason given'}).",
                stripe_object_id=dispute.id,
                code=dispute.reason,
                amount_cents=dispute.amount_cents or None,
            )
            outcome = f"disputed pledge={pledge.pk}"
        elif dispute.status in DISPUTE_KEPT:
            if locked.status != S.DISPUTED:
                return f"dispute {dispute.status} pledge={pledge.pk}: nothing to do"
            pledge_transition(
                pledge=locked,
                to=S.PAID,
                expected=S.DISPUTED,
                actor_label="webhook",
                note=(
                    "Dispute won; the payment stands."
                    if dispute.status == "won"
                    else "The bank's inquiry closed without a chargeback; the payment stands."
                ),
                stripe_object_id=dispute.id,
                code=dispute.status,
            )
            outcome = f"dispute {dispute.status} pledge={pledge.pk}"
        elif dispute.status == "lost":
            counted = locked.events.filter(
                code=DISPUTE_LOST_CODE, stripe_object_id=dispute.id
            ).exists()
            if counted or locked.status not in (S.PAID, S.DISPUTED):
                return f"dispute lost pledge={pledge.pk}: already counted"
            returned = min(dispute.amount_cents, locked.paid_cents - locked.refunded_cents)
            pledge_log(
                pledge=locked,
                note=f"Dispute lost: the bank returned {money(returned, locked.currency)} "
                "to the cardholder.",
                actor_label="webhook",
                stripe_object_id=dispute.id,
                code=DISPUTE_LOST_CODE,
                amount_cents=returned,
            )
            refund_apply(
                pledge_id=locked.pk,
                amount_cents=returned,
                source="webhook",
                stripe_object_id=dispute.id,
                reason="Dispute lost: the bank returned the payment to the cardholder.",
            )
            locked.refresh_from_db()
            if locked.status == S.DISPUTED:
                # Lost in part: the dispute is over and the rest of the payment stands.
                pledge_transition(
                    pledge=locked,
                    to=S.PAID,
                    expected=S.DISPUTED,
                    actor_label="webhook",
                    note=(
                        f"Dispute lost in part: {money(returned, locked.currency)} returned, "
                        f"{money(locked.paid_cents - locked.refunded_cents, locked.currency)} "
                        "stands."
                    ),
                    stripe_object_id=dispute.id,
                    code="lost",
                )
            outcome = f"dispute lost pledge={pledge.pk}"
        else:
            log.warning(
                "dispute %s on pledge %s has status %r: nothing changed",
                dispute.id,
                pledge.pk,
                dispute.status,
            )
            return f"dispute {dispute.status or 'without status'} pledge={pledge.pk}: nothing to do"
    if alert:
        staff_alert(
            subject=f"Pledge #{pledge.pk} disputed",
            body=f"Dispute {dispute.id} on {pledge.stripe_payment_intent_id}: "
            f"{dispute.reason}. Respond in the Stripe dashboard.",
        )
    return outcome


def handle_charge_dispute_created(event: gateway.WebhookEvent) -> str:
    """The supporter disputed the charge with their bank (see `dispute_sync`)."""
    return dispute_sync(dispute_id=event.object_id)


def handle_charge_dispute_closed(event: gateway.WebhookEvent) -> str:
    """The bank closed the dispute (see `dispute_sync`)."""
    return dispute_sync(dispute_id=event.object_id)


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
