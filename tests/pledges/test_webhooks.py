"""`/stripe/webhook/`: signatures checked, events stored by id and processed once, state
re-read from Stripe (never taken from the payload)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from django.core import mail
from django.test import Client

from pledges import gateway
from pledges.gateway import ChargeOutcome
from pledges.models import Pledge, StripeEvent
from pledges.services import attempts, charging, settlement
from pledges.services.pledging import pledge_setup_intent_ensure, pledge_start
from tests.factories import CampaignFactory, verified_user
from tests.pledges.settlement_support import (
    assert_ledger_clean,
    charge_due_campaign,
    signed_webhook,
)
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
        user=verified_user(),
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


# --- money-moving events trust only what Stripe says when asked -----------------------------
# (issue 12 §3, issue 13 defect 4). Disputes come from tests/pledges/stripe_disputes.py, since
# localstripe has none; charges and refunds are real localstripe ones.

from tests.concurrency import race  # noqa: E402
from tests.pledges.settlement_support import (  # noqa: E402
    stripe_client,
)

S = Pledge.Status


def _paid(staff, amount_cents=2000):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, amount_cents=amount_cents)
    charging.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert pledge.status == S.PAID
    return campaign, pledge


def _charge_id(pledge) -> str:
    intent = stripe_client().v1.payment_intents.retrieve(pledge.stripe_payment_intent_id)
    charge = intent.latest_charge
    return charge if isinstance(charge, str) else charge.id


@pytest.mark.django_db
@pytest.mark.stripe
@pytest.mark.parametrize("charge", ["forged", "real"])
def test_a_forged_charge_refunded_with_an_absurd_amount_changes_nothing(chaos, staff, charge):
    campaign, pledge = _paid(staff)
    mail.outbox.clear()
    charge_id = _charge_id(pledge) if charge == "real" else "ch_forged"
    response = signed_webhook(
        Client(),
        event_id=f"evt_forged_refund_{charge}",
        type="charge.refunded",
        obj={
            "id": charge_id,
            "object": "charge",
            "payment_intent": pledge.stripe_payment_intent_id,
            "amount_refunded": 10**9,
            "refunded": True,
        },
    )
    assert response.status_code == 200
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.PAID, 0)
    assert campaign.collected_cents == 2000
    assert not [m for m in mail.outbox if "refund" in m.subject.lower()]
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
@pytest.mark.stripe
def test_a_refund_webhook_counts_what_stripe_refunded_never_more_than_was_paid(chaos, staff):
    campaign, pledge = _paid(staff)
    stripe_client().v1.refunds.create(
        params={"payment_intent": pledge.stripe_payment_intent_id, "amount": 700}
    )
    response = signed_webhook(
        Client(),
        event_id="evt_dash_refund",
        type="charge.refunded",
        # The payload overstates it; Stripe, asked, says 700.
        obj={"id": _charge_id(pledge), "object": "charge", "amount_refunded": 5000},
    )
    assert response.content.decode() == f"refunded 700 pledge={pledge.pk}"
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 700, 1300)
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
@pytest.mark.stripe
def test_a_forged_dispute_stripe_does_not_hold_changes_nothing(chaos, staff, stripe_disputes):
    campaign, pledge = _paid(staff)
    for kind, status in (("created", "needs_response"), ("closed", "lost")):
        signed_webhook(
            Client(),
            event_id=f"evt_forged_dp_{kind}",
            type=f"charge.dispute.{kind}",
            obj={
                "id": "dp_forged",
                "object": "dispute",
                "payment_intent": pledge.stripe_payment_intent_id,
                "amount": 10**9,
                "status": status,
            },
        )
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 0, 2000)


def _dispute_event(event_id, kind, dispute):
    return signed_webhook(Client(), event_id=event_id, type=f"charge.dispute.{kind}", obj=dispute)


@pytest.mark.django_db
@pytest.mark.stripe
def test_dispute_closed_as_won_before_created_arrives_leaves_the_pledge_paid(
    chaos, staff, stripe_disputes
):
    campaign, pledge = _paid(staff)
    opened = stripe_disputes.put(pledge, "dp_late", status="needs_response")
    stripe_disputes.put(pledge, "dp_late", status="won")  # the bank decided meanwhile
    _dispute_event("evt_closed_first", "closed", {**opened, "status": "won"})
    _dispute_event("evt_created_late", "created", opened)
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 0, 2000)


@pytest.mark.django_db
@pytest.mark.stripe
def test_dispute_closed_as_lost_before_created_arrives_counts_the_money_returned(
    chaos, staff, stripe_disputes
):
    campaign, pledge = _paid(staff)
    opened = stripe_disputes.put(pledge, "dp_lost_early", status="needs_response")
    stripe_disputes.put(pledge, "dp_lost_early", status="lost")
    _dispute_event("evt_lost_first", "closed", {**opened, "status": "lost"})
    _dispute_event("evt_created_after", "created", opened)
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.REFUNDED, 2000, 0)


@pytest.mark.django_db
@pytest.mark.stripe
def test_a_partly_lost_dispute_returns_that_part_and_the_pledge_is_paid_again(
    chaos, staff, stripe_disputes
):
    campaign, pledge = _paid(staff)
    opened = stripe_disputes.put(pledge, "dp_part", status="needs_response", amount=500)
    assert _dispute_event("evt_part_1", "created", opened).content.decode() == (
        f"disputed pledge={pledge.pk}"
    )
    lost = stripe_disputes.put(pledge, "dp_part", status="lost", amount=500)
    _dispute_event("evt_part_2", "closed", lost)
    _dispute_event("evt_part_3", "closed", lost)  # Stripe sends it again under a new id
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 500, 1500)


@pytest.mark.postgres
@pytest.mark.stripe
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_a_lost_dispute_at_once_count_the_refund_once(
    chaos, staff, stripe_disputes
):
    campaign, pledge = _paid(staff)
    opened = stripe_disputes.put(pledge, "dp_twice", status="needs_response", amount=800)
    _dispute_event("evt_twice_0", "created", opened)
    lost = stripe_disputes.put(pledge, "dp_twice", status="lost", amount=800)
    race(
        lambda: _dispute_event("evt_twice_1", "closed", lost),
        lambda: _dispute_event("evt_twice_2", "closed", lost),
        lambda: _dispute_event("evt_twice_1", "closed", lost),
    )
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 800, 1200)


# --- moved from the review of the money path (issue 13) ---------------------------------
# --- disputes ---------------------------------------------------------------------------------
def _disputed(chaos, staff, stripe_disputes):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, amount_cents=2000)
    charging.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    dispute = stripe_disputes.put(pledge, "dp_review", status="needs_response")
    created = signed_webhook(
        Client(), event_id="evt_dp_created", type="charge.dispute.created", obj=dispute
    )
    assert created.content.decode() == f"disputed pledge={pledge.pk}"
    return campaign, pledge, dispute


@pytest.mark.django_db
@pytest.mark.stripe
@pytest.mark.parametrize("closed_as", ["won", "warning_closed"])
def test_dispute_closed_in_our_favour_keeps_the_money_and_the_pledge_paid(
    chaos, staff, closed_as, stripe_disputes
):
    campaign, pledge, dispute = _disputed(chaos, staff, stripe_disputes)
    stripe_disputes.put(pledge, "dp_review", status=closed_as)
    mail.outbox.clear()
    response = signed_webhook(
        Client(),
        event_id="evt_dp_closed",
        type="charge.dispute.closed",
        obj={**dispute, "status": closed_as},
    )
    assert response.content.decode() == f"dispute {closed_as} pledge={pledge.pk}"
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.PAID, 0)
    assert campaign.collected_cents == 2000
    assert not pledge.refunds.exists()
    assert not [m for m in mail.outbox if "refund" in m.subject.lower()]
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
@pytest.mark.stripe
def test_dispute_lost_counts_the_money_as_returned(chaos, staff, stripe_disputes):
    campaign, pledge, dispute = _disputed(chaos, staff, stripe_disputes)
    stripe_disputes.put(pledge, "dp_review", status="lost")
    response = signed_webhook(
        Client(),
        event_id="evt_dp_lost",
        type="charge.dispute.closed",
        obj={**dispute, "status": "lost"},
    )
    assert response.content.decode() == f"dispute lost pledge={pledge.pk}"
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.REFUNDED, 2000)
    assert campaign.collected_cents == 0


@pytest.mark.django_db
@pytest.mark.stripe
def test_dispute_closed_with_an_unknown_status_changes_nothing(chaos, staff, stripe_disputes):
    campaign, pledge, dispute = _disputed(chaos, staff, stripe_disputes)
    stripe_disputes.put(pledge, "dp_review", status="under_review")
    response = signed_webhook(
        Client(),
        event_id="evt_dp_odd",
        type="charge.dispute.closed",
        obj={**dispute, "status": "under_review"},
    )
    assert "nothing to do" in response.content.decode()
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (
        S.DISPUTED,
        0,
        2000,
    )


# --- real Stripe's off-session 3-D Secure shape ------------------------------------------------
# localstripe answers an off-session charge on a 3-D Secure card with status `requires_action`;
# real Stripe leaves the intent in `requires_payment_method` with `last_payment_error.code` (and
# `decline_code`) `authentication_required`. localstripe cannot produce that shape, so the
# gateway's mapping is tested on a constructed intent of exactly that shape.
REAL_STRIPE_AUTH_REQUIRED = {
    "id": "pi_real_3ds",
    "object": "payment_intent",
    "status": "requires_payment_method",
    "amount": 2000,
    "client_secret": "pi_real_3ds_secret_abc",
    "metadata": {"pledge_id": "7", "attempt": "1"},
    "last_payment_error": {
        "type": "card_error",
        "code": "authentication_required",
        "decline_code": "authentication_required",
        "message": "Your card was declined. This transaction requires authentication.",
    },
}


@pytest.mark.parametrize("field", ["code", "decline_code"])
def test_real_stripe_off_session_authentication_required_asks_the_supporter_to_confirm(field):
    error = {"type": "card_error", field: "authentication_required"}
    result = gateway._charge_result({**REAL_STRIPE_AUTH_REQUIRED, "last_payment_error": error})
    assert result.outcome == ChargeOutcome.REQUIRES_ACTION
    # The confirm page needs the client secret to finish it with Stripe.js.
    assert result.client_secret == "pi_real_3ds_secret_abc"
    assert result.payment_intent_id == "pi_real_3ds"


def test_a_real_decline_in_requires_payment_method_stays_a_decline():
    declined = {
        **REAL_STRIPE_AUTH_REQUIRED,
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }
    assert gateway._charge_result(declined).outcome == ChargeOutcome.SOFT_DECLINE
    lost = {
        **declined,
        "last_payment_error": {"code": "card_declined", "decline_code": "lost_card"},
    }
    assert gateway._charge_result(lost).outcome == ChargeOutcome.HARD_DECLINE


@pytest.mark.django_db
def test_real_stripe_auth_required_webhook_leaves_the_supporter_on_the_confirm_page(settings):
    """The payment_intent.payment_failed webhook real Stripe sends for that intent must not
    push a supporter who can still confirm to 'add another card'."""
    from django.utils import timezone

    from pledges.models import PaymentAttempt
    from tests.factories import CampaignFactory, PledgeFactory

    campaign = CampaignFactory(status="succeeded")
    pledge = PledgeFactory(
        campaign=campaign,
        status=S.ACTION_REQUIRED,
        attempt_count=1,
        stripe_payment_intent_id="pi_real_3ds",
        grace_ends_at=timezone.now() + dt.timedelta(days=5),
    )
    attempt = PaymentAttempt.objects.create(
        pledge=pledge,
        number=1,
        idempotency_key=attempts.attempt_key(pledge.pk, 1),
        amount_cents=pledge.amount_cents,
        outcome=PaymentAttempt.Outcome.REQUIRES_ACTION,
        stripe_payment_intent_id="pi_real_3ds",
    )
    result = gateway._charge_result(REAL_STRIPE_AUTH_REQUIRED)
    status = attempts.attempt_record(attempt_id=attempt.pk, result=result, source="webhook")
    assert status == S.ACTION_REQUIRED


# --- an older attempt's late decline ----------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.stripe
def test_a_late_decline_webhook_for_attempt_1_leaves_attempt_2_in_flight_alone(
    chaos, staff, monkeypatch
):
    import time_machine
    from django.utils import timezone

    from pledges.models import PaymentAttempt
    from pledges.services.reconcile import payments_reconcile
    from tests.pledges.settlement_support import DECLINE_CARD, stripe_client

    monkeypatch.setattr(charging, "TRANSIENT_TRIES", 1)
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=DECLINE_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.RETRY_DUE
    first = stripe_client().v1.payment_intents.list(params={"limit": 10}).data[0]
    assert first.metadata["attempt"] == "1"

    # Attempt 2 is sent on its day but Stripe's answer does not come back: CHARGING, leased.
    chaos.rules(
        {"match": {"method": "POST", "path_regex": "^/v1/payment_intents$"}, "fault": "http_503"}
    )
    day = pledge.next_attempt_at + dt.timedelta(minutes=1)
    with time_machine.travel(day):
        settlement.settle_run(campaign=campaign)
    chaos.clear_rules()
    pledge.refresh_from_db()
    lease = pledge.lease_expires_at
    assert (pledge.status, pledge.attempt_count) == (S.CHARGING, 2)

    # Now Stripe's payment_failed webhook for attempt 1 arrives, very late.
    with time_machine.travel(day + dt.timedelta(minutes=1)):
        answer = signed_webhook(
            Client(),
            event_id="evt_late_decline",
            type="payment_intent.payment_failed",
            obj={"id": first.id, "object": "payment_intent", "metadata": first.metadata.to_dict()},
        )
    assert answer.status_code == 200
    pledge.refresh_from_db()
    assert (pledge.status, pledge.lease_expires_at) == (S.CHARGING, lease)
    assert pledge.attempts.get(number=2).outcome == PaymentAttempt.Outcome.PENDING

    # The reconciler resumes attempt 2 with its own key; its own decline schedules attempt 3.
    with time_machine.travel(lease + dt.timedelta(minutes=1)):
        payments_reconcile(now=timezone.now())
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count) == (S.RETRY_DUE, 2)
    assert pledge.attempts.get(number=2).outcome == PaymentAttempt.Outcome.SOFT_DECLINE
    assert_ledger_clean(chaos, campaign)
