"""Celery entry points for settlement. Thin: load ids, call a service, log what happened.

Each task is named after the service it runs and imports its service inside the function
(services import tasks at module level; ARCHITECTURE.md). The registered names (`name=`) are
the old ones, which the beat schedule, the queue routes and any message already in a queue
use: `pledges.tasks.charge_*` is routed to the `payments` queue (settings.CELERY_TASK_ROUTES).
Beat runs `settle_due` every minute, `payments_reconcile` and `pledges_setup_reconcile` every
5 minutes and `payments_remind_and_expire` hourly; every one of them is safe to run twice at
once (the services use conditional updates).
"""

from __future__ import annotations

import logging
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
def campaign_collect_step(*, campaign_id: int, after_id: int = 0) -> dict:
    """A campaign was approved for collection: mark its pledges due and queue their charges,
    one bounded step at a time (each step queues the next), so no run outlasts the broker's
    visibility timeout and a redelivered message repeats one step at most."""
    from pledges.services import settlement

    marked, resume = settlement.campaign_collect_step(campaign_id=campaign_id, after_id=after_id)
    if resume is not None:
        campaign_collect_step.delay(campaign_id=campaign_id, after_id=resume)
    return {"marked_due": marked, "resume_after": resume}


@shared_task(name="pledges.tasks.send_pledge_emails", acks_late=True)
def pledges_send_emails(*, pledge_ids: list[int], template: str) -> int:
    """Send one batch of settlement emails (routed to the `emails` queue)."""
    from pledges.services import notify

    return notify.pledges_send_emails(pledge_ids=pledge_ids, template=template)


@shared_task(name="pledges.tasks.charge_pledges", acks_late=True)
def pledges_charge(*, pledge_ids: list[int]) -> dict:
    """Charge a chunk of pledges one by one (each claims its own lease). Stops at once if Stripe
    refused our credentials or no rate-limit slot comes; the pledges it did not reach get their
    queue mark lifted, so the next beat after the halt queues them again within a minute.
    (`charging.pledge_charge` for each pledge of the chunk.)"""
    from pledges.services.charging import (
        SettlementHalted,
        pledge_charge,
        pledges_queue_marks_release,
    )

    counts: dict[str, int] = {}
    for n, pledge_id in enumerate(pledge_ids):
        try:
            report = pledge_charge(pledge_id=pledge_id)
        except (SettlementHalted, TimeoutError) as exc:
            stopped = "halted" if isinstance(exc, SettlementHalted) else "no_slot"
            log.error("pledges_charge stopped (%s) at pledge %s: %s", stopped, pledge_id, exc)
            counts[stopped] = 1
            counts["released"] = pledges_queue_marks_release(pledge_ids=pledge_ids[n:])
            break
        counts[report.status] = counts.get(report.status, 0) + 1
    return counts


@shared_task(name="pledges.tasks.reconcile_payments")
def payments_reconcile() -> dict:
    """Resolve expired leases, pending attempts and refunds by asking Stripe."""
    from pledges.services import reconcile

    token = _once("reconcile")
    if token is None:
        return {"skipped": "another run holds the lock"}
    try:
        summary = reconcile.payments_reconcile()
    finally:
        _release("reconcile", token)
    log.info("payments_reconcile: %s", summary)
    return summary


@shared_task(name="pledges.tasks.expire_grace")
def payments_remind_and_expire() -> dict:
    """Remind supporters who still have to act (every 48 hours) and mark UNPAID those whose
    grace period is over."""
    from pledges.services import grace

    summary = grace.payments_remind_and_expire()
    log.info("payments_remind_and_expire: %s", summary)
    return summary


@shared_task(name="pledges.tasks.reconcile_card_setups")
def pledges_setup_reconcile() -> dict:
    """Activate pledges whose card was saved at Stripe when neither the browser return nor the
    webhook reached us (a tab closed at the wrong moment)."""
    from pledges.services import pledging

    summary = pledging.pledges_setup_reconcile()
    log.info("pledges_setup_reconcile: %s", summary)
    return summary
