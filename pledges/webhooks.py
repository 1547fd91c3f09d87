"""Stripe webhooks: `/stripe/webhook/`.

The signature is checked, the event id is stored (unique) so a replay is skipped, and the event
is dispatched to one `handle_<event_type>` function. Handlers never trust the payload for state:
they re-read the object from Stripe and apply forward-only, idempotent transitions, because the
browser return, the reconciler and the webhook may all report the same fact, in any order.

To handle another event type, write `handle_<type>(event) -> str` (the outcome recorded on the
StripeEvent row) and add it to WEBHOOK_HANDLERS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pledges import gateway
from pledges.models import AWAITING_SUPPORTER, StripeEvent
from pledges.services.onsession import PaymentPageError, pledge_pay_with_new_card
from pledges.services.pledging import pledge_activate_from_setup_intent, pledge_note_setup_failure
from pledges.services.settlement_webhooks import SETTLEMENT_WEBHOOK_HANDLERS

logger = logging.getLogger(__name__)

WebhookHandler = Callable[[gateway.WebhookEvent], str]


def handle_setup_intent_succeeded(event: gateway.WebhookEvent) -> str:
    """A card was saved: activate the pledge (or swap its card) if the browser has not."""
    result = pledge_activate_from_setup_intent(
        setup_intent_id=event.object_id, actor_label="webhook"
    )
    pledge = result.pledge
    if pledge is not None and pledge.status in AWAITING_SUPPORTER:
        # A card saved on the new-card page after a failed charge: if the page's own POST has
        # not charged it (a closed tab), charge it now, exactly as the page would.
        try:
            status = pledge_pay_with_new_card(
                pledge=pledge, setup_intent_id=event.object_id, source="webhook"
            )
        except PaymentPageError as exc:
            return f"new card not charged pledge={pledge.pk}: {exc}"
        return f"new card pledge={pledge.pk} now {status}"
    pledge_id = pledge.pk if pledge else "-"
    return f"{result.outcome} pledge={pledge_id}"


def handle_setup_intent_setup_failed(event: gateway.WebhookEvent) -> str:
    """The bank refused the card at setup: note it on the pledge; it stays waiting for a card."""
    pledge = pledge_note_setup_failure(setup_intent_id=event.object_id, actor_label="webhook")
    return f"noted pledge={pledge.pk}" if pledge else "no matching pledge"


WEBHOOK_HANDLERS: dict[str, WebhookHandler] = {
    "setup_intent.succeeded": handle_setup_intent_succeeded,
    "setup_intent.setup_failed": handle_setup_intent_setup_failed,
    # Settlement: charges, refunds and disputes (pledges/services/settlement_webhooks.py).
    **SETTLEMENT_WEBHOOK_HANDLERS,
}


def webhook_event_record(*, event: gateway.WebhookEvent) -> StripeEvent | None:
    """Store the event by its id. Returns None if it was already processed (a replay)."""
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(
                event_id=event.id, type=event.type, object_id=event.object_id[:80]
            )
    except IntegrityError:
        stored = StripeEvent.objects.get(event_id=event.id)
        # Stored but never finished (the handler failed last time): let Stripe's retry run it.
        return None if stored.processed_at else stored


def webhook_event_process(*, event: gateway.WebhookEvent) -> str:
    """Dispatch one verified event to its handler and mark it processed. Unknown types are
    acknowledged and ignored. A handler's exception propagates (the event stays unprocessed,
    so Stripe's retry runs it again)."""
    stored = webhook_event_record(event=event)
    if stored is None:
        return "duplicate"
    handler = WEBHOOK_HANDLERS.get(event.type)
    outcome = handler(event) if handler else "ignored"
    StripeEvent.objects.filter(pk=stored.pk).update(
        processed_at=timezone.now(), outcome=outcome[:200]
    )
    return outcome


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = gateway.webhook_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except gateway.WebhookPayloadError:
        return HttpResponse("malformed event", status=400, content_type="text/plain")
    except gateway.WebhookSignatureError:
        return HttpResponse("bad signature", status=400, content_type="text/plain")
    try:
        outcome = webhook_event_process(event=event)
    except gateway.GatewayError:
        logger.exception("webhook %s (%s): Stripe unreachable; will retry", event.id, event.type)
        return HttpResponse("retry later", status=503, content_type="text/plain")
    return HttpResponse(outcome, status=200, content_type="text/plain")
