"""`manage.py seed_demo_actions`: calls, an email, a petition, events and resource lists on the
demo campaign (run after `seed_demo`). Idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from actions.demo import DEMO_CAMPAIGN, demo_actions_seed


class Command(BaseCommand):
    help = "Add demo take-action content to the demo campaign. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", default=DEMO_CAMPAIGN, help="campaign slug")

    def handle(self, *args, **options):
        created = demo_actions_seed(slug=options["campaign"])
        if created:
            self.stderr.write(f"Demo actions: created {len(created)} on {options['campaign']}.")
        else:
            self.stderr.write("Demo actions: already present (or no such campaign).")
