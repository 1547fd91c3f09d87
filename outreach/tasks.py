"""Celery entry points for outreach."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="outreach.tasks.send_update_batch", acks_late=True)
def update_send_batch(*, update_id: int, supporter_ids: list[int]):
    """Email one batch of a campaign update (see `outreach.services.update_send`)."""
    from outreach.services import update_send_batch as service

    service(update_id=update_id, supporter_ids=supporter_ids)
