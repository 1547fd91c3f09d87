"""Reliability at the edges: webhooks racing the settlement task, the last second before the
deadline, a deadline that passes while the workers are down, and the grace period. Time moves
with time-machine; every test ends with the ledger check."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import json
import threading

import pytest
import stripe
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign
from config.celery import app as celery_app
from pledges import gateway, tasks
from pledges.models import PaymentAttempt, Pledge, PledgeEvent
from pledges.services import attempts, charging, settlement
from pledges.services.grace import payments_remind_and_expire
from pledges.services.pledging import PledgeFrozen, pledge_cancel
from pledges.services.reconcile import payments_reconcile
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    THREE_DS_CARD,
    active_pledge,
    assert_ledger_clean,
    authenticate_3ds,
    campaign_ending,
    charge_due_campaign,
    saved_card,
    signed_webhook,
)

S = Pledge.Status
pytestmark = pytest.mark.stripe


def _charged_not_recorded(staff, number="4242424242424242"):
    """The settlement task claimed the pledge and Stripe answered; the task has not written
    the answer yet."""
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=number)
    _, attempt, _ = charging.pledge_claim(pledge.pk, now=timezone.now())
    result = charging._charge_with_backoff(pledge, attempt)
    return campaign, pledge, attempt, result


def _intent_event(pledge, attempt, result, event_type="payment_intent.succeeded", event_id=None):
    return {
        "event_id": event_id or f"evt_{result.payment_intent_id}_{event_type}",
        "type": event_type,
        "obj": {
            "id": result.payment_intent_id,
            "object": "payment_intent",
            "status": result.status or "succeeded",
            "metadata": {"pledge_id": str(pledge.pk), "attempt": str(attempt.number)},
        },
    }


def _paid_once(pledge, campaign):
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert pledge.status == S.PAID
    assert campaign.collected_cents == pledge.amount_cents
    assert PledgeEvent.objects.filter(pledge=pledge, to_status=S.PAID).count() == 1


# --- webhooks against the task ---------------------------------------------------------------
@pytest.mark.django_db
def test_success_webhook_before_the_task_writes_is_counted_once(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, pledge, attempt, result = _charged_not_recorded(staff)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_webhook(client, **_intent_event(pledge, attempt, result))
    assert response.status_code == 200
    assert "now paid" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert attempts.attempt_record(
            attempt_id=attempt.pk, result=result, source="settlement"
        ) == (S.PAID)
        # Stripe sends the same event again: stored id, skipped.
        again = signed_webhook(client, **_intent_event(pledge, attempt, result))
    assert again.content == b"duplicate"
    _paid_once(pledge, campaign)
    assert len([m for m in mail.outbox if "is paid" in m.subject]) == 1
    attempt.refresh_from_db()
    assert attempt.outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_success_webhook_after_the_task_wrote_changes_nothing(chaos, staff):
    campaign, pledge, attempt, result = _charged_not_recorded(staff)
    attempts.attempt_record(attempt_id=attempt.pk, result=result, source="settlement")
    response = signed_webhook(Client(), **_intent_event(pledge, attempt, result))
    assert response.status_code == 200
    _paid_once(pledge, campaign)
    assert_ledger_clean(chaos, campaign)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_success_webhook_during_the_task_write_is_counted_once(chaos, staff):
    campaign, pledge, attempt, result = _charged_not_recorded(staff)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def task_write():
        try:
            barrier.wait(10)
            attempts.attempt_record(attempt_id=attempt.pk, result=result, source="settlement")
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    def webhook():
        try:
            barrier.wait(10)
            assert (
                signed_webhook(Client(), **_intent_event(pledge, attempt, result)).status_code
                == 200
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=task_write), threading.Thread(target=webhook)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    _paid_once(pledge, campaign)
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_failure_webhook_before_the_task_writes_schedules_one_retry(chaos, staff):
    campaign, pledge, attempt, result = _charged_not_recorded(staff, number=DECLINE_CARD)
    # localstripe leaves the declined intent's id out of the error (Stripe puts it in): take it
    # from Stripe's list, as the webhook would carry it; the handler finds the attempt by the
    # metadata we set.
    (declined,) = gateway.payment_intents_for_pledge(pledge.pk)
    result_with_id = dataclasses.replace(result, payment_intent_id=declined.payment_intent_id)
    event = _intent_event(pledge, attempt, result_with_id, "payment_intent.payment_failed")
    response = signed_webhook(Client(), **event)
    assert response.status_code == 200
    attempts.attempt_record(attempt_id=attempt.pk, result=result, source="settlement")
    pledge.refresh_from_db()
    assert pledge.status == S.RETRY_DUE
    assert PledgeEvent.objects.filter(pledge=pledge, to_status=S.RETRY_DUE).count() == 1
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_webhook_for_an_intent_that_is_not_ours_is_acknowledged_and_ignored(chaos):
    response = signed_webhook(
        Client(),
        event_id="evt_foreign",
        type="payment_intent.succeeded",
        obj={"id": "pi_foreign", "object": "payment_intent", "metadata": {}},
    )
    assert response.status_code == 200
    assert response.content == b"no matching attempt"


# --- the deadline -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_cancel_a_second_before_the_deadline_counts_and_a_second_after_is_refused(chaos, staff):
    campaign = campaign_ending(goal_cents=3000)
    card = saved_card()
    stays = [active_pledge(campaign, card=card, amount_cents=2000) for _ in range(2)]
    leaver = active_pledge(campaign, card=card, amount_cents=2000)
    too_late = active_pledge(campaign, card=card, amount_cents=2000)

    with time_machine.travel(campaign.deadline - dt.timedelta(seconds=1), tick=False):
        assert pledge_cancel(pledge=leaver)
    with time_machine.travel(campaign.deadline + dt.timedelta(seconds=1), tick=False):
        with pytest.raises(PledgeFrozen):
            pledge_cancel(pledge=too_late)
        settlement.settle_due()
        campaign.refresh_from_db()
        assert (campaign.frozen_pledged_cents, campaign.frozen_backer_count) == (6000, 3)
        settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
        settlement.settle_run()
    leaver.refresh_from_db()
    assert leaver.status == S.CANCELED
    assert not leaver.attempts.exists()
    for pledge in [*stays, too_late]:
        pledge.refresh_from_db()
        assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_deadline_passing_while_workers_are_down_is_settled_by_the_next_beat(
    chaos, celery_eager, django_capture_on_commit_callbacks
):
    campaign = campaign_ending(goal_cents=10_000)
    pledge = active_pledge(campaign, amount_cents=2000)
    # Nothing ran at the deadline (no ETA anywhere); the worker comes back three hours later.
    back = campaign.deadline + dt.timedelta(hours=3)
    with time_machine.travel(back, tick=False), django_capture_on_commit_callbacks(execute=True):
        summary = tasks.settle_due()
    assert summary["failed"] == 1
    campaign.refresh_from_db()
    pledge.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert campaign.frozen_at == back
    assert pledge.status == S.RELEASED
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_approval_hands_charges_to_the_payments_queue(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    route = celery_app.amqp.router.route({}, "pledges.tasks.charge_pledges")
    assert route["queue"].name == "payments"
    campaign = campaign_ending(goal_cents=1000)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=1500) for _ in range(3)]
    with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1), tick=True):
        settlement.settle_due()
        campaign.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
    for pledge in pledges:
        pledge.refresh_from_db()
        assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


# --- the grace period -------------------------------------------------------------------------
@pytest.mark.django_db
def test_supporter_who_never_acts_gets_reminders_every_48_hours_then_is_marked_unpaid(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    t0 = timezone.now().replace(microsecond=0)
    with time_machine.travel(t0, tick=False):
        settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert pledge.grace_ends_at == t0 + dt.timedelta(days=7)
    mail.outbox.clear()

    def at(delta):
        with (
            time_machine.travel(t0 + delta, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return payments_remind_and_expire()

    assert at(dt.timedelta(hours=47)) == {"reminded": 0, "unpaid": 0}
    assert at(dt.timedelta(hours=48, minutes=1)) == {"reminded": 1, "unpaid": 0}
    assert at(dt.timedelta(hours=49)) == {"reminded": 0, "unpaid": 0}
    assert at(dt.timedelta(hours=96, minutes=2)) == {"reminded": 1, "unpaid": 0}
    assert at(dt.timedelta(days=7, minutes=1)) == {"reminded": 0, "unpaid": 1}
    assert at(dt.timedelta(days=7, minutes=2)) == {"reminded": 0, "unpaid": 0}
    pledge.refresh_from_db()
    assert pledge.status == S.UNPAID
    reminders = [m for m in mail.outbox if m.subject.startswith("[Rallyround] Reminder")]
    assert len(reminders) == 2
    assert f"/pledges/{pledge.token}/confirm/" in reminders[0].body
    assert any("was not collected" in m.subject for m in mail.outbox)
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_supporter_who_confirmed_but_never_came_back_is_found_paid_by_the_reconciler(chaos, staff):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    authenticate_3ds(pledge.stripe_payment_intent_id, success=True)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert payments_reconcile()["confirmed_by_supporter"] == 1
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.attempts.get().outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_confirmation_at_the_last_minute_of_grace_is_paid_not_unpaid(chaos, staff):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    authenticate_3ds(pledge.stripe_payment_intent_id, success=True)
    with time_machine.travel(pledge.grace_ends_at + dt.timedelta(minutes=1)):
        assert payments_remind_and_expire()["unpaid"] == 0
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


# --- looking a pledge's intents up past 24 hours -------------------------------------------
class _FreshIntentNotYetSearchable(http.server.BaseHTTPRequestHandler):
    """Real Stripe's documented behaviour, which localstripe lacks: the search API is
    eventually consistent (an intent created a moment ago is not found yet), a customer's list
    is not. Answers both for one succeeded intent of pledge 7."""

    intent = {
        "id": "pi_fresh",
        "object": "payment_intent",
        "status": "succeeded",
        "amount": 2000,
        "customer": "cus_fresh",
        "metadata": {"pledge_id": "7", "attempt": "1"},
    }
    paths: list[str] = []

    def log_message(self, format, *args):  # noqa: A002 - silence the default log
        pass

    def do_GET(self):
        type(self).paths.append(self.path)
        if self.path.startswith("/v1/payment_intents/search"):
            body = {"object": "search_result", "data": [], "has_more": False, "url": "/"}
        elif self.path.startswith("/v1/payment_intents") and "customer=cus_fresh" in self.path:
            body = {"object": "list", "data": [self.intent], "has_more": False, "url": "/"}
        else:
            body = {"object": "list", "data": [], "has_more": False, "url": "/"}
        out = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def test_intents_of_a_pledge_are_listed_by_customer_not_searched(settings):
    """Issue 13 (suspected, confirmed): past 24 hours the look-up before a new attempt must not
    rely on Stripe's eventually consistent search, or a charge made a moment ago is missed."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FreshIntentNotYetSearchable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_SECRET_KEY = "sk_test_rallyround"
    settings.STRIPE_LOCAL_COMPAT = False
    gateway.reset_client()
    try:
        found = gateway.payment_intents_for_pledge(7, customer_id="cus_fresh")
    finally:
        server.shutdown()
        server.server_close()
        gateway.reset_client()
    assert [(r.payment_intent_id, r.outcome) for r in found] == [
        ("pi_fresh", gateway.ChargeOutcome.SUCCEEDED)
    ]
    assert not any("search" in p for p in _FreshIntentNotYetSearchable.paths)


