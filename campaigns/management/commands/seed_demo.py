"""`manage.py seed_demo`: demo organizations, campaigns, supporters, updates and two accounts.

Idempotent: running it again changes nothing and prints the same credentials.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.demo import ADMIN_EMAIL, ORGANIZER_EMAIL, demo_seed
from outreach.demo import demo_updates


class Command(BaseCommand):
    help = "Load demo campaigns and accounts (local development). Safe to run again."

    def handle(self, *args, **options):
        result = demo_seed()
        created = [*result.created, *demo_updates()]
        if created:
            self.stderr.write(f"Demo data: created {len(created)} items.")
        else:
            self.stderr.write("Demo data: already present, nothing changed.")
        self.stdout.write(f"Admin: {ADMIN_EMAIL} / password: {result.admin_password}")
        self.stdout.write(f"Organizer: {ORGANIZER_EMAIL} / password: {result.organizer_password}")
