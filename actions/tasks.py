"""Celery entry points for take-action: load ids, call a service, nothing else."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="actions.tasks.open_advocates_first")
def advocates_first_open_due():
    """Every 5 minutes (beat): announce actions whose advocates-first window has opened.
    Idempotent: each action is claimed once through its `advocates_notified_at`."""
    from actions.services import advocates_first_open_due as service

    return service()


@shared_task(name="actions.tasks.send_event_reminders")
def event_reminders_send_due():
    """Every 5 minutes (beat): remind people who RSVP'd to events starting soon. The database
    says who is due and who was reminded, so a missed or doubled run changes nothing."""
    from actions.services import event_reminders_send_due as service

    return service()


@shared_task(name="actions.tasks.send_action_email_batch", acks_late=True)
def action_send_email_batch(*, action_id: int, kind: str, supporter_ids: list[int]):
    """Send one batch of advocates-first or event-reminder emails."""
    from actions.services import action_send_email_batch as service

    return service(action_id=action_id, kind=kind, supporter_ids=supporter_ids)
