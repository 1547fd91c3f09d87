"""Celery entry points for settlement. Thin: load ids, call a service, log what happened.

Each task is named after the service it runs and imports its service inside the function
(services import tasks at module level; ARCHITECTURE.md). The registered names (`name=`) are
the old ones, which the beat schedule, the queue routes and any message already in a queue
use: `pledges.tasks.charge_*` is routed to the `payments` queue (settings.CELERY_TASK_ROUTES).
Beat runs `settle_due` every minute, `payments_reconcile` and `pledges_setup_reconcile` every
5 minutes and `payments_remind_and_expire` hourly; every one of them is safe to run twice at
once (the services use conditional updates). The reconciler and the grace sweep only fan their
work out: one task per chunk of ids (`leases_resume`, `attempts_resolve`, `action_checks_run`,
`refunds_retry`, `new_cards_check` and `pledges_expire` on the `payments` queue,
`pledges_remind` on `emails`; settings.PAYMENT_SWEEP_TASKS and EMAIL_TASKS), worked by several
workers in parallel.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery import shared_task
from django.core.cache import cache

log = logging.getLogger(__name__)

# A lock so two beats (or a slow run and the next tick) do not both do the same sweep. It is
# held for the whole run and released at its end; every phase of a run is bounded in time
# (charging.STEP_SECONDS), so a run ends well within this lease, and the lease only matters
# when a worker dies holding it. Correctness never depends on it: the services' conditional
# updates already make overlapping runs harmless, only wasteful.
_BEAT_LOCK_SECONDS = 10 * 60


def _once(name: str) -> str | None:
    """Take the lock for one run; the token it returns releases it (None: another run has it)."""
    token = uuid.uuid4().hex
    return token if cache.add(f"beat-lock:{name}", token, timeout=_BEAT_LOCK_SECONDS) else None


def _release(name: str, token: str) -> None:
    """Release our own lock only: a run that outlived its lease must not free the next one's."""
    key = f"beat-lock:{name}"
    if cache.get(key) == token:
        cache.delete(key)


@shared_task(name="pledges.tasks.settle_due_campaigns")
def settle_due() -> dict:
    """Freeze LIVE campaigns past their deadline, finish interrupted bulk moves and queue the
    pledges whose charge (or retry) is due."""
    from pledges.services import settlement

    token = _once("settle")
    if token is None:
        return {"skipped": "another run holds the lock"}
    try:
        summary = settlement.settle_due()
    finally:
        _release("settle", token)
    log.info("settle_due: %s", summary)
    return summary


@shared_task(name="pledges.tasks.collect_campaign", acks_late=True)
def campaign_collect_step(
    *, campaign_id: int, after_id: int = 0, up_to_id: int | None = None, part: bool = False
) -> dict:
    """A campaign was approved for collection: mark its pledges due and queue their charges,
    one bounded step at a time (each step queues the next), so no run outlasts the broker's
    visibility timeout and a redelivered message repeats one step at most.

    The approval's own message (`part` false) splits a large campaign into id ranges and queues
    one chain per range, so several worker processes collect it side by side; a small campaign
    is collected by this chain alone. A redelivered split only sends chains that find their
    pledges already moved (the bulk transition expects ACTIVE)."""
    from pledges.services import settlement

    if not part:
        ranges = settlement.campaign_collect_ranges(campaign_id=campaign_id)
        if len(ranges) > 1:
            for start, end in ranges:
                campaign_collect_step.delay(
                    campaign_id=campaign_id, after_id=start, up_to_id=end, part=True
                )
            return {"chains": len(ranges)}
    marked, resume = settlement.campaign_collect_step(
        campaign_id=campaign_id, after_id=after_id, up_to_id=up_to_id
    )
    if resume is not None:
        campaign_collect_step.delay(
            campaign_id=campaign_id, after_id=resume, up_to_id=up_to_id, part=True
        )
    return {"marked_due": marked, "resume_after": resume}


@shared_task(name="pledges.tasks.send_pledge_emails", acks_late=True)
def pledges_send_emails(*, pledge_ids: list[int], template: str) -> int:
    """Send one batch of settlement emails (routed to the `emails` queue)."""
    from pledges.services import notify

    return notify.pledges_send_emails(pledge_ids=pledge_ids, template=template)


# Longest a chunk of charges goes on starting charges: a Stripe that hangs makes each charge
# last up to its budget plus one try (charging.CHARGE_BUDGET_SECONDS), and a task must end well
# within the broker's redelivery limits (RabbitMQ's 30-minute consumer timeout, Redis's 4-hour
# visibility timeout). What is left is handed back for the next beat.
CHUNK_SECONDS = 10 * 60.0