# --- refunds Stripe has not finished ---------------------------------------------------------
class _RefundsStub(http.server.BaseHTTPRequestHandler):
    """Stripe's refunds as localstripe cannot show them: created `pending`, finishing later
    (succeeded or failed), and findable by the key we put in their metadata."""

    status = "pending"
    created: list[dict] = []
    listed: list[dict] = []

    def log_message(self, format, *args):  # noqa: A002 - silence the default log
        pass

    def _answer(self, body):
        out = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _refund(self, amount=500, key=""):
        return {
            "id": "re_stub",
            "object": "refund",
            "status": type(self).status,
            "amount": amount,
            "payment_intent": "pi_refund_stub",
            "metadata": {"refund_key": key},
        }

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        type(self).created.append({"body": body})
        self._answer(self._refund())

    def do_GET(self):
        if self.path.startswith("/v1/refunds/re_stub"):
            self._answer(self._refund())
        else:
            self._answer(
                {"object": "list", "data": type(self).listed, "has_more": False, "url": "/"}
            )


@pytest.fixture
def refunds_stub(settings):
    _RefundsStub.status, _RefundsStub.created, _RefundsStub.listed = "pending", [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefundsStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_SECRET_KEY = "sk_test_rallyround"
    settings.STRIPE_LOCAL_COMPAT = False
    settings.STRIPE_MAX_RPS = 0
    gateway.reset_client()
    yield _RefundsStub
    server.shutdown()
    server.server_close()
    gateway.reset_client()


def _paid_pledge_without_stripe():
    from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory

    campaign = CampaignFactory(status=Campaign.Status.SUCCEEDED, collected_cents=2000)
    return PledgeFactory(
        campaign=campaign,
        supporter=SupporterFactory(campaign=campaign),
        amount_cents=2000,
        paid_cents=2000,
        status=S.PAID,
        stripe_payment_intent_id="pi_refund_stub",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("finally_", ["succeeded", "failed"])
def test_a_refund_stripe_reports_pending_is_counted_only_once_it_succeeds(
    refunds_stub, staff, finally_
):
    """Issue 13 (suspected, confirmed): a `pending` refund was counted as refunded at once, and
    a later failure never undone. Now it stays pending until Stripe says how it ended."""
    from pledges.models import Refund
    from pledges.services.refunds import pledge_refund

    pledge = _paid_pledge_without_stripe()
    refund = pledge_refund(pledge=pledge, amount_cents=500, actor=staff)
    pledge.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.PENDING, "re_stub")
    assert (pledge.status, pledge.refunded_cents) == (S.PAID, 0)
    refunds_stub.status = finally_
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        payments_reconcile()  # the reconciler asks Stripe about the pending refund
    refund.refresh_from_db()
    pledge.refresh_from_db()
    pledge.campaign.refresh_from_db()
    assert len(refunds_stub.created) == 1  # asked again, never sent again
    if finally_ == "succeeded":
        assert refund.status == Refund.Status.SUCCEEDED
        assert (pledge.refunded_cents, pledge.campaign.collected_cents) == (500, 1500)
    else:
        assert refund.status == Refund.Status.FAILED
        assert (pledge.refunded_cents, pledge.campaign.collected_cents) == (0, 2000)


@pytest.mark.django_db
def test_a_pending_refund_older_than_stripes_key_memory_is_looked_up_not_sent_again(
    refunds_stub, staff
):
    """Issue 13 (suspected, confirmed): past 24 hours Stripe has forgotten the refund's key, so
    sending it again would refund twice. The refund is found by the key in its metadata."""
    from pledges.models import Refund
    from pledges.services.refunds import refund_key

    pledge = _paid_pledge_without_stripe()
    key = refund_key(pledge.pk, 1)
    refund = Refund.objects.create(pledge=pledge, amount_cents=500, idempotency_key=key)
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    refunds_stub.status = "succeeded"
    refunds_stub.listed = [
        {
            "id": "re_stub",
            "object": "refund",
            "status": "succeeded",
            "amount": 500,
            "payment_intent": "pi_refund_stub",
            "metadata": {"refund_key": key},
        }
    ]
    payments_reconcile()
    refund.refresh_from_db()
    pledge.refresh_from_db()
    assert refunds_stub.created == []
    assert refund.status == Refund.Status.SUCCEEDED
    assert pledge.refunded_cents == 500


@pytest.mark.django_db
def test_a_resumed_on_session_attempt_that_needs_3d_secure_emails_the_supporter(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    """Issue 13 (suspected, confirmed): the new-card page's attempt is on-session, so its
    3-D Secure request was never emailed — right while the supporter is on the page, but also
    when the page died and the reconciler resumed the attempt: then nobody told them."""
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    _, attempt, _ = charging.pledge_claim(pledge.pk, now=timezone.now())
    PaymentAttempt.objects.filter(pk=attempt.pk).update(on_session=True)
    result = gateway.payment_intent_charge_on_session(
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        customer_id=pledge.stripe_customer_id,
        payment_method_id=pledge.stripe_payment_method_id,
        metadata={
            "pledge_id": str(pledge.pk),
            "campaign_id": str(pledge.campaign_id),
            "attempt": str(attempt.number),
        },
        idempotency_key=attempt.idempotency_key,
    )
    assert result.outcome == gateway.ChargeOutcome.REQUIRES_ACTION
    # The page's worker died before it recorded the answer.
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        stripe_payment_intent_id=result.payment_intent_id
    )
    Pledge.objects.filter(pk=pledge.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        payments_reconcile()
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    asked = [m for m in mail.outbox if pledge.supporter.email in m.to]
    assert len(asked) == 1, [m.subject for m in mail.outbox]
    assert_ledger_clean(chaos, campaign)


# --- moved from the review of the money path (issue 13) ---------------------------------
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
