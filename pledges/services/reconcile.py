"""The reconciler: make our records agree with Stripe's, by asking Stripe, never by guessing.

Runs every 5 minutes (and as `manage.py reconcile_payments`). It resolves:
1. CHARGING pledges whose lease expired (a worker died, or a 429/5xx/timeout outlasted its
   retries): resumed through `pledge_charge`, which retrieves the known intent, or repeats the
   same request with the same idempotency key inside Stripe's 24-hour memory (Stripe replays
   the stored answer, or performs the one and only charge if it never got it), or past that
   looks the pledge's intents up by metadata before allowing a new attempt.
2. Attempts left pending on a pledge that has moved on (e.g. a webhook recorded the outcome
   first): their own outcome is filled in from Stripe.
3. ACTION_REQUIRED pledges: the supporter may have finished 3-D Secure and closed the tab before
   we heard (localstripe sends few webhooks; real ones can be lost).
4. Refunds left pending: repeated with their own key.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.cache import cache
from django.utils import timezone

from pledges import gateway
from pledges.gateway import ChargeOutcome, GatewayError
from pledges.models import PaymentAttempt, Pledge, Refund
from pledges.selectors import ids_in_chunks
from pledges.services.attempts import SettlementError, attempt_record
from pledges.services.charging import LEASE, SettlementHalted, best_intent, pledge_charge

log = logging.getLogger(__name__)
S = Pledge.Status
Outcome = PaymentAttempt.Outcome
# Give the supporter's own browser return a head start before we go and ask.
ACTION_CHECK_AFTER = dt.timedelta(minutes=5)
REFUND_RETRY_AFTER = dt.timedelta(minutes=2)
ACTION_RECHECK_SECONDS = 30 * 60


def payments_reconcile(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    summary = {
        "resumed": 0,
        "attempts_resolved": 0,
        "confirmed_by_supporter": 0,
        "refunds": 0,
        "errors": 0,
    }
    try:
        expired = Pledge.objects.filter(status=S.CHARGING, lease_expires_at__lte=now)
        for ids in ids_in_chunks(expired):
            for pledge_id in ids:
                try:
                    # No `now`: each pledge's lease and 24-hour decision read the clock when
                    # they are made (a hanging Stripe can make this loop run for long).
                    report = pledge_charge(pledge_id=pledge_id)
                except (SettlementError, GatewayError, TimeoutError) as exc:
                    # One pledge that cannot be resumed now (rate-limit slot not granted,
                    # changed under us, Stripe unreachable) must not hold up the others: it
                    # stays CHARGING and its renewed lease brings it back on a later run.
                    summary["errors"] += 1
                    log.error(
                        "reconciler: pledge %s not resumed (%s: %s); next run",
                        pledge_id,
                        type(exc).__name__,
                        exc,
                    )
                    continue
                if report.status != "skipped":
                    summary["resumed"] += 1
    except SettlementHalted as exc:
        summary["halted"] = 1
        log.error("reconciler stopped: %s", exc)
        return summary
    summary["attempts_resolved"] = _stray_attempts_resolve(now=now)
    summary["confirmed_by_supporter"] = _action_required_check(now=now)
    summary["refunds"] = _pending_refunds_retry(now=now)
    from pledges.services.onsession import pledges_new_cards_check

    summary["new_cards_charged"] = pledges_new_cards_check()
    return summary


def _stray_attempts_resolve(*, now: dt.datetime) -> int:
    stray = (
        PaymentAttempt.objects.filter(outcome=Outcome.PENDING, created_at__lte=now - LEASE)
        .exclude(pledge__status=S.CHARGING)
        .select_related("pledge")
        .order_by("pk")
    )
    resolved = 0
    for attempt in stray.iterator(chunk_size=100):
        try:
            result: gateway.ChargeResult | None
            if attempt.stripe_payment_intent_id:
                result = gateway.payment_intent_retrieve(attempt.stripe_payment_intent_id)
            else:
                # Only this attempt's own intents (by the metadata we set) answer for it.
                found = [
                    r
                    for r in gateway.payment_intents_for_pledge(
                        attempt.pledge_id, customer_id=attempt.pledge.stripe_customer_id
                    )
                    if r.metadata.get("attempt") == str(attempt.number)
                ]
                result = best_intent(found)
        except (GatewayError, TimeoutError) as exc:
            log.warning("attempt %s: Stripe unreachable (%s); next run", attempt.pk, exc)
            continue
        if result is None or result.outcome == ChargeOutcome.PROCESSING:
            if result is None:
                PaymentAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
                    outcome=Outcome.CANCELED,
                    message="Stripe holds no PaymentIntent for this attempt.",
                    finished_at=now,
                )
                resolved += 1
            continue
        attempt_record(attempt_id=attempt.pk, result=result, source="reconciler")
        resolved += 1
    return resolved


def _action_required_check(*, now: dt.datetime) -> int:
    waiting = (
        Pledge.objects.filter(status=S.ACTION_REQUIRED, updated_at__lte=now - ACTION_CHECK_AFTER)
        .exclude(stripe_payment_intent_id="")
        .order_by("pk")
    )
    moved = 0
    for pledge in waiting.iterator(chunk_size=100):
        # Webhooks and the supporter's return usually report first: ask Stripe about each
        # waiting pledge at most every half hour, so thousands of them never eat the rate
        # limit that charges need.
        if not cache.add(f"reconcile:action-check:{pledge.pk}", 1, timeout=ACTION_RECHECK_SECONDS):
            continue
        if action_required_refresh(pledge=pledge) != S.ACTION_REQUIRED:
            moved += 1
    return moved


def action_required_refresh(*, pledge: Pledge) -> str:
    """Ask Stripe whether the supporter finished (or failed) 3-D Secure; record it."""
    try:
        result = gateway.payment_intent_retrieve(pledge.stripe_payment_intent_id)
    except (GatewayError, TimeoutError) as exc:
        log.warning("pledge %s: Stripe unreachable (%s); next run", pledge.pk, exc)
        return pledge.status
    if result.outcome in (ChargeOutcome.REQUIRES_ACTION, ChargeOutcome.PROCESSING):
        return pledge.status
    attempt = pledge.attempts.filter(stripe_payment_intent_id=result.payment_intent_id).first()
    if attempt is None:
        return pledge.status
    return attempt_record(attempt_id=attempt.pk, result=result, source="reconciler")


def _pending_refunds_retry(*, now: dt.datetime) -> int:
    from pledges.services.refunds import RefundError, refund_submit

    pending = Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lte=now - REFUND_RETRY_AFTER
    ).order_by("pk")
    done = 0
    for refund in pending.iterator(chunk_size=100):
        try:
            refund_submit(refund=refund)
            done += 1
        except RefundError as exc:
            log.warning("refund %s still pending: %s", refund.pk, exc)
    return done
