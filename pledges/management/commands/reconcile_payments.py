"""`manage.py reconcile_payments`: the 5-minute task's work, done here in the foreground (the
beat's run queues the same chunks to the payments workers instead).

Asks Stripe about every charge we have no answer for (expired leases, pending attempts,
3-D Secure requests the supporter may have finished) and retries pending refunds with their own
keys. Never charges blindly; safe beside the workers.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pledges.services.reconcile import payments_reconcile


class Command(BaseCommand):
    help = "Resolve unanswered charges and pending refunds by asking Stripe."

    def handle(self, *args, **options):
        summary = payments_reconcile()
        labels = {
            "resumed": "charges resumed (expired leases)",
            "attempts_resolved": "attempts resolved",
            "confirmed_by_supporter": "3-D Secure requests resolved",
            "refunds": "refunds retried",
            "errors": "left for the next run (see the log)",
        }
        width = max(len(v) for v in labels.values())
        for key, label in labels.items():
            self.stdout.write(f"  {label:<{width}}  {summary.get(key, 0):>6}")
        if summary.get("halted"):
            raise CommandError("Stopped: Stripe refused our credentials. Staff were alerted.")
