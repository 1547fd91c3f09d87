"""/metrics: Prometheus figures for operators, readable by platform staff or a scraper holding
METRICS_TOKEN, and by nobody else."""

from __future__ import annotations

import pytest
from django.test import Client

from pledges import gateway
from tests.factories import UserFactory
from tests.pledges.settlement_support import saved_card

pytestmark = pytest.mark.django_db


def test_strangers_supporters_and_wrong_tokens_get_nothing(settings):
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    assert Client().get("/metrics").status_code == 404
    supporter = Client()
    supporter.force_login(UserFactory())
    assert supporter.get("/metrics").status_code == 404
    wrong = Client(HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.get("/metrics").status_code == 404


def test_no_token_configured_means_no_token_is_accepted(settings):
    settings.METRICS_TOKEN = ""
    assert Client(HTTP_AUTHORIZATION="Bearer ").get("/metrics").status_code == 404


def test_a_scraper_with_the_token_reads_charges_latency_waits_and_queue_depth(
    settings, stripe_local
):
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    customer, card = saved_card()
    result = gateway.payment_intent_charge_off_session(
        amount_cents=1500,
        currency="usd",
        customer_id=customer,
        payment_method_id=card,
        metadata={"pledge_id": "1"},
        idempotency_key="metrics-test-1",
    )
    assert result.outcome == gateway.ChargeOutcome.SUCCEEDED
    response = Client(HTTP_AUTHORIZATION="Bearer s3cret-token-for-tests").get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'rallyround_charges_total{outcome="succeeded"}' in body
    assert 'rallyround_stripe_request_seconds_count{operation="charge_off_session"}' in body
    assert "rallyround_stripe_slot_wait_seconds" in body
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert 'rallyround_celery_queue_depth{queue="payments"}' in body


def test_platform_staff_signed_in_may_read_it():
    from django.contrib.auth.models import Group

    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Platform staff"))
    client = Client()
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_errors_go_to_sentry_when_a_dsn_is_set():
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); import sentry_sdk; "
        "print(sentry_sdk.get_client().is_active())"
    )
    env = {**os.environ, "SENTRY_DSN": "http://public@127.0.0.1:9/1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().endswith("True")
    env.pop("SENTRY_DSN")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().endswith("False")
