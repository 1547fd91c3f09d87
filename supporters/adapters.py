"""django-allauth hooks: its account emails in our look."""

from __future__ import annotations

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape, urlize
from django.utils.safestring import mark_safe

# What allauth's templates read as `current_site.name` and `.domain`.
SITE = SimpleNamespace(name="Rallyround", domain="Rallyround")


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """allauth's login and sign-up limits count the same address as ours: X-Forwarded-For
        only from TRUSTED_PROXIES (supporters/throttle.py)."""
        from supporters.throttle import client_ip

        return client_ip(request)

    def render_mail(self, template_prefix, email, context, headers=None):
        """Render allauth's text message as usual, and add an HTML part in our email layout
        (allauth ships text only). Links and codes stay exactly as in the text."""
        # Without django.contrib.sites allauth names the site by the request's host ("an
        # account on 127.0.0.1:8000"); its messages name Rallyround instead.
        context = {"site_url": settings.SITE_URL, **context, "current_site": SITE}
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if not getattr(message, "alternatives", None):
            text = message.body
            paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
            html_body = "".join(
                '<p style="margin:0 0 16px;">'
                + urlize(escape(p), autoescape=False).replace("\n", "<br>")
                + "</p>"
                for p in paragraphs
            )
            html = render_to_string(
                "emails/account_message.html",
                {"site_url": settings.SITE_URL, "body_html": mark_safe(html_body)},  # noqa: S308 — escaped above
            )
            from django.core.mail import EmailMultiAlternatives

            multi = EmailMultiAlternatives(
                subject=message.subject,
                body=text,
                from_email=message.from_email,
                to=message.to,
                headers=message.extra_headers,
            )
            multi.attach_alternative(html, "text/html")
            return multi
        return message
