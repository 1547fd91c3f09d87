"""Outgoing webhooks to a real HTTP receiver on loopback: signed (Standard Webhooks), retried
with backoff, delivered once, and an endpoint down for a day disabled with its organizers told."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import socket
import threading

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.tasks import webhook_deliveries_due, webhook_event_fan_out
from api.webhooks import webhook_endpoint_save, webhook_url_validate
from pledges.models import Pledge
from pledges.services.transitions import pledge_transition
from supporters.services import (
    supporter_confirm,
    supporter_update_preferences,
    supporter_upsert,
)
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    PledgeFactory,
    SupporterFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


class Receiver:
    """A CRM's webhook endpoint: answers each POST with the next status of `script` (then 200),
    verifies the signature as it arrives (at the moment it was sent) and keeps what it got."""

    def __init__(self, secret_holder: dict, script: list[int]):
        self.script = list(script)
        self.received: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(secret_holder["secret"]).verify(body, headers)
                    verified = True
                except Exception:  # noqa: BLE001 — any failure means "not verified"
                    verified = False
                receiver.received.append(
                    {"headers": headers, "body": json.loads(body), "verified": verified}
                )
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.end_headers()

            def do_GET(self):  # noqa: N802 — a followed redirect would arrive here
                receiver.received.append({"headers": dict(self.headers), "followed": True})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rallyround"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings):
    """The receivers here listen on loopback, which only a developer's setting allows."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def org_world(db):
    organizer = UserFactory(email="org@example.org", is_staff=True)
    org = OrganizationFactory(name="Alpha")
    org.members.add(organizer)
    campaign = CampaignFactory(organization=org)
    return org, campaign


@pytest.fixture
def receiver():
    holder: dict = {}
    made: list[Receiver] = []

    def make(script, endpoint_kwargs):
        r = Receiver(holder, script)
        made.append(r)
        endpoint = webhook_endpoint_save(url=r.url, description="CRM", **endpoint_kwargs)
        holder["secret"] = endpoint.secret
        return r, endpoint

    yield make
    for r in made:
        r.close()


def _pledge_made(campaign, django_capture_on_commit_callbacks) -> Pledge:
    supporter = SupporterFactory(
        campaign=campaign, name="Rosa Parks", consent_org=True, consent_org_at=timezone.now()
    )
    pledge = PledgeFactory(
        campaign=campaign,
        supporter=supporter,
        status=Pledge.Status.PENDING_SETUP,
        card_last4="4242",
        card_brand="visa",
    )
    with django_capture_on_commit_callbacks(execute=True):
        pledge_transition(pledge=pledge, to=Pledge.Status.ACTIVE, note="Card saved.")
    return pledge


def _sweep(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliveries_due.delay()


def test_a_pledge_arrives_signed_and_once_after_two_500s(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False) as clock:
        crm, endpoint = receiver(
            [500, 500], {"organization": org, "events": ["pledge.created", "pledge.paid"]}
        )
        pledge = _pledge_made(campaign, django_capture_on_commit_callbacks)
        assert len(crm.received) == 1  # sent at once, after commit
        _sweep(django_capture_on_commit_callbacks)
        assert len(crm.received) == 1  # the retry is not due yet
        clock.shift(dt.timedelta(seconds=6))
        _sweep(django_capture_on_commit_callbacks)
        assert len(crm.received) == 2
        clock.shift(dt.timedelta(minutes=5))
        _sweep(django_capture_on_commit_callbacks)
        assert len(crm.received) == 3
        for hours in (1, 5, 24, 48):
            clock.shift(dt.timedelta(hours=hours))
            _sweep(django_capture_on_commit_callbacks)
    assert len(crm.received) == 3  # delivered: never again
    ids = {r["headers"]["webhook-id"] for r in crm.received}
    assert len(ids) == 1  # the receiver deduplicates on it
    assert all(r["verified"] for r in crm.received)
    assert all(r["headers"]["webhook-signature"].startswith("v1,") for r in crm.received)
    payload = crm.received[-1]["body"]
    assert payload["type"] == "pledge.created"
    assert payload["data"]["amount_cents"] == pledge.amount_cents
    assert payload["data"]["status"] == "pledged"
    assert payload["data"]["_links"]["osdi:person"]["href"].endswith(
        f"/api/v1/people/{pledge.supporter_id}/"
    )
    text = json.dumps(payload).lower()
    assert "4242" not in text
    assert "visa" not in text
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery))
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert all(a.response_ms >= 0 for a in attempts)
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.failing_since is None


