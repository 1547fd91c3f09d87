"""A Stripe that hangs holds a payments worker for a bounded time per pledge (issue 14): no new
try of a charge starts CHARGE_BUDGET_SECONDS after its first. Before, each of five tries could
take the Stripe timeout three times over (stripe-python's own retries): minutes per pledge."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pledges.gateway import GatewayTransientError
from pledges.services import charging


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """A monotonic clock the test moves: each Stripe try takes 40 s, sleeping takes its time."""
    now = [1_000.0]
    monkeypatch.setattr(charging.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(
        charging.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds)
    )
    return now


def test_no_new_try_of_a_hanging_charge_starts_after_the_budget(monkeypatch, clock):
    tries: list[float] = []

    def hangs_then_times_out(**_params):
        tries.append(clock[0])
        clock[0] += 40.0
        raise GatewayTransientError("Request timed out", code="timeout", http_status=None)

    monkeypatch.setattr(charging.gateway, "payment_intent_charge_off_session", hangs_then_times_out)
    pledge = SimpleNamespace(
        pk=1, campaign_id=1, stripe_customer_id="cus", stripe_payment_method_id="pm"
    )
    attempt = SimpleNamespace(
        number=1, amount_cents=1_500, currency="usd", idempotency_key="k", on_session=False
    )
    started = clock[0]
    with pytest.raises(GatewayTransientError):
        charging._charge_with_backoff(pledge, attempt)
    assert len(tries) == 2  # at 0 s and at about 40.5 s; a third would start past 60 s
    assert all(t - started <= charging.CHARGE_BUDGET_SECONDS for t in tries)
    assert clock[0] - started < charging.CHARGE_BUDGET_SECONDS + 40.0 + 1.0


def test_quick_transient_errors_still_get_every_try(monkeypatch, clock):
    tries: list[float] = []

    def fails_fast(**_params):
        tries.append(clock[0])
        raise GatewayTransientError("Service unavailable", code="", http_status=503)

    monkeypatch.setattr(charging.gateway, "payment_intent_charge_off_session", fails_fast)
    pledge = SimpleNamespace(
        pk=1, campaign_id=1, stripe_customer_id="cus", stripe_payment_method_id="pm"
    )
    attempt = SimpleNamespace(
        number=1, amount_cents=1_500, currency="usd", idempotency_key="k", on_session=False
    )
    with pytest.raises(GatewayTransientError):
        charging._charge_with_backoff(pledge, attempt)
    assert len(tries) == charging.TRANSIENT_TRIES
