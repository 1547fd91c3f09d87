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

from django.core.cache import cache
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
# delete). One saved in another process (an organizer's page in a web worker) is seen by the
# next event of a type this process found nobody listening to: every save and delete writes a
# new ENDPOINTS_CHANGED stamp in the shared cache after it commits, and that answer — the only
# one that drops an event — is trusted only while the stamp is the one read with the list.
LISTENED_SECONDS = 5.0
ENDPOINTS_CHANGED = "webhooks:endpoints-changed"

_listened: tuple[float, object, frozenset[str]] | None = None


def _endpoints_stamp() -> object:
    try:
        return cache.get(ENDPOINTS_CHANGED)
    except Exception:  # noqa: BLE001 — no shared cache: never trust a list, ask the database
        logger.warning("webhook endpoints stamp unreadable", exc_info=True)
        return object()


def event_types_listened() -> frozenset[str]:
    """The event types at least one active endpoint is subscribed to, read at most once every
    LISTENED_SECONDS per process: a look-up per event was one SQL statement of a paid charge's
    twelve, in the payments worker (issue 14)."""
    global _listened
    now = time.monotonic()
    if _listened is None or now >= _listened[0]:
        from api.models import WebhookEndpoint

        stamp = _endpoints_stamp()  # before the read: a save committed after it changes it
        subscribed = (
            WebhookEndpoint.objects.filter(is_active=True)
            .values_list("events", flat=True)
            .distinct()
        )
        types = frozenset(t for events in subscribed for t in events.split(",") if t)
        _listened = (now + LISTENED_SECONDS, stamp, types)
    return _listened[2]


def event_type_listened(event_type: str) -> bool:
    """Whether some active endpoint listens to `event_type`. A "no" from this process's list
    is checked against the shared stamp (one cache read, no SQL): an endpoint saved anywhere
    since the list was read gets the event, as when each hand-over asked the database."""
    if event_type in event_types_listened():
        return True
    assert _listened is not None  # noqa: S101 (just read)
    if _endpoints_stamp() == _listened[1]:
        return False
    event_types_forget()
    return event_type in event_types_listened()


def _endpoints_stamp_new() -> None:
    cache.set(ENDPOINTS_CHANGED, uuid.uuid4().hex, timeout=None)


def event_types_forget(**kwargs) -> None:
    """An endpoint changed: this process reads the subscribed types again on its next event,
    and the others on their next event nobody listened to, once this commits (a
    post_save/post_delete receiver, connected in api/apps.py)."""
    global _listened
    _listened = None
    if "sender" in kwargs:  # a signal: tell the other processes after the commit
        transaction.on_commit(_endpoints_stamp_new, using=kwargs.get("using"), robust=True)


def _hand_over(event_id: str, event_type: str, object_id: int, occurred_at: str) -> None:
    # Saves the broker a message for the (usual) case of nobody listening; the fan-out task
    # reads the endpoints again, so a type listened to a moment ago costs one message at most.
    if not event_type_listened(event_type):
        return
    webhook_event_fan_out.delay(
        event_id=event_id, event_type=event_type, object_id=object_id, occurred_at=occurred_at
    )