def test_the_same_event_fanned_out_twice_is_delivered_once(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    crm, _endpoint = receiver([], {"organization": org, "events": ["campaign.succeeded"]})
    kwargs = {
        "event_id": "msg_fixed",
        "event_type": "campaign.succeeded",
        "object_id": campaign.pk,
        "occurred_at": timezone.now().isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_fan_out.delay(**kwargs)
        webhook_event_fan_out.delay(**kwargs)
    assert len(crm.received) == 1
    assert WebhookEvent.objects.count() == 1


def test_only_subscribed_events_of_the_endpoints_own_organization_are_sent(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    other = CampaignFactory()
    crm, _endpoint = receiver([], {"organization": org, "events": ["pledge.paid"]})
    _pledge_made(campaign, django_capture_on_commit_callbacks)  # pledge.created: not subscribed
    other_pledge = PledgeFactory(campaign=other, status=Pledge.Status.CHARGE_DUE)
    with django_capture_on_commit_callbacks(execute=True):
        pledge_transition(pledge=other_pledge, to=Pledge.Status.PAID)  # another organization
    assert crm.received == []


def test_supporter_events_are_sent_only_for_people_who_consented(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    crm, _endpoint = receiver(
        [], {"organization": org, "events": ["supporter.created", "supporter.confirmed"]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        quiet, _created = supporter_upsert(
            campaign=campaign, email="quiet@example.org", name="Quiet Person", consent_org=False
        )
    with django_capture_on_commit_callbacks(execute=True):
        supporter_confirm(supporter=quiet)
    assert crm.received == []  # not even an id, a tier or "consented: false"
    assert not WebhookEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        open_, _created = supporter_upsert(
            campaign=campaign, email="open@example.org", name="Open Person", consent_org=True
        )
    with django_capture_on_commit_callbacks(execute=True):
        supporter_confirm(supporter=open_)
    (got,) = crm.received  # created while unconfirmed: not a person the CSV or API would show
    assert got["body"]["type"] == "supporter.confirmed"
    assert got["body"]["data"]["person"]["email_addresses"][0]["address"] == "open@example.org"


def test_a_retry_sends_the_data_as_it_is_now_and_honours_consent_withdrawn(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    crm, _endpoint = receiver(
        [500, 500], {"organization": org, "events": ["pledge.created", "supporter.confirmed"]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        rosa, _created = supporter_upsert(
            campaign=campaign, email="rosa@example.org", name="Rosa Parks", consent_org=True
        )
    with django_capture_on_commit_callbacks(execute=True):
        supporter_confirm(supporter=rosa)
    pledge = PledgeFactory(campaign=campaign, supporter=rosa, status=Pledge.Status.PENDING_SETUP)
    with django_capture_on_commit_callbacks(execute=True):
        pledge_transition(pledge=pledge, to=Pledge.Status.ACTIVE, note="Card saved.")
    first_confirmed, first_pledge = crm.received  # both answered 500
    assert "rosa@example.org" in json.dumps(first_confirmed["body"])
    assert "person" in json.dumps(first_pledge["body"]["data"])
    supporter_update_preferences(
        supporter=rosa,
        display_name="",
        public_listing=False,
        consent_updates=False,
        consent_updates_text="",
        consent_org=False,
        consent_org_text="",
    )
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=10), tick=False):
        _sweep(django_capture_on_commit_callbacks)
    (retried,) = crm.received[2:]  # the person's own event is not sent again
    assert retried["body"]["type"] == "pledge.created"
    assert "person" not in json.dumps(retried["body"]["data"])  # no link to her any more
    assert "Rosa" not in json.dumps(retried["body"])
    confirmed = WebhookDelivery.objects.get(event__type="supporter.confirmed")
    assert confirmed.status == WebhookDelivery.Status.FAILED
    assert confirmed.attempt_count == 1


def test_an_endpoint_down_for_a_day_is_disabled_and_its_organizers_told(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    endpoint = webhook_endpoint_save(
        organization=org,
        url=f"http://127.0.0.1:{dead_port}/hook",
        description="down",
        events=["pledge.created"],
    )
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False) as clock:
        _pledge_made(campaign, django_capture_on_commit_callbacks)
        for _ in range(4 * 23):  # every 15 minutes for 23 hours: still trying
            clock.shift(dt.timedelta(minutes=15))
            _sweep(django_capture_on_commit_callbacks)
        endpoint.refresh_from_db()
        assert endpoint.is_active
        assert mail.outbox == []
        for _ in range(4 * 2):
            clock.shift(dt.timedelta(minutes=15))
            _sweep(django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at - t0 >= dt.timedelta(hours=24)
    assert "24 hours" in endpoint.disabled_reason
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert 6 <= delivery.attempt_count <= 8
    assert all(a.status_code is None for a in delivery.attempts.all())
    (message,) = mail.outbox
    assert message.to == ["org@example.org"]
    assert f"127.0.0.1:{dead_port}" in message.subject


def test_endpoints_must_use_https_in_production(settings):
    from django.core.exceptions import ValidationError

    settings.WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(ValidationError):
        webhook_url_validate("http://crm.example.org/hook")
    webhook_url_validate("https://crm.example.org/hook")
    assert WebhookEndpoint.objects.count() == 0


def test_in_production_endpoints_may_not_point_into_our_network(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks, settings
):
    from django.core.exceptions import ValidationError

    org, campaign = org_world
    crm, _endpoint = receiver([], {"organization": org, "events": ["pledge.created"]})
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    for url in ("https://127.0.0.1/hook", "https://169.254.169.254/latest", "https://10.0.0.8/"):
        with pytest.raises(ValidationError):
            webhook_url_validate(url)
    # An endpoint saved earlier on a loopback address is not called either.
    _pledge_made(campaign, django_capture_on_commit_callbacks)
    assert crm.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error == "The address is not a public one."


def test_a_redirect_is_a_failure_and_never_followed(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    crm, _endpoint = receiver([302], {"organization": org, "events": ["pledge.created"]})
    _pledge_made(campaign, django_capture_on_commit_callbacks)
    assert len(crm.received) == 1  # /elsewhere was never asked for
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING  # to be retried
    assert delivery.last_status_code == 302


@pytest.fixture
def dns(monkeypatch):
    """Names the test gives answers for, each a list of successive answers (the last repeats);
    every other name is resolved for real. (A rebinding DNS server cannot run here.)"""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


def test_the_post_goes_to_the_address_that_was_checked_not_a_rebound_one(
    org_world, receiver, celery_eager, django_capture_on_commit_callbacks, settings, dns
):
    org, campaign = org_world
    answers, asked = dns
    # crm.example answers a public address when checked, then our own loopback (rebinding).
    answers["crm.example"] = ["8.8.8.8", "127.0.0.1"]
    crm, endpoint = receiver([], {"organization": org, "events": ["pledge.created"]})
    endpoint.url = crm.url.replace("127.0.0.1", "crm.example")
    endpoint.save()
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    _pledge_made(campaign, django_capture_on_commit_callbacks)
    assert crm.received == []  # the POST never reached the loopback receiver
    assert asked == ["crm.example"]  # resolved once, for the check and the connection
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None


def test_organizers_see_a_generic_error_not_the_network_s_own(
    org_world, celery_eager, django_capture_on_commit_callbacks
):
    org, campaign = org_world
    with socket.socket() as s:  # a port nobody listens on: "Connection refused"
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    webhook_endpoint_save(
        organization=org,
        url=f"http://127.0.0.1:{dead_port}/hook",
        description="down",
        events=["pledge.created"],
    )
    _pledge_made(campaign, django_capture_on_commit_callbacks)
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code is None
    assert "refused" not in attempt.error.lower()
    assert attempt.error.startswith("No answer from the endpoint")
    assert WebhookDelivery.objects.get().last_error == attempt.error


def test_private_hosts_are_refused_unless_debug_or_asked_for():
    import subprocess
    import sys

    def allowed(**env):
        code = "from django.conf import settings; print(settings.WEBHOOK_ALLOW_PRIVATE_HOSTS)"
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    base = {"RALLYROUND_ENV": "staging", "DEBUG": "false"}
    assert allowed(**base) == "False"  # staging: no calls into our network
    assert allowed(**{**base, "DEBUG": "true"}) == "True"  # a developer's machine
    assert allowed(**{**base, "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true"}) == "True"


def _tls_receiver(tmp_path, monkeypatch, cert_name: str) -> Receiver:
    """A Receiver speaking HTTPS with a self-signed certificate for `cert_name`, which this
    process then trusts (OpenSSL reads SSL_CERT_FILE when a default context is made)."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 — fixed arguments
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={cert_name}"]
        + ["-addext", f"subjectAltName=DNS:{cert_name}"],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    holder: dict = {}
    crm = Receiver(holder, [])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    crm.server.socket = context.wrap_socket(crm.server.socket, server_side=True)
    crm.holder = holder
    return crm


@pytest.mark.parametrize(("cert_name", "delivered"), [("crm.test", True), ("other.test", False)])
def test_https_goes_to_the_checked_address_with_the_host_name_s_certificate(
    org_world,
    celery_eager,
    django_capture_on_commit_callbacks,
    dns,
    tmp_path,
    monkeypatch,
    cert_name,
    delivered,
):
    org, campaign = org_world
    answers, _asked = dns
    answers["crm.test"] = ["127.0.0.1"]
    crm = _tls_receiver(tmp_path, monkeypatch, cert_name)
    try:
        port = crm.server.server_address[1]
        endpoint = webhook_endpoint_save(
            organization=org,
            url=f"https://crm.test:{port}/hooks/rallyround",
            description="CRM",
            events=["pledge.created"],
        )
        crm.holder["secret"] = endpoint.secret
        _pledge_made(campaign, django_capture_on_commit_callbacks)
    finally:
        crm.close()
    delivery = WebhookDelivery.objects.get()
    if delivered:  # SNI and certificate checked against crm.test, Host header kept
        (got,) = crm.received
        assert got["verified"]
        assert got["headers"]["host"] == f"crm.test:{port}"
        assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    else:  # a certificate for another name is refused like any unreachable endpoint
        assert crm.received == []
        assert delivery.last_status_code is None
        assert delivery.last_error.startswith("No answer from the endpoint")
