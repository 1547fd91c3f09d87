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


@pytest.mark.django_db
def test_a_chunk_stops_starting_charges_after_its_time_and_hands_the_rest_back(monkeypatch):
    """A chunk of 25 charges each hanging to its budget would run for over half an hour, past
    RabbitMQ's consumer timeout: the chunk starts no charge after CHUNK_SECONDS, and the pledges
    it did not reach get their queue mark lifted for the next beat."""
    import datetime as dt

    from django.utils import timezone

    from pledges import tasks
    from pledges.models import Pledge
    from tests.factories import PledgeFactory

    later = timezone.now() + dt.timedelta(hours=1)  # the fan-out's queue mark
    pledges = [
        PledgeFactory(status=Pledge.Status.CHARGE_DUE, next_attempt_at=later) for _ in range(5)
    ]
    now = [0.0]
    monkeypatch.setattr(tasks, "time", SimpleNamespace(monotonic=lambda: now[0]))
    charged: list[int] = []

    def hangs_to_its_budget(*, pledge_id):
        charged.append(pledge_id)
        now[0] += 350.0  # its budget, then tries that hang to the Stripe timeout
        return charging.ChargeReport(pledge_id=pledge_id, status=Pledge.Status.CHARGING)

    monkeypatch.setattr(charging, "pledge_charge", hangs_to_its_budget)
    counts = tasks.pledges_charge(pledge_ids=[p.pk for p in pledges])
    assert charged == [pledges[0].pk, pledges[1].pk]  # 600 s had passed before the third
    assert counts["out_of_time"] == 1
    assert counts["released"] == 3
    assert (
        Pledge.objects.filter(
            pk__in=[p.pk for p in pledges[2:]], next_attempt_at__lte=timezone.now()
        ).count()
        == 3
    )
