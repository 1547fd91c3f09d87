"""Celery entry points for the supporters app."""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(*, to: list[str], template: str, context: dict, headers: dict | None = None):
    """Render and send one email (SMTP hiccups are retried with backoff)."""
    from supporters.emails import email_send_now

    email_send_now(to=to, template=template, context=context, headers=headers)


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


@shared_task(acks_late=True)
def send_milestone_batch(*, milestone_id: int, supporter_ids: list[int]):
    """Send one batch of a milestone announcement (see `milestones_announce`)."""
    from supporters.services import milestone_send_batch

    milestone_send_batch(milestone_id=milestone_id, supporter_ids=supporter_ids)
