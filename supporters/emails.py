"""Sending email: HTML + text from templates, in our look, always through Celery.

Callers use `email_enqueue(...)` inside their transaction; the message is handed to Celery only
when the transaction commits (so a rolled-back change never mails anyone), and the worker renders
and sends it. Templates: `templates/emails/<name>.txt` and `<name>.html`, both extending
`emails/base.*`; `subject` is rendered from the first line of `<name>.subject.txt` if present.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Return (subject, text, html) for `template` with `context`."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}.subject.txt", context).strip().splitlines()[0]
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html


def email_send_now(
    *,
    to: list[str],
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    """Render and send one message (called by the Celery task, or directly by tasks)."""
    subject, text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(
        subject=f"[Rallyround] {subject}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers or {},
    )
    message.attach_alternative(html, "text/html")
    message.send()


def email_enqueue(
    *,
    to: list[str] | str,
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    """Send after the current transaction commits, through Celery. Context must be JSON-safe
    (ids, strings, numbers): the worker receives it as a message."""
    from supporters.tasks import send_email

    recipients = [to] if isinstance(to, str) else list(to)
    # robust: the change this email reports has committed; a broker hiccup must not turn the
    # supporter's successful request into an error page (Django logs the failure instead).
    transaction.on_commit(
        lambda: send_email.delay(
            to=recipients, template=template, context=context, headers=headers or {}
        ),
        robust=True,
    )
