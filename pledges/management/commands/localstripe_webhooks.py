"""Register our webhook endpoint with localstripe (development only; `make run` calls it).

localstripe has no dashboard: it learns where to send events through
`POST /_config/webhooks/<id>` with form fields url, secret and events. Real Stripe is configured
in its dashboard instead, so this command refuses to run against it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Register /stripe/webhook/ with localstripe (waits for it to start with --wait)."

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="Wait up to 60 s for localstripe.")

    def handle(self, *args, wait: bool = False, **options):
        base = settings.STRIPE_API_BASE
        if not base.startswith(("http://127.0.0.1", "http://localhost")):
            raise CommandError(f"{base} is not a local Stripe; configure webhooks in Stripe.")
        deadline = time.monotonic() + (60 if wait else 0)
        body = urllib.parse.urlencode(
            {
                "url": f"{settings.SITE_URL}/stripe/webhook/",
                "secret": settings.STRIPE_WEBHOOK_SECRET,
            }
        ).encode()
        while True:
            try:
                request = urllib.request.Request(  # noqa: S310 — local http URL checked above
                    f"{base}/_config/webhooks/rallyround", data=body, method="POST"
                )
                urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError) as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"localstripe at {base} did not answer: {exc}") from exc
                time.sleep(0.5)
        self.stdout.write(f"localstripe will send webhooks to {settings.SITE_URL}/stripe/webhook/")
