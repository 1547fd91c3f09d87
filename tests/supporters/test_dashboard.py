"""/me/: a person's own campaigns, choices, data export and account deletion — and nobody
else's."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress

from campaigns.models import Campaign
from pledges.models import PaymentAttempt, Pledge
from supporters.models import Supporter, User
from tests.factories import PledgeFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db


def verified_user(email: str, **kwargs) -> User:
    user = UserFactory(email=email, **kwargs)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def rosa(client):
    user = verified_user("rosa@example.org", first_name="Rosa", last_name="Parks")
    client.force_login(user)
    return user


def test_dashboard_needs_login(client):
    response = client.get("/me/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_dashboard_lists_linked_rows_and_rows_signed_on_with_my_verified_email(client, rosa):
    linked = SupporterFactory(user=rosa, email="rosa@example.org", tier="champion")
    by_email = SupporterFactory(email="rosa@example.org")
    stranger = SupporterFactory(email="someone@example.org")
    pledge = PledgeFactory(
        campaign=linked.campaign, supporter=linked, amount_cents=2800, tier="champion"
    )
    body = client.get("/me/").content.decode()
    assert linked.campaign.title in body
    assert by_email.campaign.title in body
    assert stranger.campaign.title not in body
    assert "$28" in body
    assert pledge.get_status_display() in body
    # "Change or cancel my pledge" lands on the page that manages it (issue 16).
    assert f"/pledges/{pledge.token}/" in body


def test_logging_in_links_rows_signed_on_with_my_verified_email(client):
    user = verified_user("ida@example.org")
    waiting = SupporterFactory(email="ida@example.org", confirmed_at=None)
    client.post(
        "/accounts/login/", {"login": "ida@example.org", "password": "correct horse battery staple"}
    )
    waiting.refresh_from_db()
    assert waiting.user == user
    assert waiting.is_confirmed
    assert Campaign.objects.get(pk=waiting.campaign_id).supporter_count == 1


def test_changing_consents_re_timestamps_them_and_stores_the_wording(client, rosa):
    s = SupporterFactory(user=rosa, email=rosa.email, consent_updates=False)
    response = client.post(
        f"/me/supporting/{s.pk}/preferences/",
        {
            f"s{s.pk}-display_name": "R. Parks",
            f"s{s.pk}-public_listing": "on",
            f"s{s.pk}-consent_updates": "on",
        },
    )
    assert response.status_code == 302
    s.refresh_from_db()
    assert (s.display_name, s.public_listing, s.consent_updates, s.consent_org) == (
        "R. Parks",
        True,
        True,
        False,
    )
    first_at = s.consent_updates_at
    assert first_at is not None
    assert s.campaign.title in s.consent_updates_text
    client.post(f"/me/supporting/{s.pk}/preferences/", {f"s{s.pk}-display_name": "R. Parks"})
    s.refresh_from_db()
    assert s.consent_updates is False
    assert s.consent_updates_at > first_at
    assert s.consent_updates_text == ""


def test_leaving_a_campaign_stops_counting_and_emails(client, rosa):
    s = SupporterFactory(user=rosa, email=rosa.email, consent_updates=True)
    Campaign.objects.filter(pk=s.campaign_id).update(supporter_count=1)
    assert client.post(f"/me/supporting/{s.pk}/leave/").status_code == 302
    s.refresh_from_db()
    assert s.left_at is not None
    assert s.consent_updates is False
    assert Campaign.objects.get(pk=s.campaign_id).supporter_count == 0


def test_leaving_needs_a_post(client, rosa):
    s = SupporterFactory(user=rosa, email=rosa.email)
    assert client.get(f"/me/supporting/{s.pk}/leave/").status_code == 405
    s.refresh_from_db()
    assert s.left_at is None


def test_one_supporter_cannot_see_or_change_anothers_rows(client, rosa):
    other = SupporterFactory(email="other@example.org", consent_updates=True, name="Other")
    Campaign.objects.filter(pk=other.campaign_id).update(supporter_count=1)
    assert client.post(f"/me/supporting/{other.pk}/leave/").status_code == 404
    response = client.post(
        f"/me/supporting/{other.pk}/preferences/",
        {f"s{other.pk}-display_name": "Hacked"},
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert (other.left_at, other.display_name, other.consent_updates) == (None, "", True)
    assert Campaign.objects.get(pk=other.campaign_id).supporter_count == 1
    assert "Other" not in client.get("/me/").content.decode()
    export = json.loads(client.get("/me/my-data.json").content)
    assert export["supporters"] == []


def test_an_unverified_address_does_not_reveal_rows_signed_on_with_it(client):
    user = UserFactory(email="claimed@example.org")  # signed up, never verified
    client.force_login(user)
    SupporterFactory(email="claimed@example.org", name="The Real Owner")
    assert "The Real Owner" not in client.get("/me/").content.decode()


def test_data_export_holds_account_supporters_consents_pledges_and_attempts(client, rosa):
    s = SupporterFactory(
        user=rosa,
        email=rosa.email,
        consent_org=True,
        consent_org_text="Yes, the org may contact me.",
        source="flyer",
    )
    pledge = PledgeFactory(
        campaign=s.campaign,
        supporter=s,
        amount_cents=2800,
        tier="champion",
        card_brand="visa",
        card_last4="4242",
    )
    PaymentAttempt.objects.create(
        pledge=pledge,
        number=1,
        idempotency_key=f"pledge-{pledge.pk}-attempt-1",
        amount_cents=2800,
        outcome=PaymentAttempt.Outcome.SOFT_DECLINE,
        error_code="card_declined",
    )
    response = client.get("/me/my-data.json")
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["account"]["email"] == "rosa@example.org"
    (row,) = data["supporters"]
    assert row["consents"]["organization_contact"] == {
        "given": True,
        "changed_at": None,
        "wording": "Yes, the org may contact me.",
    }
    assert row["source"]["source"] == "flyer"
    assert data["pledges"][0]["amount_cents"] == 2800
    assert data["pledges"][0]["card"] == "visa ending 4242"
    assert data["payment_attempts"][0]["outcome"] == "soft_decline"
    assert "4242424242424242" not in response.content.decode()


def test_deleting_my_account_needs_the_right_password(client, rosa):
    response = client.post("/me/delete/", {"password": "wrong"})
    assert "That password is not right" in response.content.decode()
    rosa.refresh_from_db()
    assert rosa.is_active


def test_deleting_my_account_anonymizes_me_but_keeps_the_money_trail(client, rosa):
    s = SupporterFactory(
        user=rosa,
        email=rosa.email,
        phone="555-0100",
        consent_org=True,
        consent_updates=True,
        public_listing=True,
        display_name="Rosa P.",
        tier="champion",
    )
    Campaign.objects.filter(pk=s.campaign_id).update(supporter_count=1)
    paid = PledgeFactory(
        campaign=s.campaign, supporter=s, status=Pledge.Status.PAID, amount_cents=2800
    )
    response = client.post("/me/delete/", {"password": "correct horse battery staple"})
    assert "Your account is deleted" in response.content.decode()
    rosa.refresh_from_db()
    assert not rosa.is_active
    assert "rosa" not in rosa.email
    assert (rosa.first_name, rosa.last_name) == ("", "")
    assert not rosa.has_usable_password()
    assert not EmailAddress.objects.filter(email__iexact="rosa@example.org").exists()
    s.refresh_from_db()
    assert s.name == "Deleted supporter"
    assert s.email.endswith("@deleted.invalid")
    assert (s.phone, s.postal_code, s.display_name) == ("", "", "")
    assert (s.consent_org, s.consent_updates, s.public_listing) == (False, False, False)
    assert Campaign.objects.get(pk=s.campaign_id).supporter_count == 0
    paid.refresh_from_db()
    assert paid.status == Pledge.Status.PAID
    assert paid.supporter_id == s.pk
    assert not Supporter.objects.filter(email="rosa@example.org").exists()
    # Logged out, and the old password no longer works.
    assert client.get("/me/").status_code == 302
    assert not client.login(email="rosa@example.org", password="correct horse battery staple")


def test_deleting_my_account_cancels_open_pledges_but_not_settled_ones(client, rosa):
    from campaigns.models import Campaign as C

    live = SupporterFactory(user=rosa, email=rosa.email, tier="advocate")
    active = PledgeFactory(
        campaign=live.campaign, supporter=live, status=Pledge.Status.PENDING_SETUP
    )
    from pledges.services.transitions import pledge_transition

    pledge_transition(pledge=active, to=Pledge.Status.ACTIVE)
    assert C.objects.get(pk=live.campaign_id).backer_count == 1
    settling = SupporterFactory(
        email=rosa.email, campaign__status=C.Status.SETTLING, tier="advocate"
    )
    frozen = PledgeFactory(campaign=settling.campaign, supporter=settling)
    client.post("/me/delete/", {"password": "correct horse battery staple"})
    active.refresh_from_db()
    frozen.refresh_from_db()
    assert active.status == Pledge.Status.CANCELED
    assert active.events.filter(to_status="canceled").exists()
    assert C.objects.get(pk=live.campaign_id).backer_count == 0
    assert frozen.status == Pledge.Status.ACTIVE
