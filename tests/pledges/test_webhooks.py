"""`/stripe/webhook/`: signatures checked, events stored by id and processed once, state
re-read from Stripe (never taken from the payload)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from django.test import Client

from pledges.models import Pledge, StripeEvent
from pledges.services.pledging import pledge_setup_intent_ensure, pledge_start
from tests.factories import CampaignFactory, UserFactory
from tests.pledges.stripe_browser import CARD_DECLINED_AT_SETUP, confirm_card_setup

pytestmark = pytest.mark.django_db

URL = "/stripe/webhook/"


def signed(payload: str, secret: str, timestamp: int | None = None) -> str:
    t = timestamp or int(time.time())
    v1 = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def event_payload(event_id: str, event_type: str, obj: dict) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    )


def post_event(client, settings, payload: str, signature: str | None = None):
    headers = {}
    signature = signature or signed(payload, settings.STRIPE_WEBHOOK_SECRET)
    headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.post(URL, data=payload, content_type="application/json", **headers)


@pytest.fixture
def csrf_client():
    # Stripe sends no CSRF token: the webhook must work with CSRF checks on.
    return Client(enforce_csrf_checks=True)


def start_pledge() -> Pledge:
    campaign = CampaignFactory()
    started = pledge_start(
        user=UserFactory(),
        campaign=campaign,
        tier=campaign.tiers.get(kind="advocate"),
        amount_cents=2000,
        form_key="webhook-test",
        name="Rosa Parks",
        postal_code="94609",
        consent_updates=False,
        consent_updates_text="",
        consent_org=False,
        consent_org_text="",
    )
    return started.pledge


@pytest.fixture
def pending_pledge(stripe_local):
    return start_pledge()


def test_bad_signature_is_refused_and_nothing_is_stored(csrf_client, settings):
    payload = event_payload("evt_1", "setup_intent.succeeded", {"id": "seti_x"})
    response = post_event(csrf_client, settings, payload, signed(payload, "whsec_wrong"))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_missing_signature_is_refused(csrf_client):
    payload = event_payload("evt_1", "customer.created", {"id": "cus_x"})
    response = csrf_client.post(URL, data=payload, content_type="application/json")
    assert response.status_code == 400


def test_stale_signature_is_refused(csrf_client, settings):
    payload = event_payload("evt_1", "customer.created", {"id": "cus_x"})
    old = int(time.time()) - 3600
    response = post_event(
        csrf_client, settings, payload, signed(payload, settings.STRIPE_WEBHOOK_SECRET, old)
    )
    assert response.status_code == 400


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_unknown_event_type_is_acknowledged_and_ignored(csrf_client, settings):
    payload = event_payload("evt_unknown", "customer.updated", {"id": "cus_x"})
    response = post_event(csrf_client, settings, payload)
    assert response.status_code == 200
    stored = StripeEvent.objects.get(event_id="evt_unknown")
    assert (stored.type, stored.outcome) == ("customer.updated", "ignored")
    assert stored.processed_at is not None


def test_setup_intent_succeeded_activates_the_pledge_once_even_when_replayed(
    csrf_client, settings, pending_pledge, stripe_local
):
    step = pledge_setup_intent_ensure(pledge=pending_pledge)
    confirmed = confirm_card_setup(stripe_local, step.client_secret)
    payload = event_payload("evt_seti_ok", "setup_intent.succeeded", confirmed)
    first = post_event(csrf_client, settings, payload)
    second = post_event(csrf_client, settings, payload)
    assert first.status_code == second.status_code == 200
    assert first.content.decode().startswith("activated")
    assert second.content.decode() == "duplicate"
    pending_pledge.refresh_from_db()
    assert pending_pledge.status == Pledge.Status.ACTIVE
    campaign = pending_pledge.campaign
    campaign.refresh_from_db()
    assert (campaign.pledged_cents, campaign.backer_count) == (2000, 1)
    assert StripeEvent.objects.filter(event_id="evt_seti_ok").count() == 1
    activation = pending_pledge.events.get(to_status="active")
    assert (activation.actor_label, activation.stripe_object_id) == ("webhook", confirmed["id"])

    # A different event about the same intent (Stripe may send one twice under new ids).
    again = post_event(
        csrf_client, settings, event_payload("evt_seti_ok_2", "setup_intent.succeeded", confirmed)
    )
    assert again.content.decode().startswith("already_done")
    campaign.refresh_from_db()
    assert (campaign.pledged_cents, campaign.backer_count) == (2000, 1)


def test_payload_claiming_success_is_checked_with_stripe(
    csrf_client, settings, pending_pledge, stripe_local
):
    step = pledge_setup_intent_ensure(pledge=pending_pledge)
    forged = {
        "id": step.setup_intent_id,
        "object": "setup_intent",
        "status": "succeeded",
        "payment_method": "pm_forged",
        "metadata": {"pledge_id": str(pending_pledge.pk)},
    }
    response = post_event(
        csrf_client, settings, event_payload("evt_forged", "setup_intent.succeeded", forged)
    )
    assert response.status_code == 200
    assert response.content.decode().startswith("not_succeeded")
    pending_pledge.refresh_from_db()
    assert pending_pledge.status == Pledge.Status.PENDING_SETUP


def test_setup_failure_is_noted_on_the_pledge_which_stays_waiting(
    csrf_client, settings, pending_pledge, stripe_local
):
    step = pledge_setup_intent_ensure(pledge=pending_pledge)
    declined = confirm_card_setup(stripe_local, step.client_secret, CARD_DECLINED_AT_SETUP)
    assert declined["error"]["message"] == "Your card was declined."
    obj = {"id": step.setup_intent_id, "object": "setup_intent"}
    response = post_event(
        csrf_client, settings, event_payload("evt_fail", "setup_intent.setup_failed", obj)
    )
    assert response.status_code == 200
    pending_pledge.refresh_from_db()
    assert pending_pledge.status == Pledge.Status.PENDING_SETUP
    assert pending_pledge.events.get(code="setup_failed").note.startswith("Card not saved: ")
    # The card step noticing the same refusal later does not write it twice.
    pledge_setup_intent_ensure(pledge=pending_pledge)
    assert pending_pledge.events.filter(code="setup_failed").count() == 1


def test_event_whose_processing_failed_is_processed_when_stripe_retries(
    csrf_client, settings, chaos
):
    pledge = start_pledge()
    step = pledge_setup_intent_ensure(pledge=pledge)
    js_base = settings.STRIPE_JS_URL.split("/js.stripe.com")[0]
    confirmed = confirm_card_setup(js_base, step.client_secret)
    payload = event_payload("evt_retry", "setup_intent.succeeded", confirmed)

    # Stripe is down while we re-read the intent (every try, retries included).
    chaos.rules(
        {"match": {"method": "GET", "path_regex": "^/v1/setup_intents/"}, "fault": "http_503"}
    )
    failed = post_event(csrf_client, settings, payload)
    assert failed.status_code == 503
    assert StripeEvent.objects.get(event_id="evt_retry").processed_at is None
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PENDING_SETUP

    chaos.clear_rules()
    retried = post_event(csrf_client, settings, payload)
    assert retried.status_code == 200
    assert retried.content.decode().startswith("activated")
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ACTIVE


@pytest.fixture
def localstripe_webhook(live_server, stripe_local, settings):
    """localstripe sends its (few) events to our live server, signed with our secret; the
    registration is switched off afterwards (localstripe keeps webhooks across store flushes)."""

    def register(events: list[str]) -> None:
        body = json.dumps(
            {
                "url": f"{live_server.url}/stripe/webhook/",
                "secret": settings.STRIPE_WEBHOOK_SECRET,
                "events": events,
            }
        ).encode()
        request = urllib.request.Request(
            f"{stripe_local}/_config/webhooks/rallyround-tests", data=body, method="POST"
        )
        urllib.request.urlopen(request, timeout=5).close()

    register(["customer.created"])
    yield
    register([])


@pytest.mark.django_db(transaction=True)
def test_events_signed_by_localstripe_are_verified_and_stored(localstripe_webhook):
    from pledges import gateway

    customer_id = gateway.customer_create(email="rosa@example.org")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = StripeEvent.objects.filter(object_id=customer_id).first()
        if stored is not None and stored.processed_at:
            break
        time.sleep(0.2)
    assert stored is not None, "localstripe's webhook never arrived"
    assert (stored.type, stored.outcome) == ("customer.created", "ignored")
