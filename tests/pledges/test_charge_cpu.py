"""The payments worker's work per charge (issue 14: at most 10 ms of CPU per charge, so one core
keeps up with Stripe's 100 requests a second). CPU itself is measured by
`bench/charge_profile.py`; these tests hold the things it found, which a change could quietly
bring back: database round trips per charge, and requests re-reading the environment on every
call to Stripe. The money rules are the other tests' business; each test here still checks the
charge it made."""

from __future__ import annotations

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from pledges import gateway
from pledges.models import PaymentAttempt, Pledge, PledgeEvent
from pledges.services.charging import pledge_charge
from tests.pledges.settlement_support import charge_due_campaign

pytestmark = pytest.mark.django_db

# One charge that pays: the claim (UPDATE … RETURNING, its event row, the attempt row), then
# the record (lock the pledge found through its attempt, lock the attempt, write it, UPDATE …
# RETURNING, the campaign's counters returning its slug, the event row). No read of the
# pledge before the claim: a due pledge is claimed by its id alone.
# Issue 14 measured 20 statements before (a re-read after each UPDATE, a savepoint around each
# transition, an extra look-up of the attempt's pledge and a re-read of the final status).
STATEMENTS_PER_PAID_CHARGE = 9


def test_a_paid_charge_takes_a_fixed_small_number_of_statements(
    stripe_local, staff, django_capture_on_commit_callbacks
):
    campaign, (first, second) = charge_due_campaign(staff, count=2)
    pledge_charge(pledge_id=first.pk)  # imports, connection set-up
    with CaptureQueriesContext(connection) as captured:
        report = pledge_charge(pledge_id=second.pk)
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
    ]
    savepoints = [q for q in captured.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert report.status == Pledge.Status.PAID
    assert len(statements) <= STATEMENTS_PER_PAID_CHARGE, "\n".join(statements)
    # The test's own transaction wraps everything here, so the claim and the record are
    # savepoints; a transition inside them adds none.
    assert len(savepoints) == 2
    second.refresh_from_db()
    campaign.refresh_from_db()
    assert second.status == Pledge.Status.PAID
    assert second.paid_cents == second.amount_cents
    assert campaign.collected_cents == first.amount_cents + second.amount_cents
    assert campaign.paid_count == 2
    assert PaymentAttempt.objects.get(pledge=second).outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert list(
        PledgeEvent.objects.filter(pledge=second, kind=PledgeEvent.Kind.STATUS_CHANGED)
        .order_by("pk")
        .values_list("from_status", "to_status")
    ) == [
        (Pledge.Status.ACTIVE, Pledge.Status.CHARGE_DUE),
        (Pledge.Status.CHARGE_DUE, Pledge.Status.CHARGING),
        (Pledge.Status.CHARGING, Pledge.Status.PAID),
    ]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SUCCEEDED


def test_calls_to_stripe_do_not_read_proxy_settings_from_the_environment_each_time(
    stripe_local, staff, monkeypatch
):
    """requests walks all of os.environ twice per request for proxy settings unless told not
    to (about a twentieth of a charge's CPU); the gateway reads them once per process."""
    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    gateway.customer_create(email="warm@example.org")  # the client is built (and reads them)
    reads = []
    real = requests.sessions.get_environ_proxies

    def counted(*args, **kwargs):
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)
    report = pledge_charge(pledge_id=pledge.pk)
    assert report.status == Pledge.Status.PAID
    assert reads == []


def test_the_stripe_client_still_uses_the_proxy_the_environment_names(settings, monkeypatch):
    """Read once, when the client is built: HTTPS_PROXY still applies to calls to Stripe."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    gateway.reset_client()
    try:
        http_client = gateway._client()._requestor._client
        assert http_client._proxy == {"https": "http://proxy.example.org:3128"}
    finally:
        gateway.reset_client()


def test_after_its_commit_a_paid_charge_asks_the_database_nothing(
    stripe_local, staff, django_capture_on_commit_callbacks
):
    """The receipt, the page version and the webhook event are handed over after commit; who
    listens to `pledge.paid` is known to the process (read at most every few seconds), not
    looked up in the database for every charge."""
    campaign, (first, second) = charge_due_campaign(staff, count=2)
    with django_capture_on_commit_callbacks(execute=True):
        pledge_charge(pledge_id=first.pk)  # reads the subscribed event types once
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = pledge_charge(pledge_id=second.pk)
    assert report.status == Pledge.Status.PAID
    with CaptureQueriesContext(connection) as captured:
        for callback in callbacks:
            callback()
    assert [q["sql"] for q in captured.captured_queries] == []
