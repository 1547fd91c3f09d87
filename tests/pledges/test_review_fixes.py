"""Fixes from the review of the money path, each a behaviour a supporter or operator would
notice: no second charge from a stale payment page, real Stripe's shapes read correctly, the
right outcome for a closed dispute. Real localstripe behind stripe-chaos wherever the behaviour
can be produced there; where only real Stripe produces it, the gateway's mapping is tested on a
constructed object (said so in each test)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading

import pytest
import stripe
from django.core import mail
from django.test import Client

from pledges import gateway, ratelimit
from pledges.gateway import ChargeOutcome
from pledges.models import Pledge
from pledges.services import attempts, charging, review, settlement
from tests.pledges.settlement_support import (
    assert_ledger_clean,
    charge_due_campaign,
    signed_webhook,
)
from tests.pledges.stripe_disputes import stripe_disputes_fixture  # noqa: F401 - fixture

S = Pledge.Status


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


# --- idempotency conflicts --------------------------------------------------------------------
class _Conflict(http.server.BaseHTTPRequestHandler):
    """Answers every request the way Stripe answers a request whose idempotency key is still
    being processed by another request: HTTP 409, idempotency_error / idempotency_key_in_use.
    Neither localstripe nor stripe-chaos produces it (the proxy makes the second request wait
    and replays), so this stand-in lets stripe-python 16 parse a real 409 response."""

    requests: list[str] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).requests.append(self.headers.get("Idempotency-Key") or "")
        body = json.dumps(
            {
                "error": {
                    "type": "idempotency_error",
                    "code": "idempotency_key_in_use",
                    "message": "There is currently another in-progress request using this "
                    "Idempotent Key (that probably means you submitted twice, and the other "
                    "request is still going through).",
                }
            }
        ).encode()
        self.send_response(409)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Stripe-Should-Retry", "false")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def stripe_answers_409(settings):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Conflict)
    _Conflict.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_SECRET_KEY = "sk_test_rallyround"
    settings.STRIPE_LOCAL_COMPAT = True
    settings.STRIPE_MAX_RPS = 0
    gateway.reset_client()
    yield _Conflict
    server.shutdown()
    server.server_close()
    gateway.reset_client()


def test_same_key_still_in_flight_is_transient_not_a_bad_request(stripe_answers_409):
    with pytest.raises(gateway.GatewayTransientError) as caught:
        gateway.payment_intent_charge_off_session(
            amount_cents=1500,
            currency="usd",
            customer_id="cus_1",
            payment_method_id="pm_1",
            metadata={"pledge_id": "1"},
            idempotency_key="pledge-1-attempt-1",
        )
    assert (caught.value.http_status, caught.value.code) == (409, "idempotency_key_in_use")


def test_stripe_idempotency_error_409_is_transient_but_a_different_body_400_is_not():
    in_flight = stripe.IdempotencyError("Key in use", http_status=409)
    assert isinstance(gateway._translate(in_flight), gateway.GatewayTransientError)
    reused = stripe.IdempotencyError(
        "Keys for idempotent requests can only be used with the same parameters",
        http_status=400,
    )
    assert isinstance(gateway._translate(reused), gateway.GatewayInvalidRequest)


@pytest.mark.django_db
def test_a_charge_whose_key_is_still_in_flight_stays_charging_for_the_reconciler(
    stripe_answers_409, monkeypatch
):
    """Not NEEDS_REVIEW: the pledge keeps its attempt and key; the reconciler resumes it."""
    from django.utils import timezone

    from pledges.models import PaymentAttempt
    from tests.factories import CampaignFactory, PledgeFactory

    monkeypatch.setattr(charging, "TRANSIENT_TRIES", 1)
    campaign = CampaignFactory(status="succeeded", deadline=timezone.now() - dt.timedelta(days=1))
    pledge = PledgeFactory(
        campaign=campaign,
        status=S.CHARGE_DUE,
        stripe_customer_id="cus_1",
        stripe_payment_method_id="pm_1",
    )
    report = charging.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    assert (report.status, pledge.status) == (S.CHARGING, S.CHARGING)
    attempt = pledge.attempts.get()
    assert attempt.outcome == PaymentAttempt.Outcome.PENDING
    assert stripe_answers_409.requests[0] == f"pledge-{pledge.pk}-attempt-1"


# --- the confirm page passes the saved card ---------------------------------------------------
RECORD_CONFIRM_ARGS = """
(() => {
  let wrapped;
  Object.defineProperty(window, "Stripe", {
    configurable: true,
    get() { return wrapped; },
    set(factory) {
      wrapped = (key) => {
        const stripe = factory(key);
        const confirm = stripe.confirmCardPayment;
        stripe.confirmCardPayment = (secret, data) => {
          // Kept across the form post that follows (same origin, same tab).
          sessionStorage.setItem("confirmCardPayment", JSON.stringify([secret, data || null]));
          return confirm.call(stripe, secret, data);
        };
        return stripe;
      };
    },
  });
})();
"""


@pytest.mark.e2e
@pytest.mark.stripe
@pytest.mark.django_db(transaction=True)
def test_confirm_page_sends_the_saved_card_with_the_3d_secure_confirmation(
    chaos, staff, live_server, page
):
    """Real Stripe's off-session 3-D Secure intent waits in requires_payment_method: Stripe.js
    must be given the saved card. (localstripe's Stripe.js ignores the argument, so the page's
    call is recorded on its way to Stripe.js.)"""
    from django.urls import reverse
    from playwright.sync_api import expect

    from tests.pledges.settlement_support import THREE_DS_CARD

    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    page.add_init_script(RECORD_CONFIRM_ARGS)
    page.goto(live_server.url + reverse("pledges:payment_confirm", kwargs={"token": pledge.token}))
    page.get_by_role("button", name="Confirm and pay $15").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Thank you — your pledge is paid")).to_be_visible()
    secret, data = json.loads(page.evaluate("sessionStorage.getItem('confirmCardPayment')"))
    assert secret.startswith(f"{pledge.stripe_payment_intent_id}_secret_")
    assert data == {"payment_method": pledge.stripe_payment_method_id}
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


# --- two tabs on the new-card page ------------------------------------------------------------
def _save_card_in_page(page_html: str, number: str) -> str:
    """What stripe.confirmCardSetup does in the page (localstripe): confirm the page's
    SetupIntent with the typed card; returns the SetupIntent id the page then posts."""
    from tests.pledges.settlement_support import stripe_client

    secret = page_html.split('data-client-secret="', 1)[1].split('"', 1)[0]
    setup_intent_id = secret.split("_secret_")[0]
    client = stripe_client()
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    setup = client.v1.setup_intents.confirm(setup_intent_id, params={"payment_method": pm.id})
    if setup.status == "requires_action":  # the bank's dialog at setup, completed
        client.v1.setup_intents.confirm(setup_intent_id)
    return setup_intent_id


@pytest.mark.django_db
@pytest.mark.stripe
def test_new_card_is_not_charged_when_another_tab_opened_a_3d_secure_request_meanwhile(
    chaos, staff, monkeypatch
):
    """Tab B read the pledge (nothing to close), then tab A charged a 3-D Secure card and is
    showing its confirmation. B must not charge: A's request would still be confirmable."""
    from django.urls import reverse

    from tests.pledges.settlement_support import OK_CARD, THREE_DS_CARD, authenticate_3ds

    campaign, (pledge,) = charge_due_campaign(
        staff, count=1, number=THREE_DS_CARD, amount_cents=2000
    )
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    confirm_url = reverse("pledges:payment_confirm", kwargs={"token": pledge.token})
    new_card_url = reverse("pledges:payment_new_card", kwargs={"token": pledge.token})
    authenticate_3ds(pledge.stripe_payment_intent_id, success=False)
    Client().post(confirm_url, {"payment_intent": pledge.stripe_payment_intent_id})
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD

    tab_a, tab_b = Client(), Client()
    setup_a = _save_card_in_page(tab_a.get(new_card_url).content.decode(), THREE_DS_CARD)
    setup_b = _save_card_in_page(tab_b.get(new_card_url).content.decode(), OK_CARD)

    real_attach = gateway.payment_method_attach
    seen = []

    def attach_after_tab_a(**kwargs):
        # Tab B has decided what to close and is about to charge; tab A's request runs now.
        if not seen:
            seen.append(kwargs)
            answer = tab_a.post(new_card_url, {"setup_intent": setup_a})
            assert answer["Location"] == confirm_url  # A's bank wants 3-D Secure
        return real_attach(**kwargs)

    monkeypatch.setattr(gateway, "payment_method_attach", attach_after_tab_a)
    response = tab_b.post(new_card_url, {"setup_intent": setup_b}, follow=True)
    monkeypatch.undo()
    page = response.content.decode()
    assert "Your payment changed in another window" in page
    assert "Thank you" not in page
    pledge.refresh_from_db()
    intent_a = pledge.stripe_payment_intent_id
    assert (pledge.status, pledge.attempts.count()) == (S.ACTION_REQUIRED, 2)

    # Tab A finishes 3-D Secure: the one and only charge.
    authenticate_3ds(intent_a, success=True)
    tab_a.post(confirm_url, {"payment_intent": intent_a})
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert pledge.status == S.PAID
    assert campaign.collected_cents == 2000
    assert_ledger_clean(chaos, campaign)