@shared_task(name="pledges.tasks.charge_pledges", acks_late=True)
def pledges_charge(*, pledge_ids: list[int]) -> dict:
    """Charge a chunk of pledges one by one (each claims its own lease). Stops at once if Stripe
    refused our credentials or no rate-limit slot comes, or once it has run CHUNK_SECONDS; the
    pledges it did not reach get their queue mark lifted, so the next beat queues them again
    within a minute. (`charging.pledge_charge` for each pledge of the chunk.)"""
    from pledges.selectors import pledges_paid_among
    from pledges.services.charging import (
        SettlementHalted,
        pledge_charge,
        pledges_queue_marks_release,
    )
    from pledges.services.notify import receipts_held

    counts: dict[str, int] = {}
    skipped: list[int] = []
    started = time.monotonic()
    with receipts_held() as receipts:
        for n, pledge_id in enumerate(pledge_ids):
            stopped = ""
            if time.monotonic() - started > CHUNK_SECONDS:
                stopped = "out_of_time"
                log.error(
                    "pledges_charge stopped after %.0f s at pledge %s", CHUNK_SECONDS, pledge_id
                )
            else:
                try:
                    report = pledge_charge(pledge_id=pledge_id)
                except (SettlementHalted, TimeoutError) as exc:
                    stopped = "halted" if isinstance(exc, SettlementHalted) else "no_slot"
                    log.error(
                        "pledges_charge stopped (%s) at pledge %s: %s", stopped, pledge_id, exc
                    )
            if stopped:
                counts[stopped] = 1
                counts["released"] = pledges_queue_marks_release(pledge_ids=pledge_ids[n:])
                # Not looked at: a killed run may have paid some of them (a halt at the start
                # of a redelivered chunk), and nothing hands a paid pledge's receipt over later.
                skipped.extend(pledge_ids[n:])
                break
            counts[report.status] = counts.get(report.status, 0) + 1
            if report.status == "skipped":
                skipped.append(pledge_id)
        # A chunk delivered again after its worker was killed finds the pledges it had paid
        # already paid: their receipts, held until the end, were never handed over. The
        # `emails` worker sends each pledge's receipt once, so handing them over is safe.
        receipts.extend(pledges_paid_among(skipped))
    return counts


@shared_task(name="pledges.tasks.reconcile_payments")
def payments_reconcile() -> dict:
    """Find expired leases, pending attempts, 3-D Secure waits and pending refunds, and queue
    them in chunks for the payments workers (which ask Stripe)."""
    from pledges.services import reconcile

    token = _once("reconcile")
    if token is None:
        return {"skipped": "another run holds the lock"}
    try:
        summary = reconcile.payments_reconcile(fan_out=True)
    finally:
        _release("reconcile", token)
    log.info("payments_reconcile: %s", summary)
    return summary


@shared_task(name="pledges.tasks.reconcile_leases", acks_late=True)
def leases_resume(*, pledge_ids: list[int]) -> dict:
    """Resume one chunk of CHARGING pledges whose lease expired, with their pending keys."""
    from pledges.services import reconcile

    return reconcile.leases_resume(pledge_ids=pledge_ids)


@shared_task(name="pledges.tasks.reconcile_attempts", acks_late=True)
def attempts_resolve(*, ids: list[int]) -> dict:
    """Fill in one chunk of attempts left pending on pledges that moved on."""
    from pledges.services import reconcile

    return reconcile.attempts_resolve(ids=ids)


@shared_task(name="pledges.tasks.reconcile_action_checks", acks_late=True)
def action_checks_run(*, ids: list[int]) -> dict:
    """Ask Stripe about one chunk of pledges waiting for the supporter's 3-D Secure."""
    from pledges.services import reconcile

    return reconcile.action_checks_run(ids=ids)


@shared_task(name="pledges.tasks.reconcile_refunds", acks_late=True)
def refunds_retry(*, ids: list[int]) -> dict:
    """Send one chunk of pending refunds again, each with its own key."""
    from pledges.services import reconcile

    return reconcile.refunds_retry(ids=ids)


@shared_task(name="pledges.tasks.reconcile_new_cards", acks_late=True)
def new_cards_check(*, ids: list[int]) -> dict:
    """Charge the new cards one chunk of waiting supporters saved on a page that never
    reported back."""
    from pledges.services import reconcile

    return reconcile.new_cards_check(ids=ids)


@shared_task(name="pledges.tasks.expire_grace")
def payments_remind_and_expire() -> dict:
    """Find the supporters who still have to act and are due a reminder (every 48 hours), and
    those whose grace period is over, and queue them in chunks."""
    from pledges.services import grace

    summary = grace.payments_remind_and_expire(fan_out=True)
    log.info("payments_remind_and_expire: %s", summary)
    return summary


@shared_task(name="pledges.tasks.grace_remind", acks_late=True)
def pledges_remind(*, pledge_ids: list[int]) -> dict:
    """Send one chunk of payment reminders (routed to the `emails` queue)."""
    from pledges.services import grace

    return grace.pledges_remind(pledge_ids=pledge_ids)


@shared_task(name="pledges.tasks.grace_expire", acks_late=True)
def pledges_expire(*, pledge_ids: list[int]) -> dict:
    """Close the payment requests of one chunk of pledges whose grace is over and mark them
    UNPAID (routed to the `payments` queue: it calls Stripe)."""
    from pledges.services import grace

    return grace.pledges_expire(pledge_ids=pledge_ids)


@shared_task(name="pledges.tasks.reconcile_card_setups")
def pledges_setup_reconcile() -> dict:
    """Activate pledges whose card was saved at Stripe when neither the browser return nor the
    webhook reached us (a tab closed at the wrong moment)."""
    from pledges.services import pledging

    summary = pledging.pledges_setup_reconcile()
    log.info("pledges_setup_reconcile: %s", summary)
    return summary
