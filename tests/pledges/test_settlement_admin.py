"""Staff screens for settlement: approve or reject, the report and its CSV, refunds (full,
partial, idempotent) and the refund and dispute webhooks."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign
from pledges import gateway
from pledges.models import Pledge, Refund
from pledges.services import attempts, charging, review, settlement
from pledges.services.refunds import RefundError, pledge_refund
from tests.pledges.settlement_support import (
    active_pledge,
    assert_ledger_clean,
    campaign_ending,
    charge_due_campaign,
    saved_card,
    signed_webhook,
    stripe_client,
)

S = Pledge.Status
pytestmark = [pytest.mark.django_db, pytest.mark.stripe]


@pytest.fixture
def admin_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def _url(name, *args):
    return reverse(f"admin:pledges_campaignsettlement_{name}", args=args)


def _awaiting_approval(goal_cents=3000, amounts=(2000, 2000)):
    campaign = campaign_ending(goal_cents=goal_cents)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=a) for a in amounts]
    with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1)):
        settlement.settle_due()
    campaign.refresh_from_db()
    return campaign, pledges


def test_staff_approve_from_the_admin_and_every_pledge_is_charged(
    chaos, admin_client, celery_eager, django_capture_on_commit_callbacks
):
    campaign, pledges = _awaiting_approval()
    listing = admin_client.get(_url("changelist"))
    assert campaign.title in listing.content.decode()
    assert "Approve or reject" in listing.content.decode()
    page = admin_client.get(_url("approve", campaign.pk))
    assert "Charges 2 supporters a total of $40" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_url("approve", campaign.pk), follow=True)
    assert "approved for collection: charging 2 pledges now" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SUCCEEDED
    assert campaign.collected_cents == 4000
    assert all(Pledge.objects.get(pk=p.pk).status == S.PAID for p in pledges)
    # Approving again is refused with a sentence, and charges nobody.
    again = admin_client.post(_url("approve", campaign.pk), follow=True)
    assert "not awaiting approval" in again.content.decode()
    assert_ledger_clean(chaos, campaign)


def test_reject_needs_a_reason_and_then_releases_everyone(chaos, admin_client):
    campaign, pledges = _awaiting_approval()
    empty = admin_client.post(_url("reject", campaign.pk), {"reason": ""})
    assert "Give a reason" in empty.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SETTLING

    done = admin_client.post(
        _url("reject", campaign.pk), {"reason": "Organizer misrepresented the goal."}, follow=True
    )
    assert "2 pledges released, nobody charged" in done.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert all(Pledge.objects.get(pk=p.pk).status == S.RELEASED for p in pledges)
    assert_ledger_clean(chaos, campaign)


def test_report_and_csv_show_pledged_collected_failed_and_pending(chaos, admin_client, staff):
    campaign, pledges = charge_due_campaign(staff, count=3)
    pledges[0].supporter.name = "=HYPERLINK(1)"
    pledges[0].supporter.save()
    charging.pledge_charge(pledge_id=pledges[0].pk)

    report = admin_client.get(_url("change", campaign.pk)).content.decode()
    assert "Pledged at the deadline" in report
    assert "$45.03" in report  # 1500 + 1501 + 1502 frozen
    assert "Collected (net of refunds)" in report
    pending_page = admin_client.get(_url("change", campaign.pk) + "?status=pending").content
    assert f"R-{pledges[1].pk}".encode() in pending_page
    assert f"R-{pledges[0].pk}<".encode() not in pending_page

    response = admin_client.get(_url("csv", campaign.pk))
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("pledge_id,supporter_name,supporter_email")
    assert len(lines) == 4
    paid_row = next(line for line in lines if line.startswith(f"{pledges[0].pk},"))
    assert paid_row.startswith(f"{pledges[0].pk},'=HYPERLINK(1)")
    assert ",paid," in paid_row
    assert ",succeeded," in paid_row


def test_report_is_for_staff_only(chaos, staff):
    campaign, _ = charge_due_campaign(staff, count=1)
    response = Client().get(_url("change", campaign.pk))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_partial_then_full_refund_from_the_admin_each_happen_once(
    chaos, admin_client, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, amount_cents=2000)
    charging.pledge_charge(pledge_id=pledge.pk)
    page_url = _url("pledge", campaign.pk, pledge.pk)
    page = admin_client.get(page_url).content.decode()
    assert "Up to $20 can be refunded" in page
    assert f"pledge-{pledge.pk}-attempt-1" in page

    form = {"amount": "5.00", "reason": "Asked for part back", "number": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(page_url, form, follow=True)
        # A double click (the same form again) refunds nothing more.
        admin_client.post(page_url, form, follow=True)
    assert f"pledge-{pledge.pk}-refund-1" in first.content.decode()
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.PAID, 500)
    assert campaign.collected_cents == 1500
    assert Refund.objects.filter(pledge=pledge).count() == 1

    too_much = admin_client.post(page_url, {"amount": "15.01", "number": "2"})
    assert "At most $15 can still be refunded." in too_much.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(page_url, {"amount": "15", "number": "2"}, follow=True)
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.REFUNDED, 2000)
    assert campaign.collected_cents == 0
    ledger = assert_ledger_clean(chaos, campaign)
    assert sorted(r["amount"] for r in ledger["refunds"].values()) == [500, 1500]
    assert len([m for m in mail.outbox if "Refund for your" in m.subject]) == 2
    # A stale form from before the second refund is refused, not replayed as a new one.
    with pytest.raises(RefundError, match="out of date"):
        pledge_refund(pledge=pledge, amount_cents=100, actor=staff, number=5)


def test_refund_webhooks_count_only_money_we_did_not_know_about(chaos, staff):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, amount_cents=3000)
    charging.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    pledge_refund(pledge=pledge, amount_cents=1000, actor=staff)
    intent = stripe_client().v1.payment_intents.retrieve(pledge.stripe_payment_intent_id)
    charge_id = getattr(intent.latest_charge, "id", intent.latest_charge)
    charge = {"object": "charge", "payment_intent": pledge.stripe_payment_intent_id}
    ours = signed_webhook(
        Client(),
        event_id="evt_r1",
        type="charge.refunded",
        obj={**charge, "id": charge_id, "amount_refunded": 1000},
    )
    assert ours.content.decode().startswith("already counted")
    # Someone refunds another $5 from the Stripe dashboard.
    stripe_client().v1.refunds.create(
        params={"payment_intent": pledge.stripe_payment_intent_id, "amount": 500}
    )
    theirs = signed_webhook(
        Client(),
        event_id="evt_r2",
        type="charge.refunded",
        obj={**charge, "id": charge_id, "amount_refunded": 1500},
    )
    assert theirs.content.decode() == f"refunded 500 pledge={pledge.pk}"
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 1500, 1500)
    assert_ledger_clean(chaos, campaign)


def test_dispute_webhook_marks_the_pledge_disputed_and_alerts_staff(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks, stripe_disputes
):
    campaign, (pledge,) = charge_due_campaign(staff, count=1)
    charging.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    dispute = stripe_disputes.put(pledge, "dp_1", status="needs_response")
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_webhook(
            Client(), event_id="evt_d1", type="charge.dispute.created", obj=dispute
        )
    assert response.content.decode() == f"disputed pledge={pledge.pk}"
    pledge.refresh_from_db()
    assert pledge.status == S.DISPUTED
    assert any("disputed" in m.subject for m in mail.outbox)
    stripe_disputes.put(pledge, "dp_1", status="won")
    won = signed_webhook(
        Client(),
        event_id="evt_d2",
        type="charge.dispute.closed",
        obj={**dispute, "status": "won"},
    )
    assert won.content.decode() == f"dispute won pledge={pledge.pk}"
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


def test_request_stripe_rejects_goes_to_review_and_staff_can_charge_again_or_write_off(
    chaos, admin_client, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, pledges = charge_due_campaign(staff, count=2)
    good_card = pledges[0].stripe_payment_method_id
    Pledge.objects.filter(pk__in=[p.pk for p in pledges]).update(
        stripe_payment_method_id="pm_deleted"
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement.settle_run(campaign=campaign)
    assert run.by_status == {S.NEEDS_REVIEW: 2}
    attempt = pledges[0].attempts.get()
    assert attempt.outcome == "invalid"
    assert attempt.message
    assert any("needs review" in m.subject for m in mail.outbox)

    # Staff restore the card for the first and charge again: a new attempt with the next key.
    Pledge.objects.filter(pk=pledges[0].pk).update(stripe_payment_method_id=good_card)
    page_url = _url("pledge", campaign.pk, pledges[0].pk)
    assert "Charge again now" in admin_client.get(page_url).content.decode()
    done = admin_client.post(page_url, {"action": "review_retry"}, follow=True)
    assert f"pledge R-{pledges[0].pk} is now paid" in done.content.decode()
    assert pledges[0].attempts.count() == 2

    # And write the second off, with a reason.
    other = _url("pledge", campaign.pk, pledges[1].pk)
    refused = admin_client.post(other, {"action": "review_write_off", "reason": ""}, follow=True)
    assert "Give a reason" in refused.content.decode()
    admin_client.post(other, {"action": "review_write_off", "reason": "Card closed"})
    assert Pledge.objects.get(pk=pledges[1].pk).status == S.UNPAID
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_the_settlement_report_shows_one_collected_figure(admin_client):
    """Issue 13 (suspected, confirmed): the totals said "Collected (net of refunds)" from the
    money, while the "Collected" outcome row summed the pledged amounts of paid, disputed and
    refunded pledges. Both now say what was collected, net of refunds; refunded pledges have
    their own row."""
    from pledges.selectors_settlement import settlement_report
    from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory

    campaign = CampaignFactory(
        status=Campaign.Status.SUCCEEDED, frozen_pledged_cents=6000, frozen_backer_count=3
    )

    def pledge(status, paid, refunded):
        PledgeFactory(
            campaign=campaign,
            supporter=SupporterFactory(campaign=campaign),
            amount_cents=2000,
            paid_cents=paid,
            refunded_cents=refunded,
            status=status,
        )

    pledge(S.PAID, 2000, 500)  # refunded in part
    pledge(S.REFUNDED, 2000, 2000)
    pledge(S.DISPUTED, 2000, 0)
    Campaign.objects.filter(pk=campaign.pk).update(collected_cents=3500)
    campaign.refresh_from_db()
    report = settlement_report(campaign=campaign)
    assert report.groups["collected"] == (2, 3500)
    assert report.groups["refunded"] == (1, 2000)
    assert report.groups["collected"][1] == report.collected_cents
    page = admin_client.get(_url("change", campaign.pk)).content.decode()
    assert page.count("$35") >= 2
    assert "$60" in page  # pledged at the deadline


@pytest.mark.django_db
def test_a_second_payment_for_a_paid_pledge_is_recorded_alerted_and_refunded_in_one_click(
    chaos, staff, admin_client, celery_eager, django_capture_on_commit_callbacks
):
    """Issue 13 (suspected, confirmed): a succeeded intent that differs from the one an attempt
    recorded was only logged — money taken and nobody told. Now it is recorded on the pledge,
    staff are alerted, and the pledge's page refunds the duplicate in one click."""

    campaign, (pledge,) = charge_due_campaign(staff, count=1, amount_cents=2000)
    charging.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    attempt = pledge.attempts.get()
    # The same pledge charged again under another key (what a forgotten key replays into).
    duplicate = gateway.payment_intent_charge_off_session(
        amount_cents=2000,
        currency="usd",
        customer_id=pledge.stripe_customer_id,
        payment_method_id=pledge.stripe_payment_method_id,
        metadata={"pledge_id": str(pledge.pk), "attempt": "1"},
        idempotency_key="another-key",
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        attempts.attempt_record(
            attempt_id=attempt.pk,
            result=gateway.payment_intent_retrieve(duplicate.payment_intent_id),
            source="webhook",
        )
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.stripe_payment_intent_id != duplicate.payment_intent_id
    assert pledge.events.filter(
        code="double_charge", stripe_object_id=duplicate.payment_intent_id
    ).exists()
    assert any("charged twice" in m.subject for m in mail.outbox)

    page_url = _url("pledge", campaign.pk, pledge.pk)
    assert f"Refund duplicate payment {duplicate.payment_intent_id}" in (
        admin_client.get(page_url).content.decode()
    )
    form = {"action": "refund_duplicate", "payment_intent": duplicate.payment_intent_id}
    admin_client.post(page_url, form)
    admin_client.post(page_url, form)  # a second click refunds nothing more
    ledger = chaos.ledger()
    assert ledger["payment_intents"][duplicate.payment_intent_id]["refunded"] == 2000
    assert ledger["payment_intents"][pledge.stripe_payment_intent_id].get("refunded", 0) == 0
    assert len(ledger["refunds"]) == 1
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (S.PAID, 0, 2000)
    assert f"Refund duplicate payment {duplicate.payment_intent_id}" not in (
        admin_client.get(page_url).content.decode()
    )


# --- moved from the review of the money path (issue 13) ---------------------------------
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
