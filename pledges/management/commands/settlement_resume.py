"""`manage.py settlement_resume`: lift a settlement halt once Stripe's keys are fixed.

After Stripe refused our credentials, charging stops for 15 minutes (HALT_SECONDS) and staff
are alerted. Once the key is fixed, this lifts the halt at once, resumes the charges the halt
stopped (same idempotency keys: Stripe took nothing for them) and queues every due pledge, so
everything due is being charged within minutes rather than when the halt or the queue marks
expire.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pledges.services.charging import charges_enqueue, settlement_is_halted, settlement_resume
from pledges.services.reconcile import payments_reconcile


class Command(BaseCommand):
    help = "Lift a settlement halt (after fixing the Stripe keys) and queue every due charge."

    def handle(self, *args, **options):
        reason = settlement_is_halted()
        self.stdout.write(f"Halt: {reason}" if reason else "Settlement was not halted.")
        stopped = settlement_resume()
        summary = payments_reconcile()
        if summary.get("halted"):
            raise CommandError(
                "Stripe still refuses our credentials: settlement is halted again. "
                "Check STRIPE_SECRET_KEY, then run this command again."
            )
        queued = charges_enqueue()
        self.stdout.write(
            f"Resumed {summary.get('resumed', 0)} of {stopped} charges the halt stopped; "
            f"queued {queued} due pledges for charging."
        )
