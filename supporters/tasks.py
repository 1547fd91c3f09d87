"""Celery entry points for the supporters app."""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(
    *,
    to: list[str],
    template: str,
    context: dict,
    headers: dict | None = None,
    language: str | None = None,
):
    """Render and send one email in `language` (SMTP hiccups are retried with backoff)."""
    from supporters.emails import email_send_now

    email_send_now(to=to, template=template, context=context, headers=headers, language=language)


@shared_task
def check_milestones(*, campaign_id: int):
    """Record milestones a campaign has passed (each once) and announce the new ones."""
    from supporters.services import (
        milestones_announce,
        milestones_pick_announcements,
        milestones_record,
    )

    new = milestones_record(campaign_id=campaign_id)
    for milestone in milestones_pick_announcements(milestones=new):
        milestones_announce(milestone=milestone)


@shared_task(name="supporters.tasks.send_milestone_batch", acks_late=True)
def milestone_send_batch(*, milestone_id: int, supporter_ids: list[int]):
    """Send one batch of a milestone announcement (see `milestones_announce`)."""
    from supporters.services import milestone_send_batch as service

    service(milestone_id=milestone_id, supporter_ids=supporter_ids)


@shared_task(name="supporters.tasks.send_deadline_reminders")
def deadline_reminders_due():
    """Beat: claim and queue the 72- and 24-hour deadline reminders that are due."""
    from supporters.reminders import deadline_reminders_due as service

    return service()


@shared_task(name="supporters.tasks.send_reminder_batch", acks_late=True)
def reminder_send_batch(*, campaign_id: int, kind: str, supporter_ids: list[int]):
    """Send one batch of a deadline reminder (see `deadline_reminders_claim`)."""
    from supporters.reminders import reminder_send_batch as service

    return service(campaign_id=campaign_id, kind=kind, supporter_ids=supporter_ids)


@shared_task(name="supporters.tasks.warn_expiring_cards")
def warn_expiring_cards():
    """Beat: warn owners of saved cards that lapse before their campaign's deadline (once)."""
    from supporters.reminders import card_warnings_due

    return card_warnings_due()
