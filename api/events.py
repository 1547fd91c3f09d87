"""The one call each service makes when something organizers may want pushed to them happens.

`event_emit("pledge.paid", pledge.pk)` inside the service's transaction: nothing leaves until it
commits (a rolled-back change is never announced), then Celery builds the payload from the
database and delivers it to every active endpoint of that organization subscribed to the type.
The event id is made here, once, so a task that runs twice cannot announce the same thing twice.

This module imports nothing of the other apps at load time: services in supporters/, pledges/,
campaigns/ and actions/ import it. It imports its task at module level (api/tasks.py imports
its services only inside each task).
"""

from __future__ import annotations

import logging
import time
import uuid

from django.db import transaction
from django.utils import timezone

from api.tasks import webhook_event_fan_out

logger = logging.getLogger(__name__)

# Pledge status reached → event type (statuses not listed announce nothing).
PLEDGE_EVENTS = {
    "active": "pledge.created",
    "canceled": "pledge.canceled",
    "released": "pledge.changed",
    "paid": "pledge.paid",
    "action_required": "pledge.failed",
    "retry_due": "pledge.failed",
    "needs_new_method": "pledge.failed",
    "unpaid": "pledge.failed",
    "refunded": "pledge.refunded",
}
CAMPAIGN_EVENTS = {
    "live": "campaign.published",
    "succeeded": "campaign.succeeded",
    "failed": "campaign.failed",
}


def event_emit(event_type: str, object_id: int | None) -> None:
    """Announce `event_type` about the object `object_id` once the current transaction commits.

    `event_type` "pledge.status:<status>" and "campaign.status:<status>" are mapped through
    PLEDGE_EVENTS / CAMPAIGN_EVENTS, so a state machine can pass its new state as it is."""
    if event_type.startswith("pledge.status:"):
        event_type = PLEDGE_EVENTS.get(event_type.split(":", 1)[1], "")
    elif event_type.startswith("campaign.status:"):
        event_type = CAMPAIGN_EVENTS.get(event_type.split(":", 1)[1], "")
    if not event_type or object_id is None:
        return
    event_id = f"msg_{uuid.uuid4().hex}"
    occurred_at = timezone.now().isoformat()
    transaction.on_commit(
        lambda: _hand_over(event_id, event_type, object_id, occurred_at), robust=True
    )


def events_emit_many(event_type: str, object_ids: list[int]) -> None:
    """`event_emit` for each id (a bulk transition)."""
    for object_id in object_ids:
        event_emit(event_type, object_id)


# How long a process trusts its list of the event types some active endpoint listens to. An
# endpoint saved in this process is seen at once (`event_types_forget`, on every save and
# delete); one saved in another process, within this many seconds.
LISTENED_SECONDS = 5.0

_listened: tuple[float, frozenset[str]] | None = None


def event_types_listened() -> frozenset[str]:
    """The event types at least one active endpoint is subscribed to, read at most once every
    LISTENED_SECONDS per process: a look-up per event was one SQL statement of a paid charge's
    twelve, in the payments worker (issue 14)."""
    global _listened
    now = time.monotonic()
    if _listened is None or now >= _listened[0]:
        from api.models import WebhookEndpoint

        subscribed = (
            WebhookEndpoint.objects.filter(is_active=True)
            .values_list("events", flat=True)
            .distinct()
        )
        types = frozenset(t for events in subscribed for t in events.split(",") if t)
        _listened = (now + LISTENED_SECONDS, types)
    return _listened[1]


def event_types_forget(**_kwargs) -> None:
    """An endpoint changed in this process: read the subscribed types again on the next event
    (a post_save/post_delete receiver, connected in api/apps.py)."""
    global _listened
    _listened = None


def _hand_over(event_id: str, event_type: str, object_id: int, occurred_at: str) -> None:
    # Saves the broker a message for the (usual) case of nobody listening; the fan-out task
    # reads the endpoints again, so a type listened to a moment ago costs one message at most.
    if event_type not in event_types_listened():
        return
    webhook_event_fan_out.delay(
        event_id=event_id, event_type=event_type, object_id=object_id, occurred_at=occurred_at
    )
