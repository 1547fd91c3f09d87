"""Celery entry points for outgoing webhooks: load ids, call a service, nothing else.

Tasks import their services inside the function; services (api/events.py) import tasks at
module level (ARCHITECTURE.md: imports run one way)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction


@shared_task(ignore_result=True)
def webhook_event_fan_out(*, event_id: str, event_type: str, object_id: int, occurred_at: str):
    """Record the event and send it to each subscribed endpoint (after this commit)."""
    from api import webhooks

    delivery_ids = webhooks.webhook_event_record(
        event_id=event_id, event_type=event_type, object_id=object_id, occurred_at=occurred_at
    )
    for delivery_id in delivery_ids:
        transaction.on_commit(
            lambda d=delivery_id: webhook_deliver.delay(delivery_id=d), robust=True
        )


@shared_task(ignore_result=True)
def webhook_deliver(*, delivery_id: int):
    """POST one delivery if it is due (a repeat of this task finds it claimed or done)."""
    from api import webhooks

    webhooks.webhook_delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_deliveries_due():
    """Beat, every minute: hand each delivery whose retry is due to a worker."""
    from api import webhooks

    for delivery_id in webhooks.webhook_deliveries_due():
        webhook_deliver.delay(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def api_records_prune():
    """Beat, daily: drop request logs and webhook records past their keeping time."""
    from api.services import api_records_prune as prune

    prune()
