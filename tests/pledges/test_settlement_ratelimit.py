"""The global Stripe rate limiter: never more than STRIPE_MAX_RPS slots in any one second,
across threads sharing the cache (as workers share Redis)."""

from __future__ import annotations

import contextlib
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


# --- every call to Stripe takes a slot, in the gateway --------------------------------------
# One call of every gateway function that talks to Stripe (ids Stripe does not know are fine:
# the slot is taken before the request goes out, whatever Stripe answers).
GATEWAY_CALLS = {
    "customer_create": lambda g: g.customer_create(email="slot@example.org"),
    "setup_intent_create": lambda g: g.setup_intent_create(
        customer_id="cus_nope", metadata={"pledge_id": "1"}
    ),
    "setup_intent_retrieve": lambda g: g.setup_intent_retrieve("seti_nope"),
    "payment_method_attach": lambda g: g.payment_method_attach(
        payment_method_id="pm_nope", customer_id="cus_nope"
    ),
    "payment_method_detach": lambda g: g.payment_method_detach(payment_method_id="pm_nope"),
    "payment_method_usable": lambda g: g.payment_method_usable(
        payment_method_id="pm_nope", customer_id="cus_nope"
    ),
    "demo_card_save": lambda g: g.demo_card_save(email="slot@example.org"),
    "payment_intent_charge_off_session": lambda g: g.payment_intent_charge_off_session(
        amount_cents=2000,
        currency="usd",
        customer_id="cus_nope",
        payment_method_id="pm_nope",
        metadata={"pledge_id": "1", "attempt": "1"},
        idempotency_key="slot-test-off",
        description="slot test",
    ),
    "payment_intent_retrieve": lambda g: g.payment_intent_retrieve("pi_nope"),
    "payment_intents_for_pledge": lambda g: g.payment_intents_for_pledge(1, customer_id="cus_x"),
    "payment_intent_charge_on_session": lambda g: g.payment_intent_charge_on_session(
        amount_cents=2000,
        currency="usd",
        customer_id="cus_nope",
        payment_method_id="pm_nope",
        metadata={"pledge_id": "1", "attempt": "1"},
        idempotency_key="slot-test-on",
    ),
    "payment_intent_cancel": lambda g: g.payment_intent_cancel("pi_nope"),
    "refund_create": lambda g: g.refund_create(
        payment_intent_id="pi_nope", amount_cents=100, idempotency_key="slot-test-refund"
    ),
    "refund_retrieve": lambda g: g.refund_retrieve("re_nope"),
    "refunds_for_intent": lambda g: g.refunds_for_intent("pi_nope"),
    "charge_retrieve": lambda g: g.charge_retrieve("ch_nope"),
    "dispute_retrieve": lambda g: g.dispute_retrieve("dp_nope"),
}
# Functions that never reach Stripe over the network.
OFFLINE = {"reset_client", "webhook_event_verify"}


def test_every_gateway_function_is_listed_here():
    """A new gateway function must be added to GATEWAY_CALLS (and so shown to take a slot)."""
    import inspect

    from pledges import gateway

    public = {
        name
        for name, fn in inspect.getmembers(gateway, inspect.isfunction)
        if fn.__module__ == gateway.__name__ and not name.startswith("_")
    }
    assert public - OFFLINE == set(GATEWAY_CALLS)


@pytest.fixture
def slots(monkeypatch):
    """Count the rate-limit slots taken (the real limiter is still asked)."""
    from pledges import ratelimit

    taken: list[int] = []
    real = ratelimit.stripe_slot_acquire

    def counting(**kwargs):
        taken.append(1)
        return real(**kwargs)

    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", counting)
    return taken


@pytest.mark.parametrize("name", sorted(GATEWAY_CALLS))
def test_every_gateway_function_takes_a_slot(name, stripe_local, settings, slots):
    from pledges import gateway

    settings.STRIPE_MAX_RPS = 1000
    # Stripe does not know the ids: it is asked all the same.
    with contextlib.suppress(gateway.GatewayError):
        GATEWAY_CALLS[name](gateway)
    assert len(slots) >= 1, f"{name} called Stripe without a rate-limit slot"


def test_each_network_retry_of_stripe_python_takes_its_own_slot(chaos, settings, slots):
    """stripe-python retries a 500 by itself (max_network_retries=2): three requests, three
    slots — the limiter counts what Stripe sees, not what we asked for."""
    from pledges import gateway

    settings.STRIPE_MAX_RPS = 1000
    chaos.rules(
        {
            "match": {"method": "POST", "path_regex": "^/v1/customers$"},
            "fault": "http_500",
            "times": 2,
        }
    )
    assert gateway.customer_create(email="retry@example.org", idempotency_key="slot-retry-1")
    assert len(slots) == 3
    assert chaos.stats()  # the proxy saw the tries (its counters are for the curious)


def test_a_web_request_without_a_slot_is_told_to_try_again_and_stripe_is_not_asked(
    stripe_local, settings
):
    """In a web request the gateway waits STRIPE_WEB_SLOT_WAIT_SECONDS at most, then raises a
    transient error (the page says "try again", a webhook answers 503)."""
    from pledges import gateway
    from pledges.ratelimit import StripeSlotBusy, WebRequestSlotWait

    settings.STRIPE_MAX_RPS = 1
    settings.STRIPE_WEB_SLOT_WAIT_SECONDS = 0.2
    _every_slot_taken()
    raised = []

    def view(request):
        try:
            gateway.payment_intent_retrieve("pi_web")
        except StripeSlotBusy as exc:
            raised.append(exc)
        return "answered"

    started = time.monotonic()
    assert WebRequestSlotWait(view)(object()) == "answered"
    assert time.monotonic() - started < 1.5
    assert raised


@pytest.mark.django_db
def test_the_setup_reconciler_without_a_slot_stops_and_leaves_the_rest_for_its_next_run(settings):
    """The setup reconciler now takes slots like every Stripe call: when none comes within the
    worker's wait budget it stops with a count (the pledges stay waiting for the next run)
    instead of failing the beat task with a TimeoutError."""
    import datetime as dt

    from django.utils import timezone

    from pledges.models import Pledge
    from pledges.services.pledging import pledges_setup_reconcile
    from tests.factories import PledgeFactory

    settings.STRIPE_MAX_RPS = 1
    settings.STRIPE_SLOT_WAIT_SECONDS = 0.1
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: never reached
    for n in range(2):
        pledge = PledgeFactory(status="pending_setup", stripe_setup_intent_id=f"seti_wait{n}")
        Pledge.objects.filter(pk=pledge.pk).update(
            updated_at=timezone.now() - dt.timedelta(minutes=10)
        )
    _every_slot_taken()
    assert pledges_setup_reconcile() == {"no_slot": 1}
    assert Pledge.objects.filter(status="pending_setup").count() == 2
