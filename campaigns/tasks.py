"""Background work for campaigns."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="campaigns.tasks.send_deadline_extended_batch", acks_late=True)
def deadline_extended_send_batch(
    *, event_id: int, supporter_ids: list[int], old_deadline: str, new_deadline: str
):
    """Tell one batch of supporters that a deadline was extended (see
    `campaign_extend_deadline`)."""
    from campaigns.services import deadline_extended_send_batch as service

    service(
        event_id=event_id,
        supporter_ids=supporter_ids,
        old_deadline=old_deadline,
        new_deadline=new_deadline,
    )


@shared_task(name="campaigns.tasks.send_deadline_extended_fan_out", acks_late=True)
def deadline_extended_fan_out(
    *, event_id: int, old_deadline: str, new_deadline: str, after_id: int = 0
):
    """Queue one step of a deadline extension's emails, then the next step (see
    `deadline_extended_fan_out`)."""
    from campaigns.services import deadline_extended_fan_out as service

    resume = service(
        event_id=event_id, old_deadline=old_deadline, new_deadline=new_deadline, after_id=after_id
    )
    if resume is not None:
        deadline_extended_fan_out.delay(
            event_id=event_id, old_deadline=old_deadline, new_deadline=new_deadline, after_id=resume
        )