# --- the reconciler goes on past one pledge it cannot resume ----------------------------------
@pytest.mark.django_db
@pytest.mark.stripe
def test_reconciler_resumes_the_others_when_one_pledge_cannot_get_a_rate_limit_slot(
    chaos, staff, monkeypatch, caplog
):
    import time_machine
    from django.utils import timezone

    from pledges.services.reconcile import payments_reconcile

    monkeypatch.setattr(charging, "TRANSIENT_TRIES", 1)
    campaign, pledges = charge_due_campaign(staff, count=2)
    chaos.rules(
        {"match": {"method": "POST", "path_regex": "^/v1/payment_intents$"}, "fault": "http_500"}
    )
    settlement.settle_run(campaign=campaign)
    chaos.clear_rules()
    assert all(Pledge.objects.get(pk=p.pk).status == S.CHARGING for p in pledges)

    # The shared limiter's cache is stuck for the first pledge's call (stripe_slot_acquire
    # gives up with TimeoutError after its wait budget; raised at once here).
    real_slot = ratelimit.stripe_slot_acquire
    calls = []

    def slot_stuck_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("no Stripe rate-limit slot within the wait budget")
        return real_slot(**kwargs)

    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", slot_stuck_once)
    later = timezone.now() + charging.LEASE + dt.timedelta(minutes=1)
    with time_machine.travel(later):
        summary = payments_reconcile()
    assert (summary["resumed"], summary["errors"]) == (1, 1)
    first, second = (Pledge.objects.get(pk=p.pk) for p in pledges)
    assert (first.status, second.status) == (S.CHARGING, S.PAID)
    assert f"pledge {first.pk} not resumed (TimeoutError" in caplog.text

    # Its lease runs out again and the next run charges it, with the same key.
    monkeypatch.setattr(ratelimit, "stripe_slot_acquire", real_slot)
    with time_machine.travel(later + charging.LEASE + dt.timedelta(minutes=1)):
        payments_reconcile()
    first.refresh_from_db()
    assert first.status == S.PAID
    assert first.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


