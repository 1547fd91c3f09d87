"""Refunds of paid pledges, full or partial, each exactly once.

A Refund row with the deterministic key `pledge-{id}-refund-{n}` is committed before Stripe is
called; the staff form carries `n` (the refund it was about to make), so a double click or a
replayed form finds the same row and the same key instead of refunding twice. If Stripe does not
answer, the row stays PENDING and the reconciler repeats the request with the same key.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import platform_staff_required
from campaigns.templatetags.rallyround import money
from pledges import gateway
from pledges.gateway import GatewayError, GatewayInvalidRequest, GatewayTransientError
from pledges.models import REFUNDABLE, Pledge, PledgeEvent, Refund
from pledges.services.notify import pledge_notify
from pledges.services.transitions import pledge_log, pledge_transition

log = logging.getLogger(__name__)
S = Pledge.Status


class RefundError(Exception):
    """A refund that cannot be made, in a sentence for staff."""


def refund_key(pledge_id: int, number: int) -> str:
    return f"pledge-{pledge_id}-refund-{number}"


def pledge_refundable_cents(pledge: Pledge) -> int:
    """What may still be refunded: paid, less refunded, less refunds in flight."""
    in_flight = (
        pledge.refunds.filter(status=Refund.Status.PENDING).aggregate(s=Sum("amount_cents"))["s"]
        or 0
    )
    return max(0, pledge.paid_cents - pledge.refunded_cents - in_flight)


def pledge_next_refund_number(pledge: Pledge) -> int:
    return pledge.refunds.count() + 1


def pledge_refund(
    *, pledge: Pledge, amount_cents: int, actor, reason: str = "", number: int | None = None
) -> Refund:
    """Refund `amount_cents` of a paid pledge. `number` is the refund the caller's form was
    made for (pledge_next_refund_number when it was shown); repeating the call with the same
    number returns the same refund and never pays out twice."""
    platform_staff_required(actor=actor, doing="refund a pledge")
    with transaction.atomic():
        locked = Pledge.objects.select_for_update().get(pk=pledge.pk)
        expected = pledge_next_refund_number(locked)
        number = number or expected
        refund = Refund.objects.filter(idempotency_key=refund_key(locked.pk, number)).first()
        if refund is None:
            if number != expected:
                raise RefundError("This refund form is out of date. Reload the page and check.")
            if locked.status not in REFUNDABLE:
                raise RefundError(
                    "Only a paid pledge can be refunded; this one is "
                    f"{locked.get_status_display().lower()}."
                )
            available = pledge_refundable_cents(locked)
            if amount_cents <= 0:
                raise RefundError("Enter an amount above zero.")
            if amount_cents > available:
                raise RefundError(
                    f"At most {available / 100:,.2f} can still be refunded on this pledge."
                )
            refund = Refund.objects.create(
                pledge=locked,
                amount_cents=amount_cents,
                idempotency_key=refund_key(locked.pk, number),
                reason=reason[:200],
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            pledge_log(
                pledge=locked,
                note=f"Refund {number} of {money(amount_cents, locked.currency)} requested. "
                f"{reason}".strip(),
                kind=PledgeEvent.Kind.REFUND,
                actor=actor,
                actor_label="staff",
                amount_cents=amount_cents,
            )
    if refund.status == Refund.Status.PENDING:
        refund_submit(refund=refund)
        refund.refresh_from_db()
    return refund


DUPLICATE_REFUNDED = "duplicate_refunded"


def pledge_duplicates(pledge: Pledge) -> list[str]:
    """PaymentIntents recorded as a second charge of this pledge and not refunded yet."""
    found = pledge.events.filter(code="double_charge").values_list("stripe_object_id", flat=True)
    done = set(
        pledge.events.filter(code=DUPLICATE_REFUNDED).values_list("stripe_object_id", flat=True)
    )
    return [pi for pi in dict.fromkeys(found) if pi and pi not in done]


def pledge_duplicate_refund(*, pledge: Pledge, payment_intent_id: str, actor) -> gateway.RefundInfo:
    """Give back, in full, a payment that charged this pledge a second time.

    Only an intent recorded as a duplicate of this pledge qualifies, and Stripe is asked first:
    it must have succeeded, carry this pledge's id and not be the payment the pledge counts.
    The duplicate was never counted, so the pledge and the campaign's totals do not move. The
    key is fixed per intent, so a second click refunds nothing more."""
    platform_staff_required(actor=actor, doing="refund a duplicate payment")
    pledge.refresh_from_db()
    if payment_intent_id not in pledge_duplicates(pledge):
        raise RefundError("That payment is not a duplicate of this pledge waiting for a refund.")
    if payment_intent_id == pledge.stripe_payment_intent_id:
        raise RefundError("That is the payment this pledge counts; refund it with the form.")
    try:
        intent = gateway.payment_intent_retrieve(payment_intent_id)
        of_this_pledge = intent.metadata.get("pledge_id") == str(pledge.pk)
        if intent.outcome != gateway.ChargeOutcome.SUCCEEDED or not of_this_pledge:
            raise RefundError("Stripe does not show that payment as a charge of this pledge.")
        info = gateway.refund_create(
            payment_intent_id=payment_intent_id,
            amount_cents=intent.amount_cents,
            idempotency_key=f"pledge-{pledge.pk}-duplicate-{payment_intent_id}",
        )
    except GatewayError as exc:
        raise RefundError(f"Stripe did not refund it ({exc}); nothing changed.") from exc
    if info.status in ("failed", "canceled"):
        raise RefundError("The card network refused the refund.")
    pledge_log(
        pledge=pledge,
        note=f"Duplicate payment {payment_intent_id} refunded in full "
        f"({money(intent.amount_cents, pledge.currency)}, {info.id}, {info.status}).",
        actor=actor,
        actor_label="staff",
        code=DUPLICATE_REFUNDED,
        stripe_object_id=payment_intent_id,
        amount_cents=intent.amount_cents,
    )
    return info


def refund_submit(*, refund: Refund) -> None:
    """Send a pending refund to Stripe with its own key and record the answer.

    Only a refund Stripe reports `succeeded` is counted; `pending` (or `requires_action`)
    stays pending here, with Stripe's refund id, and is re-read by the reconciler until it
    succeeds (counted then) or fails (nothing counted). A refund older than Stripe's 24-hour
    key memory is first looked for at Stripe by the key in its metadata, so it is never
    sent twice.
    """
    from pledges.services.charging import REPLAY_WINDOW

    pledge = Pledge.objects.get(pk=refund.pledge_id)
    try:
        info = None
        if refund.stripe_refund_id:
            info = gateway.refund_retrieve(refund.stripe_refund_id)
        elif refund.created_at <= timezone.now() - REPLAY_WINDOW:
            info = next(
                (
                    r
                    for r in gateway.refunds_for_intent(pledge.stripe_payment_intent_id)
                    if r.refund_key == refund.idempotency_key
                ),
                None,
            )
        if info is None:
            info = gateway.refund_create(
                payment_intent_id=pledge.stripe_payment_intent_id,
                amount_cents=refund.amount_cents,
                idempotency_key=refund.idempotency_key,
            )
    except GatewayTransientError as exc:
        raise RefundError(
            "Stripe did not answer; the refund is saved and will be retried automatically."
        ) from exc
    except GatewayInvalidRequest as exc:
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, reason=f"{refund.reason} — Stripe: {exc}"[:200]
        )
        raise RefundError(f"Stripe refused the refund: {exc}") from exc
    except GatewayError as exc:
        raise RefundError(f"Stripe refused the refund: {exc}") from exc
    if info.status in ("failed", "canceled"):
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, stripe_refund_id=info.id, updated_at=timezone.now()
        )
        raise RefundError("The card network refused the refund.")
    if info.status != "succeeded":
        # Not money back yet: remember Stripe's id so the reconciler asks about this refund.
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            stripe_refund_id=info.id, updated_at=timezone.now()
        )
        return
    with transaction.atomic():
        won = Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.SUCCEEDED, stripe_refund_id=info.id, updated_at=timezone.now()
        )
        if won:
            refund_apply(
                pledge_id=pledge.pk,
                amount_cents=refund.amount_cents,
                source="staff",
                stripe_object_id=info.id,
                reason=refund.reason,
            )


def refund_apply(
    *, pledge_id: int, amount_cents: int, source: str, stripe_object_id: str = "", reason=""
) -> None:
    """Money went back to the supporter: move the totals, log it, tell them, and mark the
    pledge REFUNDED when nothing is left. Call inside the transaction that decided it."""
    locked = (
        Pledge.objects.select_for_update(of=("self",))
        .select_related("campaign", "supporter")
        .get(pk=pledge_id)
    )
    amount_cents = min(amount_cents, locked.paid_cents - locked.refunded_cents)
    if amount_cents <= 0:
        return
    Pledge.objects.filter(pk=locked.pk).update(
        refunded_cents=F("refunded_cents") + amount_cents, updated_at=timezone.now()
    )
    Campaign.objects.filter(pk=locked.campaign_id).update(
        collected_cents=F("collected_cents") - amount_cents
    )
    locked.refresh_from_db()
    if locked.refunded_cents >= locked.paid_cents and locked.status in REFUNDABLE:
        pledge_transition(
            pledge=locked,
            to=S.REFUNDED,
            expected=locked.status,
            actor_label=source,
            note=f"Refunded in full ({money(locked.refunded_cents, locked.currency)}).",
            stripe_object_id=stripe_object_id,
            amount_cents=amount_cents,
        )
    else:
        pledge_log(
            pledge=locked,
            note=f"Refunded {money(amount_cents, locked.currency)} "
            f"({money(locked.refunded_cents, locked.currency)} of "
            f"{money(locked.paid_cents, locked.currency)}).",
            kind=PledgeEvent.Kind.REFUND,
            actor_label=source,
            stripe_object_id=stripe_object_id,
            amount_cents=amount_cents,
        )
    pledge_notify(
        pledge=locked,
        template="settlement_refund",
        extra={"refund_cents": amount_cents, "reason": reason},
    )
