"""Background work for campaigns."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def send_deadline_extended_batch(
    *, event_id: int, supporter_ids: list[int], old_deadline: str, new_deadline: str
):
    """Tell one batch of supporters that a deadline was extended (see
    `campaign_extend_deadline`)."""
    from campaigns.services import deadline_extended_send_batch

    deadline_extended_send_batch(
        event_id=event_id,
        supporter_ids=supporter_ids,
        old_deadline=old_deadline,
        new_deadline=new_deadline,
    )
