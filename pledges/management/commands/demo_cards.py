"""`manage.py demo_cards [--wait]`: save a test card at localstripe for every demo pledge whose
card it does not hold, so `make run`'s demo campaigns can be settled end to end (development
only; `make run` calls it once localstripe answers)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pledges.gateway import GatewayError, GatewayTransientError
from pledges.services.demo_cards import demo_pledges_cards_ensure


class Command(BaseCommand):
    help = "Give demo pledges a 4242 card saved at the local Stripe (localstripe). Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="Wait up to 60 s for localstripe.")

    def handle(self, *args, wait: bool = False, **options):
        if not settings.STRIPE_LOCAL_COMPAT:
            raise CommandError(f"{settings.STRIPE_API_BASE} is not a local Stripe.")
        deadline = time.monotonic() + (60 if wait else 0)
        while True:
            try:
                count = demo_pledges_cards_ensure()
                break
            except GatewayTransientError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"localstripe did not answer: {exc}") from exc
                time.sleep(0.5)
            except GatewayError as exc:
                raise CommandError(f"localstripe refused the demo card: {exc}") from exc
        if count:
            self.stdout.write(f"Demo pledges: saved a 4242 test card at localstripe for {count}.")
        else:
            self.stdout.write("Demo pledges: every card is already saved at localstripe.")
