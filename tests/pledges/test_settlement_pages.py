"""The supporter's payment pages after a campaign succeeded, over HTTP against localstripe:
finishing 3-D Secure, and paying with a new card. What the browser's Stripe.js would do is done
here with the same localstripe calls; tests/pledges/test_settlement_pages_browser.py drives the
real pages in Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from pledges import gateway
from pledges.models import PaymentAttempt, Pledge
from pledges.services import settlement
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    OK_CARD,
    THREE_DS_CARD,
    assert_ledger_clean,
    authenticate_3ds,
    charge_due_campaign,
    signed_webhook,
    stripe_client,
)

S = Pledge.Status
pytestmark = [pytest.mark.django_db, pytest.mark.stripe]


def _confirm_url(pledge):
    return reverse("pledges:payment_confirm", kwargs={"token": pledge.token})


def _new_card_url(pledge):
    return reverse("pledges:payment_new_card", kwargs={"token": pledge.token})


def _needing(staff, number):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=number, amount_cents=2000)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    return campaign, pledge


def _save_card_in_page(page_html: str, number: str) -> str:
    """What stripe.confirmCardSetup does in the page: confirm the page's SetupIntent with the
    typed card. Returns the SetupIntent id the page then posts."""
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
    if setup.status == "requires_action":  # the bank's 3-D Secure dialog, completed
        client.v1.setup_intents.confirm(setup_intent_id)
    return setup_intent_id


def test_supporter_completes_3d_secure_and_the_pledge_is_paid(chaos, staff):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    assert pledge.status == S.ACTION_REQUIRED
    client = Client()
    page = client.get(_confirm_url(pledge)).content.decode()
    assert "Confirm and pay $20" in page
    assert f'data-client-secret="{pledge.stripe_payment_intent_id}_secret_' in page

    authenticate_3ds(pledge.stripe_payment_intent_id, success=True)
    done = client.post(
        _confirm_url(pledge), {"payment_intent": pledge.stripe_payment_intent_id}, follow=True
    )
    assert "Thank you — your pledge is paid" in done.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.attempts.get().outcome == PaymentAttempt.Outcome.SUCCEEDED
    # Posting again (a reload) changes nothing.
    client.post(_confirm_url(pledge), {"payment_intent": pledge.stripe_payment_intent_id})
    campaign.refresh_from_db()
    assert campaign.collected_cents == 2000
    assert_ledger_clean(chaos, campaign)


def test_failed_3d_secure_sends_the_supporter_to_add_another_card(chaos, staff):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    authenticate_3ds(pledge.stripe_payment_intent_id, success=False)
    response = Client().post(
        _confirm_url(pledge), {"payment_intent": pledge.stripe_payment_intent_id}, follow=True
    )
    assert response.redirect_chain[-1][0] == _new_card_url(pledge)
    assert "Your bank did not confirm the payment" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    assert_ledger_clean(chaos, campaign)


def test_confirm_with_another_payment_id_is_refused(chaos, staff):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    response = Client().post(_confirm_url(pledge), {"payment_intent": "pi_other"}, follow=True)
    assert "This payment link is out of date" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert_ledger_clean(chaos, campaign)


def test_declined_supporter_pays_with_a_new_card_on_session(chaos, staff):
    campaign, pledge = _needing(staff, DECLINE_CARD)
    # Three soft declines later the supporter is asked for another card.
    for days in (2, 6):
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)):
            settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    client = Client()
    page = client.get(_new_card_url(pledge)).content.decode()
    assert "Pay with another card" in page
    assert "Pay $20" in page

    setup_intent_id = _save_card_in_page(page, OK_CARD)
    done = client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id}, follow=True)
    assert "Thank you — your pledge is paid" in done.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.card_last4 == "4242"
    last = pledge.attempts.order_by("-number").first()
    assert (last.number, last.on_session) == (4, True)
    assert last.idempotency_key == f"pledge-{pledge.pk}-attempt-4"
    # The form posted twice (double click): no second charge.
    client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id})
    assert pledge.attempts.count() == 4
    assert_ledger_clean(chaos, campaign)


def test_new_card_declined_on_the_page_says_so_and_lets_them_try_again(chaos, staff):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    authenticate_3ds(pledge.stripe_payment_intent_id, success=False)
    Client().post(_confirm_url(pledge), {"payment_intent": pledge.stripe_payment_intent_id})
    client = Client()
    page = client.get(_new_card_url(pledge)).content.decode()
    setup_intent_id = _save_card_in_page(page, DECLINE_CARD)
    response = client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id}, follow=True)
    assert "That card was declined. Please try another card." in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    assert "data-payment-new-card" in response.content.decode()
    assert_ledger_clean(chaos, campaign)


def test_new_card_needing_3d_secure_goes_to_the_confirm_page_and_the_old_request_is_closed(
    chaos, staff
):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    old_intent = pledge.stripe_payment_intent_id
    client = Client()
    page = client.get(_new_card_url(pledge)).content.decode()
    setup_intent_id = _save_card_in_page(page, THREE_DS_CARD)
    response = client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id})
    assert response["Location"] == _confirm_url(pledge)
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert pledge.stripe_payment_intent_id != old_intent
    assert gateway.payment_intent_retrieve(old_intent).status == "canceled"
    authenticate_3ds(pledge.stripe_payment_intent_id, success=True)
    client.post(_confirm_url(pledge), {"payment_intent": pledge.stripe_payment_intent_id})
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


def test_after_the_grace_period_the_pages_say_the_window_has_closed(chaos, staff):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    with time_machine.travel(pledge.grace_ends_at + dt.timedelta(minutes=1)):
        confirm = Client().get(_confirm_url(pledge)).content.decode()
        new_card = Client().get(_new_card_url(pledge)).content.decode()
    assert "Confirm and pay" not in confirm
    assert "The payment window has closed" in confirm
    assert "data-payment-new-card" not in new_card
    assert "The payment window has closed" in new_card
    assert_ledger_clean(chaos, campaign)


def test_unknown_payment_link_is_not_found(db):
    assert Client().get("/pledges/not-a-token/confirm/").status_code == 404
    assert Client().get("/pledges/not-a-token/new-card/").status_code == 404


def test_a_failed_3d_secure_request_is_closed_before_the_new_card_is_charged(chaos, staff):
    """After a failed 3-D Secure try the old intent could still be paid from a tab left open
    (Stripe lets it be confirmed with another card): it is canceled before the new charge."""
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    old_intent = pledge.stripe_payment_intent_id
    authenticate_3ds(old_intent, success=False)
    Client().post(_confirm_url(pledge), {"payment_intent": old_intent})
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    client = Client()
    setup_intent_id = _save_card_in_page(
        client.get(_new_card_url(pledge)).content.decode(), OK_CARD
    )
    client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id})
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert gateway.payment_intent_retrieve(old_intent).status == "canceled"
    # Attempt 1 keeps its own answer (authentication failed); attempt 2 paid.
    assert pledge.attempts.get(number=1).outcome == PaymentAttempt.Outcome.SOFT_DECLINE
    assert pledge.attempts.get(number=2).outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert_ledger_clean(chaos, campaign)


def test_no_new_charge_while_stripe_will_not_close_the_earlier_request(chaos, staff):
    campaign, pledge = _needing(staff, THREE_DS_CARD)
    client = Client()
    setup_intent_id = _save_card_in_page(
        client.get(_new_card_url(pledge)).content.decode(), OK_CARD
    )
    chaos.rules(
        {"match": {"method": "POST", "path_regex": "/cancel$"}, "fault": "http_500", "times": 50}
    )
    response = client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id}, follow=True)
    assert "could not close your earlier payment request" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert pledge.attempts.count() == 1
    chaos.clear_rules()
    client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id})
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


def test_a_new_card_saved_whose_page_post_is_lost_is_charged_by_the_reconciler(chaos, staff):
    """Issue 13 (suspected, confirmed): the supporter saved a new card on the page, and the
    page's POST never arrived (tab closed, connection lost). Nobody looked: the pledge waited
    until its grace ran out. The reconciler now finds the saved card and charges it, once."""
    from pledges.services.reconcile import payments_reconcile

    campaign, pledge = _needing(staff, DECLINE_CARD)
    for days in (2, 6):
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)):
            settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=6, hours=1), tick=True):
        page = Client().get(_new_card_url(pledge)).content.decode()
        _save_card_in_page(page, OK_CARD)  # ... and the POST is lost
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=6, hours=2), tick=True):
        payments_reconcile()
        payments_reconcile()  # a second run charges nothing more
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.card_last4 == "4242"
    assert pledge.attempts.count() == 4
    assert_ledger_clean(chaos, campaign)


def test_a_new_card_saved_whose_page_post_is_lost_is_charged_when_its_webhook_arrives(chaos, staff):
    """The same lost POST, reported by Stripe's setup_intent.succeeded webhook: the card is
    charged at once (the page's later POST, if it comes, charges nothing more)."""

    campaign, pledge = _needing(staff, DECLINE_CARD)
    for days in (2, 6):
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)):
            settlement.settle_run(campaign=campaign)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=6, hours=1), tick=True):
        client = Client()
        page = client.get(_new_card_url(pledge)).content.decode()
        setup_intent_id = _save_card_in_page(page, OK_CARD)
        answer = signed_webhook(
            Client(),
            event_id="evt_new_card",
            type="setup_intent.succeeded",
            obj={"id": setup_intent_id, "object": "setup_intent"},
        )
        assert answer.content.decode() == f"new card pledge={pledge.pk} now paid"
        client.post(_new_card_url(pledge), {"setup_intent": setup_intent_id})  # late POST
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.attempts.count() == 4
    assert_ledger_clean(chaos, campaign)


# --- moved from the review of the money path (issue 13) ---------------------------------
# --- two tabs on the new-card page ------------------------------------------------------------
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
