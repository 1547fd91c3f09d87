"""The pledge flow over HTTP against localstripe: sign up, save a card, change, cancel.

Stripe.js's part (confirming the SetupIntent in the browser) is done with the same HTTP calls
localstripe's Stripe.js makes (tests/pledges/stripe_browser.py); the e2e suite does it in Chromium.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import Pledge
from pledges.services.pledging import pledge_activate_from_setup_intent
from supporters.models import Supporter, User
from tests.factories import CampaignFactory, verified_user
from tests.pledges.stripe_browser import (
    CARD_3DS,
    CARD_DECLINED_AT_SETUP,
    CARD_OK,
    confirm_card_setup,
    stripe_object,
)

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 42"


def form_key(client, campaign, tier) -> str:
    html = client.get(f"/c/{campaign.slug}/support/{tier}/").content.decode()
    return re.search(r'name="form_key" value="([^"]+)"', html).group(1)


def submit_pledge(client, campaign, tier="advocate", amount="20", key=None, **extra):
    key = key or form_key(client, campaign, tier)
    data = {
        "amount_choice": "other",
        "amount": amount,
        "name": "Rosa Parks",
        "postal_code": "94609",
        "consent_updates": "on",
        "form_key": key,
        **extra,
    }
    return client.post(f"/c/{campaign.slug}/support/{tier}/", data)


def client_secret(client, pledge) -> str:
    html = client.get(f"/pledges/{pledge.token}/card/").content.decode()
    return re.search(r'data-client-secret="([^"]+)"', html).group(1)


def save_card(client, localstripe, pledge, number=CARD_OK, capture=None):
    """What the card step does: confirm in the browser, then post the return."""
    secret = client_secret(client, pledge)
    result = confirm_card_setup(localstripe, secret, number)
    return result, client.post(
        f"/pledges/{pledge.token}/card/complete/", {"setup_intent": result.get("id", "")}
    )


def totals(campaign) -> tuple[int, int]:
    campaign.refresh_from_db()
    return campaign.pledged_cents, campaign.backer_count


@pytest.fixture
def supporter_client(client):
    user = verified_user(email="rosa@example.org", first_name="Rosa", last_name="Parks")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def active_pledge(supporter_client, stripe_local):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    pledge = Pledge.objects.get()
    save_card(supporter_client, stripe_local, pledge)
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ACTIVE
    return pledge


def test_visitor_signs_up_inline_and_pledge_counts_once_the_card_is_saved(
    client, stripe_local, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    key = form_key(client, campaign, "advocate")
    response = submit_pledge(
        client,
        campaign,
        amount="20",
        key=key,
        email="Rosa@Example.org",
        password=PASSWORD,
        consent_org="on",
    )
    # Issue 12: nothing is tied to the address (and nobody is signed in) before its owner opens
    # the emailed link; opened in this browser, it signs the newcomer in and back to the pledge.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not Pledge.objects.exists()
    assert not Supporter.objects.exists()
    link = re.search(r"http://[^\s]+(/accounts/confirm-email/[^\s/]+/)", mail.outbox[0].body)
    response = client.post(link.group(1))
    assert response["Location"] == f"/c/{campaign.slug}/support/advocate/"
    assert 'value="20"' in client.get(response["Location"]).content.decode()
    response = submit_pledge(client, campaign, amount="20", consent_org="on")
    pledge = Pledge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pledges/{pledge.token}/card/"
    user = User.objects.get(email="rosa@example.org")
    assert user.check_password(PASSWORD)
    assert user.stripe_customer_id.startswith("cus_")
    assert pledge.status == Pledge.Status.PENDING_SETUP
    assert pledge.amount_cents == 2000
    assert pledge.stripe_customer_id == user.stripe_customer_id
    assert totals(campaign) == (0, 0)  # not counted before the card is saved
    supporter = Supporter.objects.get()
    assert (supporter.user, supporter.consent_updates, supporter.consent_org) == (user, True, True)
    assert "email me updates" in supporter.consent_updates_text
    # allauth's verification link went to the address (the pledge itself does not wait for it).
    assert [m.to for m in mail.outbox] == [["rosa@example.org"]]

    with django_capture_on_commit_callbacks(execute=True):
        result, response = save_card(client, stripe_local, pledge)
    assert result["status"] == "succeeded"
    assert response["Location"] == f"/pledges/{pledge.token}/"
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ACTIVE
    assert (pledge.card_brand, pledge.card_last4) == ("visa", "4242")
    assert pledge.stripe_payment_method_id == result["payment_method"]
    assert totals(campaign) == (2000, 1)
    supporter.refresh_from_db()
    assert supporter.tier == "advocate"
    assert supporter.is_confirmed
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 1
    [message] = [m for m in mail.outbox if "is in" in m.subject]
    assert message.to == ["rosa@example.org"]
    assert "You will be charged $20 only if this campaign reaches its goal" in message.body
    page = client.get(response["Location"]).content.decode()
    assert "Thank you! Your pledge is active." in page
    assert "Visa ending 4242" in page


def test_replayed_form_finds_the_pledge_it_already_made(supporter_client, stripe_local):
    campaign = CampaignFactory()
    key = form_key(supporter_client, campaign, "advocate")
    first = submit_pledge(supporter_client, campaign, amount="20", key=key)
    second = submit_pledge(supporter_client, campaign, amount="20", key=key)
    assert first["Location"] == second["Location"]
    assert Pledge.objects.count() == 1


def test_second_tab_changes_the_pending_pledge_instead_of_adding_one(
    supporter_client, stripe_local
):
    campaign = CampaignFactory()
    key_a = form_key(supporter_client, campaign, "advocate")
    key_b = form_key(supporter_client, campaign, "advocate")
    submit_pledge(supporter_client, campaign, amount="20", key=key_a)
    submit_pledge(supporter_client, campaign, amount="35", key=key_b)
    pledge = Pledge.objects.get()
    assert pledge.amount_cents == 3500
    assert totals(campaign) == (0, 0)


def test_card_declined_at_setup_leaves_no_active_pledge_and_another_card_works(
    supporter_client, stripe_local
):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    pledge = Pledge.objects.get()
    result, response = save_card(supporter_client, stripe_local, pledge, CARD_DECLINED_AT_SETUP)
    assert result["error"]["message"] == "Your card was declined."
    # Even if a browser posts the return anyway, Stripe's word decides.
    assert response["Location"] == f"/pledges/{pledge.token}/card/"
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PENDING_SETUP
    assert totals(campaign) == (0, 0)

    fresh = supporter_client.post(f"/pledges/{pledge.token}/card/intent/").json()
    refused = pledge.events.get(code="setup_failed")
    assert refused.note.startswith("Card not saved: ")
    assert fresh["client_secret"].split("_secret_")[0] != result.get("id")
    ok = confirm_card_setup(stripe_local, fresh["client_secret"], CARD_OK)
    supporter_client.post(f"/pledges/{pledge.token}/card/complete/", {"setup_intent": ok["id"]})
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ACTIVE
    assert totals(campaign) == (2000, 1)


def test_three_d_secure_card_is_saved_after_authentication(supporter_client, stripe_local):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, tier="champion", amount="30")
    pledge = Pledge.objects.get()
    result, _ = save_card(supporter_client, stripe_local, pledge, CARD_3DS)
    assert result["status"] == "succeeded"
    pledge.refresh_from_db()
    assert (pledge.status, pledge.tier) == (Pledge.Status.ACTIVE, "champion")
    assert totals(campaign) == (3000, 1)


def test_failed_authentication_leaves_the_pledge_waiting(supporter_client, stripe_local):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    pledge = Pledge.objects.get()
    secret = client_secret(supporter_client, pledge)
    confirm_card_setup(stripe_local, secret, CARD_3DS, authenticate=False)
    supporter_client.post(f"/pledges/{pledge.token}/card/complete/")
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PENDING_SETUP
    assert totals(campaign) == (0, 0)


def test_return_without_a_confirmed_card_activates_nothing(supporter_client, stripe_local):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    pledge = Pledge.objects.get()
    response = supporter_client.post(f"/pledges/{pledge.token}/card/complete/")
    assert response["Location"] == f"/pledges/{pledge.token}/card/"
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PENDING_SETUP
    assert totals(campaign) == (0, 0)


def test_browser_return_after_activation_is_a_no_op(
    supporter_client, stripe_local, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    pledge = Pledge.objects.get()
    secret = client_secret(supporter_client, pledge)
    seti = confirm_card_setup(stripe_local, secret)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        first = pledge_activate_from_setup_intent(setup_intent_id=seti, actor_label="webhook")
        supporter_client.post(f"/pledges/{pledge.token}/card/complete/", {"setup_intent": seti})
        again = pledge_activate_from_setup_intent(setup_intent_id=seti, actor_label="webhook")
    assert (first.outcome, again.outcome) == ("activated", "already_done")
    assert totals(campaign) == (2000, 1)
    assert pledge.events.filter(to_status="active", from_status="pending_setup").count() == 1
    assert len([m for m in mail.outbox if "is in" in m.subject]) == 1


def test_reloading_the_card_step_after_saving_activates_instead_of_asking_again(
    supporter_client, stripe_local
):
    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    pledge = Pledge.objects.get()
    confirm_card_setup(stripe_local, client_secret(supporter_client, pledge))
    # The return never arrived (tab closed); the supporter comes back to the card step.
    response = supporter_client.get(f"/pledges/{pledge.token}/card/")
    assert response["Location"] == f"/pledges/{pledge.token}/"
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ACTIVE


def test_raising_an_active_pledge_moves_the_total_by_the_difference(
    active_pledge, supporter_client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = active_pledge.campaign
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_pledge(supporter_client, campaign, tier="champion", amount="50")
    assert response["Location"] == f"/pledges/{active_pledge.token}/"
    assert Pledge.objects.count() == 1
    active_pledge.refresh_from_db()
    assert (active_pledge.amount_cents, active_pledge.tier) == (5000, "champion")
    assert active_pledge.status == Pledge.Status.ACTIVE
    assert totals(campaign) == (5000, 1)
    assert Supporter.objects.get().tier == "champion"
    assert "Changed from $20 (Advocate) to $50 (Champion)." in [
        e.note for e in active_pledge.events.all()
    ]
    [changed] = [m for m in mail.outbox if "changed" in m.subject]
    assert "from $20 as Advocate to $50 as Champion" in changed.body

    submit_pledge(supporter_client, campaign, tier="advocate", amount="15")
    assert totals(campaign) == (1500, 1)
    assert Supporter.objects.get().tier == "advocate"


def test_switching_to_champion_starts_from_the_champion_minimum(active_pledge, supporter_client):
    html = supporter_client.get(
        f"/c/{active_pledge.campaign.slug}/support/champion/"
    ).content.decode()
    assert "You have pledged <strong>$20</strong> as Advocate" in html
    assert "You will be charged <strong data-charge-amount>$28</strong>" in html
    assert "Update my pledge" in html


def test_replayed_change_form_applies_once(active_pledge, supporter_client):
    campaign = active_pledge.campaign
    key = form_key(supporter_client, campaign, "advocate")
    submit_pledge(supporter_client, campaign, amount="45", key=key)
    submit_pledge(supporter_client, campaign, amount="45", key=key)
    assert totals(campaign) == (4500, 1)
    assert active_pledge.events.filter(note__startswith="Changed").count() == 1


def test_cancel_takes_the_pledge_out_of_the_totals_and_back_to_ally(
    active_pledge, supporter_client, stripe_local, django_capture_on_commit_callbacks, celery_eager
):
    campaign = active_pledge.campaign
    with django_capture_on_commit_callbacks(execute=True):
        response = supporter_client.post(f"/pledges/{active_pledge.token}/cancel/")
    assert response.status_code == 302
    active_pledge.refresh_from_db()
    assert active_pledge.status == Pledge.Status.CANCELED
    assert totals(campaign) == (0, 0)
    supporter = Supporter.objects.get()
    assert supporter.tier == "ally"
    assert supporter.is_confirmed  # still supports the campaign
    assert any("is canceled" in m.subject for m in mail.outbox)
    page = supporter_client.get(response["Location"]).content.decode()
    assert "will never be charged" in page
    # Stripe no longer holds the card for us.
    card = stripe_object(
        stripe_local, f"/v1/payment_methods/{active_pledge.stripe_payment_method_id}"
    )
    assert card["customer"] is None

    # Pledging again afterwards makes a new pledge (the canceled one stays as history).
    submit_pledge(supporter_client, campaign, amount="25")
    assert Pledge.objects.filter(status=Pledge.Status.PENDING_SETUP).count() == 1
    assert Pledge.objects.count() == 2


def test_after_the_deadline_a_pledge_can_neither_change_nor_cancel(active_pledge, supporter_client):
    campaign = active_pledge.campaign
    # A deadline an hour away (so the login session is still valid an hour later).
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() + dt.timedelta(hours=1))
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, minutes=1)):
        response = supporter_client.post(f"/pledges/{active_pledge.token}/cancel/", follow=True)
        assert "can no longer be made, changed or canceled" in response.content.decode()
        response = submit_pledge(
            supporter_client, campaign, amount="99", key="late-key", follow=True
        )
        assert "This campaign's deadline has passed" in response.content.decode()
        page = supporter_client.get(f"/pledges/{active_pledge.token}/").content.decode()
        assert "Cancel my pledge" not in page
    active_pledge.refresh_from_db()
    assert (active_pledge.status, active_pledge.amount_cents) == (Pledge.Status.ACTIVE, 2000)
    assert totals(campaign) == (2000, 1)


def test_settling_campaign_freezes_pledges_even_before_the_deadline(
    active_pledge, supporter_client
):
    Campaign.objects.filter(pk=active_pledge.campaign_id).update(status=Campaign.Status.SETTLING)
    supporter_client.post(f"/pledges/{active_pledge.token}/cancel/")
    active_pledge.refresh_from_db()
    assert active_pledge.status == Pledge.Status.ACTIVE


def test_someone_elses_pledge_is_not_found(active_pledge, client):
    client.force_login(verified_user(email="mallory@example.org"))
    token = active_pledge.token
    assert client.get(f"/pledges/{token}/").status_code == 404
    assert client.post(f"/pledges/{token}/cancel/").status_code == 404
    assert client.get(f"/pledges/{token}/card/").status_code == 404
    active_pledge.refresh_from_db()
    assert active_pledge.status == Pledge.Status.ACTIVE


def test_pledge_pages_need_a_login(active_pledge):
    response = Client().get(f"/pledges/{active_pledge.token}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_changing_the_card_swaps_it_and_leaves_the_totals(
    active_pledge, supporter_client, stripe_local
):
    old_pm = active_pledge.stripe_payment_method_id
    old_seti = active_pledge.stripe_setup_intent_id
    _, response = save_card(supporter_client, stripe_local, active_pledge, "5555555555554444")
    assert response["Location"] == f"/pledges/{active_pledge.token}/"
    active_pledge.refresh_from_db()
    assert active_pledge.status == Pledge.Status.ACTIVE
    assert active_pledge.card_last4 == "4444"
    assert active_pledge.stripe_payment_method_id != old_pm
    assert totals(active_pledge.campaign) == (2000, 1)
    assert stripe_object(stripe_local, f"/v1/payment_methods/{old_pm}")["customer"] is None
    new_card = stripe_object(
        stripe_local, f"/v1/payment_methods/{active_pledge.stripe_payment_method_id}"
    )
    assert new_card["customer"] == active_pledge.stripe_customer_id
    # A late event for the old intent does not put the old card back.
    late = pledge_activate_from_setup_intent(setup_intent_id=old_seti, actor_label="webhook")
    assert late.outcome == "ignored"
    active_pledge.refresh_from_db()
    assert active_pledge.card_last4 == "4444"


def test_pledge_flow_never_creates_a_payment_intent(client, chaos):
    campaign = CampaignFactory()
    user = verified_user()
    client.force_login(user)
    submit_pledge(client, campaign, amount="20")
    pledge = Pledge.objects.get()
    secret = client_secret(client, pledge)
    from django.conf import settings

    # Stripe.js talks to localstripe directly; the server's calls go through the proxy.
    js_base = settings.STRIPE_JS_URL.split("/js.stripe.com")[0]
    seti = confirm_card_setup(js_base, secret)["id"]
    client.post(f"/pledges/{pledge.token}/card/complete/", {"setup_intent": seti})
    submit_pledge(client, campaign, amount="40")
    client.post(f"/pledges/{pledge.token}/cancel/")
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CANCELED
    requests = chaos.stats()["requests"]
    assert requests.get("POST /v1/setup_intents", 0) >= 1
    assert not [route for route in requests if "payment_intents" in route]
    assert chaos.ledger()["payment_intents"] == {}


def test_deadline_text_is_in_the_campaigns_time_zone(client):
    campaign = CampaignFactory(
        deadline=dt.datetime(2031, 3, 1, 17, 0, tzinfo=dt.UTC),
        timezone="America/New_York",
    )
    html = client.get(f"/c/{campaign.slug}/support/champion/").content.decode()
    assert "Saturday, March 1 2031 12:00 PM EST" in html


def test_inline_sign_ups_are_rate_limited_per_network(client, stripe_local, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    campaign = CampaignFactory()
    first = submit_pledge(client, campaign, email="one@example.org", password=PASSWORD)
    assert first.status_code == 302
    second = submit_pledge(client, campaign, email="two@example.org", password=PASSWORD)
    assert second.status_code == 429
    assert "Too many sign-ups from your network" in second.content.decode()
    assert not User.objects.filter(email="two@example.org").exists()
    assert not Pledge.objects.exists()  # nothing is pledged before the address is proven


@pytest.mark.parametrize("template", ["pledge_confirmed", "pledge_changed", "pledge_canceled"])
def test_pledge_emails_read_right_in_text_and_html(template):
    from supporters.emails import email_render

    subject, text, html = email_render(
        template=template,
        context={
            "name": "Rosa",
            "campaign_title": "Parks & Buses",
            "campaign_url": "http://testserver/c/parks/",
            "pledge_url": "http://testserver/pledges/abc/",
            "amount": "$20",
            "tier": "Advocate",
            "deadline": "Sunday, December 27 2026 9:37 PM PST",
            "card": "Visa ending 4242",
            "change": "Your pledge changed from $15 as Advocate to $20 as Advocate.",
        },
    )
    assert "Parks & Buses" in subject
    assert "Parks & Buses" in text
    assert "&amp;" not in text
    assert "Parks &amp; Buses" in html
    assert "http://testserver/pledges/abc/" in text


@pytest.mark.parametrize(
    ("status", "text", "link"),
    [
        ("action_required", "Your bank needs you to confirm the payment", "/confirm/"),
        ("needs_new_method", "your card could not be charged", "/new-card/"),
        ("released", "Nobody was charged.", None),
    ],
)
def test_pledge_page_after_the_deadline_says_what_happened_and_what_to_do(
    supporter_client, status, text, link
):
    campaign = CampaignFactory(status=Campaign.Status.SUCCEEDED)
    supporter = Supporter.objects.create(
        campaign=campaign, user=supporter_client.user, email="rosa@example.org", name="Rosa"
    )
    pledge = Pledge.objects.create(
        campaign=campaign, supporter=supporter, tier="advocate", amount_cents=2000, status=status
    )
    html = supporter_client.get(f"/pledges/{pledge.token}/").content.decode()
    assert text in html
    if link:
        assert f"/pledges/{pledge.token}{link}" in html
    assert "Cancel my pledge" not in html


def test_card_saved_but_never_reported_is_activated_by_the_sweep(supporter_client, stripe_local):
    from pledges.tasks import pledges_setup_reconcile

    campaign = CampaignFactory()
    submit_pledge(supporter_client, campaign, amount="20")
    saved = Pledge.objects.get()
    confirm_card_setup(stripe_local, client_secret(supporter_client, saved))
    # Tab closed: no browser return, and no webhook. A second supporter never saves a card.
    other = Client()
    other.force_login(verified_user(email="ida@example.org"))
    submit_pledge(other, campaign, amount="30")
    abandoned = Pledge.objects.exclude(pk=saved.pk).get()

    assert pledges_setup_reconcile() == {}  # too recent: the browser may still report it
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        summary = pledges_setup_reconcile()
        again = pledges_setup_reconcile()
    assert summary == {"activated": 1, "not_succeeded": 1}
    assert again == {"not_succeeded": 1}
    saved.refresh_from_db()
    abandoned.refresh_from_db()
    assert saved.status == Pledge.Status.ACTIVE
    assert saved.events.get(to_status="active").actor_label == "setup reconciler"
    assert abandoned.status == Pledge.Status.PENDING_SETUP
    assert totals(campaign) == (2000, 1)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=3)):
        assert pledges_setup_reconcile() == {}  # old abandoned pledges are no longer asked about