# --- a retry is not charged before its time ---------------------------------------------------
def _payment_intent_posts(chaos) -> int:
    return chaos.stats()["requests"].get("POST /v1/payment_intents", 0)


@pytest.mark.django_db
@pytest.mark.stripe
def test_a_redelivered_charge_task_does_not_retry_a_decline_before_its_day(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    import time_machine
    from django.utils import timezone

    from pledges.tasks import charge_pledges
    from tests.pledges.settlement_support import DECLINE_CARD

    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=DECLINE_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count) == (S.RETRY_DUE, 1)
    retry_at = pledge.next_attempt_at
    posts = _payment_intent_posts(chaos)

    # The task that charged attempt 1 is delivered again (worker lost before its ack).
    charge_pledges(pledge_ids=[pledge.pk])
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count, pledge.next_attempt_at) == (
        S.RETRY_DUE,
        1,
        retry_at,
    )
    assert _payment_intent_posts(chaos) == posts

    # On its day the beat's fan-out queues it (marking next_attempt_at ahead) and the task
    # charges attempt 2 with the next key.
    with (
        time_machine.travel(retry_at + dt.timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert charging.charges_enqueue(now=timezone.now()) == 1
    pledge.refresh_from_db()
    assert pledge.attempt_count == 2
    assert pledge.attempts.get(number=2).idempotency_key == f"pledge-{pledge.pk}-attempt-2"
    assert _payment_intent_posts(chaos) == posts + 1
    assert_ledger_clean(chaos, campaign)


# --- staff "charge again" after review --------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.stripe
def test_charge_again_after_review_finds_the_payment_stripe_already_took(chaos, staff):
    """Attempt 1 went through at Stripe, but we read its answer as a rejected request (say a
    409 from before that was transient). Staff press "charge again": nothing is charged twice;
    the payment Stripe holds is recorded."""
    from pledges.models import PaymentAttempt
    from pledges.services.attempts import SettlementError
    from tests.pledges.settlement_support import stripe_client

    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    attempt = PaymentAttempt.objects.create(
        pledge=pledge,
        number=1,
        idempotency_key=attempts.attempt_key(pledge.pk, 1),
        amount_cents=pledge.amount_cents,
        outcome=PaymentAttempt.Outcome.INVALID,
        message="There is currently another in-progress request using this Idempotent Key.",
    )
    Pledge.objects.filter(pk=pledge.pk).update(status=S.NEEDS_REVIEW, attempt_count=1)
    taken = stripe_client().v1.payment_intents.create(
        params={
            "amount": pledge.amount_cents,
            "currency": "usd",
            "customer": pledge.stripe_customer_id,
            "payment_method": pledge.stripe_payment_method_id,
            "off_session": True,
            "confirm": True,
            "metadata": {
                "pledge_id": str(pledge.pk),
                "campaign_id": str(campaign.pk),
                "attempt": "1",
            },
        },
        options={"idempotency_key": attempt.idempotency_key},
    )
    assert taken.status == "succeeded"

    with pytest.raises(SettlementError, match="Not charged again: Stripe already took"):
        review.pledge_review_retry(pledge=pledge, actor=staff)
    pledge.refresh_from_db()
    attempt.refresh_from_db()
    assert (pledge.status, pledge.stripe_payment_intent_id) == (S.PAID, taken.id)
    assert (attempt.outcome, attempt.stripe_payment_intent_id) == ("succeeded", taken.id)
    assert pledge.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_a_retry_whose_decline_time_was_not_recorded_waits_from_its_last_write(settings):
    """No Stripe call is made: the claim refuses before any (a pledge left without a card)."""
    from django.utils import timezone

    from pledges.models import PaymentAttempt
    from tests.factories import CampaignFactory, PledgeFactory

    settings.STRIPE_MAX_RPS = 0
    campaign = CampaignFactory(status="succeeded", deadline=timezone.now() - dt.timedelta(days=1))
    pledge = PledgeFactory(
        campaign=campaign,
        status=S.RETRY_DUE,
        attempt_count=1,
        next_attempt_at=timezone.now() + dt.timedelta(days=1),
    )
    PaymentAttempt.objects.create(
        pledge=pledge,
        number=1,
        idempotency_key=attempts.attempt_key(pledge.pk, 1),
        amount_cents=pledge.amount_cents,
        outcome=PaymentAttempt.Outcome.SOFT_DECLINE,
    )
    assert charging.pledge_charge(pledge_id=pledge.pk).status == "skipped"
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count) == (S.RETRY_DUE, 1)


# --- the end of the grace period closes the payment request -----------------------------------
@pytest.mark.django_db
@pytest.mark.stripe
def test_marking_a_pledge_unpaid_first_cancels_its_3d_secure_request(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    """After the "unpaid" email the supporter cannot pay from the old link; while Stripe will
    not confirm the cancel, the pledge is not marked unpaid (nor emailed) — next hour it is."""
    import time_machine

    from pledges.services.grace import payments_remind_and_expire
    from tests.pledges.settlement_support import THREE_DS_CARD

    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    intent = pledge.stripe_payment_intent_id
    assert pledge.status == S.ACTION_REQUIRED
    after_grace = pledge.grace_ends_at + dt.timedelta(minutes=1)

    chaos.rules({"match": {"method": "POST", "path_regex": "/cancel$"}, "fault": "http_503"})
    mail.outbox.clear()
    with time_machine.travel(after_grace), django_capture_on_commit_callbacks(execute=True):
        assert payments_remind_and_expire()["unpaid"] == 0
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert gateway.payment_intent_retrieve(intent).status == "requires_action"
    assert not mail.outbox

    chaos.clear_rules()
    with (
        time_machine.travel(after_grace + dt.timedelta(hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert payments_remind_and_expire()["unpaid"] == 1
    pledge.refresh_from_db()
    assert pledge.status == S.UNPAID
    assert gateway.payment_intent_retrieve(intent).status == "canceled"
    assert len(mail.outbox) == 1
    assert_ledger_clean(chaos, campaign)


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
