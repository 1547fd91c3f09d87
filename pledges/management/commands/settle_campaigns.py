"""`manage.py settle_campaigns [--campaign SLUG] [--dry-run]`: settlement in the foreground.

Does what the beat and the payments workers do, in this process, with a progress bar and a
summary table: freeze campaigns past their deadline (failing those short of their goal), finish
interrupted bulk moves, then charge every due pledge and resume expired leases. Safe to run
beside the Celery workers (each pledge is claimed by a conditional UPDATE). `--dry-run` writes
nothing and calls Stripe for nothing: it says which campaigns would freeze and how they would
end, and who would be charged how much.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import PLATFORM_CURRENCY, Campaign
from campaigns.templatetags.rallyround import money
from pledges.services.settlement import settle_predict, settle_run

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Settle due campaigns now: freeze, fail or charge, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", metavar="SLUG", help="Only this campaign.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Predict who would be charged; write nothing."
        )

    def handle(self, *args, campaign=None, dry_run=False, **options):
        target = None
        if campaign:
            target = Campaign.objects.filter(slug=campaign).first()
            if target is None:
                raise CommandError(f"No campaign at the address “{campaign}”.")
        if dry_run:
            self._predict(target)
            return
        summary = settle_run(campaign=target, progress=self._progress)
        self.stdout.write("")
        self._table(
            "Campaigns",
            [(name.replace("_", " "), str(n)) for name, n in summary.campaigns.items() if n],
        )
        rows = [
            (status.replace("_", " "), str(n)) for status, n in sorted(summary.by_status.items())
        ]
        self._table("Pledges this run", rows or [("nothing due", "0")])
        self.stdout.write(f"Charged this run: {money(summary.charged_cents, PLATFORM_CURRENCY)}")
        if summary.no_slot:
            raise CommandError(
                "Stopped: no Stripe rate-limit slot came in time (the shared limit is in use, "
                "or its counter is stuck). Nothing was charged twice; run this again shortly."
            )
        if summary.halted:
            raise CommandError(
                f"Stopped: Stripe refused our credentials ({summary.halted}). Staff were alerted; "
                "fix STRIPE_SECRET_KEY and run again."
            )

    def _progress(self, done: int, total: int, report) -> None:
        total = max(total, done, 1)
        filled = int(BAR_WIDTH * done / total)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stdout.write(
            f"\r[{bar}] {done}/{total}  pledge {report.pledge_id}: {report.status:<16}", ending=""
        )
        self.stdout.flush()

    def _table(self, title: str, rows: list[tuple[str, str]]) -> None:
        if not rows:
            return
        width = max(len(r[0]) for r in rows)
        self.stdout.write(title)
        for label, value in rows:
            self.stdout.write(f"  {label:<{width}}  {value:>8}")

    def _predict(self, target: Campaign | None) -> None:
        predictions = settle_predict(campaign=target)
        if not predictions:
            self.stdout.write("Dry run: nothing is due. Nothing was written.")
            return
        grand = 0
        for p in predictions:
            self.stdout.write(f"{p.campaign.title} ({p.campaign.slug}): {p.verdict}")
            self.stdout.write(
                f"  {p.pledge_count} pledges, {money(p.total_cents, p.campaign.currency)}"
                + (" would be charged" if p.verdict == "charging" else "")
            )
            for pledge_id, email, cents in p.pledges:
                self.stdout.write(
                    f"    #{pledge_id:<8} {email:<40} {money(cents, p.campaign.currency):>12}"
                )
            if p.pledge_count > len(p.pledges):
                self.stdout.write(f"    … and {p.pledge_count - len(p.pledges)} more")
            if p.verdict == "charging":
                grand += p.total_cents
        self.stdout.write(
            f"Dry run: would charge {money(grand, PLATFORM_CURRENCY)} now. Nothing was written."
        )
