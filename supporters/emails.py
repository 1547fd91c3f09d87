"""Sending email: HTML + text from templates, in our look, always through Celery.

Callers use `email_enqueue(...)` inside their transaction; the message is handed to Celery only
when the transaction commits (so a rolled-back change never mails anyone), and the worker renders
and sends it. Templates: `templates/emails/<name>.txt` and `<name>.html`, both extending
`emails/base.*`; `subject` is rendered from the first line of `<name>.subject.txt` if present.

Every message is rendered in its recipient's language (`language`: a supporter's
`Supporter.language`, carried to the worker with the message; English when not given). A caller
that formats dates or builds links for the context does so inside `translation.override` of the
same language (see `_supporter_email_context`), so links go to the /es/ pages.

Mail to many people goes through `emails_fan_out`: one Celery task per batch of ids, each handed
to the broker after commit by `task_hand_over`, which sends the batch here and now when the
broker refuses it. The claim that decided "these people are due" (milestone, update, deadline
change, advocates-first, reminder) has already committed by then, so a batch the broker drops
would never be sent by anyone: it must not be dropped. Each batch task skips people it already
mailed (`email_send_once`), so a batch that runs twice mails nobody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from celery import Task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from supporters.tasks import send_email

logger = logging.getLogger(__name__)


def email_language(language: str | None) -> str:
    """A supported language code for rendering (English for anything else)."""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def email_render(
    *, template: str, context: dict[str, Any], language: str | None = None
) -> tuple[str, str, str]:
    """Return (subject, text, html) for `template` with `context`, in `language`."""
    language = email_language(language)
    context = {"site_url": settings.SITE_URL, **context, "language": language}
    with translation.override(language):
        subject = (
            render_to_string(f"emails/{template}.subject.txt", context).strip().splitlines()[0]
        )
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html


def email_send_now(
    *,
    to: list[str],
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
    language: str | None = None,
) -> None:
    """Render and send one message (called by the Celery task, or directly by tasks)."""
    subject, text, html = email_render(template=template, context=context, language=language)
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
    language: str | None = None,
) -> None:
    """Send after the current transaction commits, through Celery, rendered in `language`.
    Context must be JSON-safe (ids, strings, numbers): the worker receives it as a message."""
    recipients = [to] if isinstance(to, str) else list(to)
    # robust: the change this email reports has committed; a broker hiccup must not turn the
    # supporter's successful request into an error page (Django logs the failure instead).
    transaction.on_commit(
        partial(
            task_hand_over,
            send_email,
            to=recipients,
            template=template,
            context=context,
            headers=headers or {},
            language=email_language(language),
        ),
        robust=True,
    )


def emails_fan_out(
    *,
    task: Task,
    ids: Sequence[int],
    batch_size: int,
    ids_kwarg: str = "supporter_ids",
    **task_kwargs: Any,
) -> None:
    """After the current transaction commits, run `task(<ids_kwarg>=<batch>, **task_kwargs)`
    for each batch of `batch_size` ids, one Celery task per batch. A broker error on one batch
    neither stops the others nor loses that batch (see `task_hand_over`)."""
    for start in range(0, len(ids), batch_size):
        batch = list(ids[start : start + batch_size])
        transaction.on_commit(
            partial(task_hand_over, task, **{ids_kwarg: batch}, **task_kwargs), robust=True
        )


def task_hand_over(task: Task, **task_kwargs: Any) -> None:
    """Give `task` to the broker (Celery itself retries the publish a few times); if the broker
    still refuses, run the task here and now instead of losing it. Slower for this one request,
    but what it sends was already promised by a committed claim."""
    try:
        task.apply_async(kwargs=task_kwargs)
    except Exception:  # whatever the transport raises (kombu OperationalError, OSError, redis)
        logger.exception("broker refused %s; running it in this process", task.name)
        result = task.apply(kwargs=task_kwargs)
        if result.failed():
            logger.error("%s failed in this process: %r", task.name, result.result)


def email_send_once(
    *,
    key: str,
    memory_seconds: int,
    to: str,
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
    language: str | None = None,
) -> bool:
    """Send one message of a batch unless `key` says it was sent (a batch redelivered after a
    worker crash, or run twice, skips the people it already mailed). A message the mail server
    refuses is forgotten, logged, and not raised, so one bad address does not stop the rest of
    the batch. Returns whether it was sent now."""
    if not cache.add(key, 1, timeout=memory_seconds):
        return False
    try:
        email_send_now(
            to=[to], template=template, context=context, headers=headers, language=language
        )
    except OSError:
        cache.delete(key)
        logger.exception("%s: sending failed", key)
        return False
    return True
