"""Every form a stranger can hammer answers, after a while, with a clear "too many" message (and
status 429, never a 500), and changes nothing once limited."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import CampaignFactory, UserFactory, verified_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _hammer(send, times: int) -> list:
    return [send(i) for i in range(times)]


# --- admin login ----------------------------------------------------------------------------
def test_admin_login_is_throttled_after_repeated_failures_even_with_the_right_password():
    UserFactory(email="staffer@example.org", password=PASSWORD, is_staff=True)
    client = Client()
    answers = _hammer(
        lambda i: client.post(
            "/admin/login/", {"username": "staffer@example.org", "password": f"guess-{i}"}
        ),
        8,
    )
    assert {r.status_code for r in answers[:5]} == {200}
    assert answers[-1].status_code == 429
    assert "Too many failed login attempts. Try again later." in answers[-1].content.decode()

    right = client.post("/admin/login/", {"username": "staffer@example.org", "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_login_limit_counts_per_client_address_across_email_addresses():
    client = Client()
    answers = _hammer(
        lambda i: client.post(
            "/admin/login/", {"username": f"nobody{i}@example.org", "password": "x"}
        ),
        12,
    )
    assert answers[-1].status_code == 429


def test_admin_login_still_works_below_the_limit():
    UserFactory(email="staffer@example.org", password=PASSWORD, is_staff=True)
    client = Client()
    client.post("/admin/login/", {"username": "staffer@example.org", "password": "typo"})
    response = client.post(
        "/admin/login/",
        {"username": "staffer@example.org", "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_failures_at_the_public_login_count_against_the_admin_login_too():
    UserFactory(email="staffer@example.org", password=PASSWORD, is_staff=True)
    client = Client()
    for i in range(5):
        client.post("/accounts/login/", {"login": "staffer@example.org", "password": f"g{i}"})
    response = client.post(
        "/admin/login/", {"username": "staffer@example.org", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# --- the public login (allauth) -------------------------------------------------------------
def test_account_login_refuses_guessing_after_five_failures_for_one_address():
    UserFactory(email="rosa@example.org", password=PASSWORD)
    client = Client()
    answers = _hammer(
        lambda i: client.post(
            "/accounts/login/", {"login": "rosa@example.org", "password": f"guess-{i}"}
        ),
        6,
    )
    assert all(r.status_code in (200, 429) for r in answers)
    assert "Too many failed login attempts" in answers[-1].content.decode()
    right = client.post("/accounts/login/", {"login": "rosa@example.org", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in right.content.decode()


def test_configured_account_rate_limits_cover_login_signup_and_password_reset(settings):
    limits = settings.ACCOUNT_RATE_LIMITS
    for action in ("login", "login_failed", "signup", "reset_password", "confirm_email"):
        assert limits.get(action), f"no rate limit for allauth's {action!r}"


# --- Ally sign-on ---------------------------------------------------------------------------
def _campaign():
    return CampaignFactory()


def test_ally_sign_on_from_one_network_is_limited_and_then_stores_nothing(settings):
    from supporters.models import Supporter

    campaign = _campaign()
    limit = settings.SIGN_ON_RATE_LIMITS["ip"]
    client = Client()
    answers = _hammer(
        lambda i: client.post(
            f"/c/{campaign.slug}/support/ally/",
            {"name": f"Person {i}", "email": f"p{i}@example.org", "postal_code": "94609"},
        ),
        limit + 2,
    )
    assert {r.status_code for r in answers[:limit]} == {302}
    assert [r.status_code for r in answers[limit:]] == [429, 429]
    assert "Too many sign-ons from your network" in answers[-1].content.decode()
    assert Supporter.objects.filter(campaign=campaign).count() == limit


def test_a_forged_forwarded_for_header_does_not_escape_the_network_limit(settings):
    campaign = _campaign()
    limit = settings.SIGN_ON_RATE_LIMITS["ip"]
    answers = _hammer(
        lambda i: Client(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").post(
            f"/c/{campaign.slug}/support/ally/",
            {"name": f"Person {i}", "email": f"p{i}@example.org", "postal_code": "94609"},
        ),
        limit + 1,
    )
    assert answers[-1].status_code == 429


def test_ally_sign_on_for_one_address_is_limited(settings):
    campaign = _campaign()
    limit = settings.SIGN_ON_RATE_LIMITS["email"]
    answers = _hammer(
        lambda i: Client(REMOTE_ADDR=f"10.0.0.{i}").post(
            f"/c/{campaign.slug}/support/ally/",
            {"name": "Same Person", "email": "same@example.org", "postal_code": "94609"},
        ),
        limit + 1,
    )
    assert answers[-1].status_code == 429
    assert "already sent several emails to this address" in answers[-1].content.decode()


# --- pledge start (an account is made inline) -----------------------------------------------
def test_pledge_sign_ups_from_one_network_are_limited_and_then_make_no_account(
    settings, stripe_local
):
    from pledges.models import Pledge
    from supporters.models import User

    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    campaign = _campaign()

    def pledge(i):
        return Client().post(
            f"/c/{campaign.slug}/support/advocate/",
            {
                "amount_choice": "other",
                "amount": "20",
                "name": f"Person {i}",
                "postal_code": "94609",
                "form_key": f"key-{i}",
                "email": f"pledger{i}@example.org",
                "password": PASSWORD,
            },
        )

    answers = _hammer(pledge, 3)
    assert [r.status_code for r in answers] == [302, 302, 429]
    assert "Too many sign-ups from your network" in answers[-1].content.decode()
    assert not User.objects.filter(email="pledger2@example.org").exists()
    # Issue 12: nothing is pledged before the address is proven (the sign-up only emails).
    assert not Pledge.objects.filter(campaign=campaign).exists()


# --- take action: reporting a call ----------------------------------------------------------
def test_call_reports_are_limited_per_supporter_and_nothing_is_recorded_past_the_limit():
    from actions.models import Action, CallOutcome, CallTarget
    from actions.services import rate_limits
    from tests.factories import SupporterFactory

    campaign = _campaign()
    action = Action.objects.create(
        campaign=campaign, kind=Action.Kind.CALL, title="Call", published=True, call_script="Hi"
    )
    first = CallTarget.objects.create(action=action, name="First", phone="(202) 224-3553")
    second = CallTarget.objects.create(action=action, name="Second", phone="(202) 224-3554")
    user = verified_user(email="caller@example.org")
    SupporterFactory(campaign=campaign, user=user, email=user.email)
    client = Client()
    client.force_login(user)
    url = f"/c/{campaign.slug}/act/{action.pk}/call/"
    limit = rate_limits()["supporter"]
    answers = _hammer(
        lambda i: client.post(url, {"target": first.pk, "outcome": "talked_to_staff"}), limit
    )
    assert {r.status_code for r in answers} == {302}
    limited = client.post(url, {"target": second.pk, "outcome": "talked_to_staff"})
    assert limited.status_code == 429
    assert "Please wait a little and try again" in limited.content.decode()
    assert not CallOutcome.objects.filter(target=second).exists()


def test_action_sign_on_from_one_network_is_limited():
    from django.conf import settings

    from actions.models import Action
    from supporters.models import Supporter

    campaign = _campaign()
    action = Action.objects.create(
        campaign=campaign, kind=Action.Kind.CALL, title="Call", published=True, call_script="Hi"
    )
    limit = settings.SIGN_ON_RATE_LIMITS["ip"]
    answers = _hammer(
        lambda i: Client().post(
            f"/c/{campaign.slug}/act/{action.pk}/who/",
            {"name": f"P {i}", "email": f"a{i}@example.org", "postal_code": "94609"},
        ),
        limit + 1,
    )
    assert answers[-1].status_code == 429
    assert Supporter.objects.filter(campaign=campaign).count() == limit


# --- a signed-in supporter's pledge steps (each costs Stripe calls) -------------------------
def test_signed_in_pledge_submissions_are_limited_per_account_and_then_change_nothing(settings):
    from pledges.models import Pledge

    settings.PLEDGE_STEPS_PER_USER = 3
    campaign = _campaign()
    user = UserFactory(email="eager@example.org")
    client = Client()
    client.force_login(user)
    url = f"/c/{campaign.slug}/support/advocate/"
    data = {"amount_choice": "other", "name": "Eager", "postal_code": "94609"}
    # Three attempts with a mistake in them (nothing reaches Stripe)...
    answers = _hammer(lambda i: client.post(url, {**data, "amount": "1", "form_key": f"k{i}"}), 3)
    assert {r.status_code for r in answers} == {200}
    # ...and the fourth, correct this time, is refused before anything is made.
    limited = client.post(url, {**data, "amount": "20", "form_key": "k-final"})
    assert limited.status_code == 429
    assert "Please wait a little and try again" in limited.content.decode()
    assert not Pledge.objects.exists()


def test_card_steps_are_limited_per_account(settings):
    from pledges.models import Pledge
    from tests.factories import PledgeFactory, SupporterFactory

    settings.PLEDGE_STEPS_PER_USER = 2
    user = verified_user(email="eager@example.org")
    supporter = SupporterFactory(user=user, email=user.email)
    # A canceled pledge: the card steps refuse it without calling Stripe, so only the limit
    # decides the answers here.
    pledge = PledgeFactory(
        campaign=supporter.campaign, supporter=supporter, status=Pledge.Status.CANCELED
    )
    client = Client()
    client.force_login(user)
    answers = [client.post(f"/pledges/{pledge.token}/card/intent/") for _ in range(3)]
    assert [r.status_code for r in answers] == [409, 409, 429]
    assert "Please wait a little" in answers[-1].json()["error"]
    page = client.get(f"/pledges/{pledge.token}/card/")
    assert page.status_code == 429
    assert "Please wait a little and try again" in page.content.decode()


# --- one sign-on budget for every form that signs a person on without an account -------------
def _sign_on_forms(campaign):
    from actions.models import Action

    petition = Action.objects.create(
        campaign=campaign, kind=Action.Kind.PETITION, title="Sign", published=True
    )
    call = Action.objects.create(
        campaign=campaign, kind=Action.Kind.CALL, title="Call", published=True, call_script="Hi"
    )
    return {
        "ally": f"/c/{campaign.slug}/support/ally/",
        "petition": f"/c/{campaign.slug}/act/{petition.pk}/sign/",
        "take action": f"/c/{campaign.slug}/act/{call.pk}/who/",
    }


@pytest.mark.parametrize("form", ["ally", "petition", "take action"])
def test_every_sign_on_form_allows_the_same_number_per_address(settings, form):
    """Ally sign-on allowed 10 an hour per address while petition and take action allowed 120:
    a flood simply used the laxer form. One definition now sets all three."""
    campaign = _campaign()
    url = _sign_on_forms(campaign)[form]
    limit = 10  # the documented default (README: SIGN_ON_RATE_LIMIT_IP)
    answers = _hammer(
        lambda i: Client(REMOTE_ADDR="198.51.100.20").post(
            url, {"name": f"Person {i}", "email": f"s{i}@example.org", "postal_code": "94609"}
        ),
        limit + 1,
    )
    assert {r.status_code for r in answers[:limit]} <= {200, 302}, answers[:limit]
    assert answers[-1].status_code == 429
    assert "Too many sign-ons from your network" in answers[-1].content.decode()
    assert settings.SIGN_ON_RATE_LIMITS["ip"] == limit


def test_the_sign_on_budget_is_shared_across_forms(settings):
    """A network that spent its budget on one form cannot go on with another."""
    settings.SIGN_ON_RATE_LIMITS = {**settings.SIGN_ON_RATE_LIMITS, "ip": 2}
    campaign = _campaign()
    forms = _sign_on_forms(campaign)
    for i, url in enumerate([forms["ally"], forms["petition"]]):
        Client(REMOTE_ADDR="198.51.100.21").post(
            url, {"name": f"P {i}", "email": f"t{i}@example.org", "postal_code": "94609"}
        )
    third = Client(REMOTE_ADDR="198.51.100.21").post(
        forms["take action"], {"name": "P", "email": "t9@example.org", "postal_code": "94609"}
    )
    assert third.status_code == 429
