"""The global Stripe rate limiter: never more than STRIPE_MAX_RPS slots in any one second,
across threads sharing the cache (as workers share Redis)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from pledges.ratelimit import stripe_slot_acquire


def test_no_second_hands_out_more_slots_than_the_limit(settings):
    settings.STRIPE_MAX_RPS = 5
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(4):
            stripe_slot_acquire()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(stamps) == 12
    per_second = Counter(int(s) for s in stamps)
    assert max(per_second.values()) <= 5
    # 12 slots at 5 a second need at least three distinct seconds.
    assert len(per_second) >= 3
    assert time.time() - started >= 1.0


def test_a_limit_of_zero_turns_the_limiter_off(settings):
    settings.STRIPE_MAX_RPS = 0
    started = time.monotonic()
    for _ in range(100):
        assert stripe_slot_acquire() == 0.0
    assert time.monotonic() - started < 0.5


def _every_slot_taken(seconds: int = 10) -> None:
    from django.core.cache import cache

    now = int(time.time())
    for window in range(now, now + seconds):
        cache.set(f"stripe-rps:{window}", 10_000, timeout=seconds + 5)


def test_a_web_request_waits_briefly_for_a_slot_and_says_stripe_is_busy(settings):
    from pledges.gateway import GatewayTransientError
    from pledges.ratelimit import WebRequestSlotWait

    settings.STRIPE_MAX_RPS = 1
    settings.STRIPE_SLOT_WAIT_SECONDS = 60
    settings.STRIPE_WEB_SLOT_WAIT_SECONDS = 0.2
    _every_slot_taken()
    raised = []

    def view(request):
        try:
            stripe_slot_acquire()
        except GatewayTransientError as exc:  # what the payment pages and the webhook catch
            raised.append(exc)
        return "answered"

    started = time.monotonic()
    assert WebRequestSlotWait(view)(object()) == "answered"
    assert time.monotonic() - started < 1.0
    assert raised


@pytest.mark.django_db
def test_a_success_webhook_for_a_recorded_charge_takes_no_slot_and_asks_stripe_nothing(settings):
    from pledges.gateway import WebhookEvent
    from pledges.models import PaymentAttempt
    from pledges.services.settlement_webhooks import handle_payment_intent_event
    from tests.factories import PledgeFactory

    settings.STRIPE_MAX_RPS = 1
    settings.STRIPE_SLOT_WAIT_SECONDS = 0.1
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: any call would fail
    pledge = PledgeFactory(status="paid", paid_cents=2000)
    PaymentAttempt.objects.create(
        pledge=pledge,
        number=1,
        idempotency_key=f"pledge-{pledge.pk}-attempt-1",
        amount_cents=2000,
        outcome=PaymentAttempt.Outcome.SUCCEEDED,
        stripe_payment_intent_id="pi_recorded",
    )
    _every_slot_taken()
    event = WebhookEvent(
        id="evt_1",
        type="payment_intent.succeeded",
        object_id="pi_recorded",
        object_type="payment_intent",
        data={"metadata": {"pledge_id": str(pledge.pk)}},
    )
    assert handle_payment_intent_event(event) == "already recorded"
