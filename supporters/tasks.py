"""Celery entry points for the supporters app."""

from __future__ import annotations

from celery import shared_task

from supporters.emails import email_send_now


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(*, to: list[str], template: str, context: dict, headers: dict | None = None):
    """Render and send one email (SMTP hiccups are retried with backoff)."""
    email_send_now(to=to, template=template, context=context, headers=headers)
