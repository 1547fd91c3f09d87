"""Identity is proven, never typed (issue 12, sections 1 and 4): attacks over HTTP.

A stranger who types someone's address into the pledge page's sign-up must get nothing of
theirs: no session, no supporter row, no way to tell whether the address has an account; and
when the owner later proves the mailbox, whatever the stranger set before is void.
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from pledges.models import Pledge
from supporters.models import Supporter, User
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db

STRANGER_PASSWORD = "stranger's own passphrase 77"
VICTIM = "victim@example.org"


def pledge_url(campaign, tier="advocate"):
    return f"/c/{campaign.slug}/support/{tier}/"


def form_key(client, campaign, tier="advocate") -> str:
    html = client.get(pledge_url(campaign, tier)).content.decode()
    return re.search(r'name="form_key" value="([^"]+)"', html).group(1)


def sign_up_on_pledge_page(client, campaign, email, *, password=STRANGER_PASSWORD, **extra):
    data = {
        "amount_choice": "other",
        "amount": "20",
        "name": "Mallory Stranger",
        "postal_code": "10001",
        "consent_updates": "",
        "consent_org": "",
        "form_key": form_key(client, campaign),
        "email": email,
        "password": password,
        **extra,
    }
    return client.post(pledge_url(campaign), data)


def confirm_link(to: str) -> str:
    for message in reversed(mail.outbox):
        if to in message.to:
            found = re.search(r"https?://[^\s]+(/accounts/confirm-email/[^\s/]+/)", message.body)
            if found:
                return found.group(1)
    raise AssertionError(f"no confirmation link sent to {to}")


@pytest.fixture
def confirmed_ally():
    campaign = CampaignFactory()
    ally = SupporterFactory(
        campaign=campaign,
        email=VICTIM,
        name="Victoria Owner",
        postal_code="94609",
        phone="(510) 555-0101",
        consent_updates=True,
        consent_org=True,
    )
    return campaign, ally


def test_inline_sign_up_with_an_allys_address_reaches_none_of_their_data(confirmed_ally):
    campaign, ally = confirmed_ally
    stranger = Client()
    sign_up_on_pledge_page(stranger, campaign, VICTIM)

    # No session for the stranger: /me/ and the export ask for a login.
    assert stranger.get("/me/").status_code == 302
    assert stranger.get("/me/my-data.json").status_code == 302
    ally.refresh_from_db()
    assert (ally.name, ally.postal_code, ally.phone) == (
        "Victoria Owner",
        "94609",
        "(510) 555-0101",
    )
    assert (ally.consent_updates, ally.consent_org, ally.user_id) == (True, True, None)
    assert not Pledge.objects.exists()


def test_unverified_account_linked_to_a_row_sees_changes_and_deletes_nothing(confirmed_ally):
    """A link made before this rule (or by any path) is not trusted without the proof."""
    campaign, ally = confirmed_ally
    stranger_user = UserFactory(email=VICTIM.upper().replace("VICTIM", "victim"))
    EmailAddress.objects.create(user=stranger_user, email=VICTIM, primary=True, verified=False)
    Supporter.objects.filter(pk=ally.pk).update(user=stranger_user)
    stranger = Client()
    stranger.force_login(stranger_user)

    assert "510" not in stranger.get("/me/").content.decode()
    assert "510" not in stranger.get("/me/my-data.json").content.decode()
    response = stranger.post(
        f"/me/supporting/{ally.pk}/preferences/",
        {f"s{ally.pk}-display_name": "Hijacked", f"s{ally.pk}-consent_updates": ""},
    )
    assert response.status_code == 404
    assert stranger.post(f"/me/supporting/{ally.pk}/leave/").status_code == 404
    stranger.post("/me/delete/", {"confirm_email": VICTIM, "password": "x"})
    ally.refresh_from_db()
    assert ally.email == VICTIM
    assert ally.is_confirmed
    assert ally.consent_updates
    assert ally.display_name == ""


def test_unverified_account_cannot_pledge_on_someone_elses_row(confirmed_ally):
    campaign, ally = confirmed_ally
    stranger_user = UserFactory(email=VICTIM)
    EmailAddress.objects.create(user=stranger_user, email=VICTIM, primary=True, verified=False)
    stranger = Client()
    stranger.force_login(stranger_user)
    response = stranger.post(
        pledge_url(campaign),
        {
            "amount_choice": "other",
            "amount": "20",
            "name": "Mallory",
            "postal_code": "10001",
            "form_key": form_key(stranger, campaign),
        },
    )
    assert response.status_code == 200
    assert "confirm your email address first" in response.content.decode()
    assert not Pledge.objects.exists()
    ally.refresh_from_db()
    assert (ally.name, ally.postal_code, ally.user_id) == ("Victoria Owner", "94609", None)


def test_sign_up_answers_the_same_whether_or_not_an_account_exists(settings):
    campaign = CampaignFactory()
    UserFactory(email="taken@example.org")
    first, second = Client(), Client()
    taken = sign_up_on_pledge_page(first, campaign, "taken@example.org")
    fresh = sign_up_on_pledge_page(second, campaign, "fresh@example.org")
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    taken_page = first.get(taken["Location"]).content.decode().replace("taken@", "X@")
    fresh_page = second.get(fresh["Location"]).content.decode().replace("fresh@", "X@")
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", taken_page) == strip.sub("", fresh_page)
    assert "already exists" not in taken_page
    # Each address hears about it; neither visitor is signed in.
    assert {m.to[0] for m in mail.outbox} == {"taken@example.org", "fresh@example.org"}
    assert first.get("/me/").status_code == second.get("/me/").status_code == 302


def test_sign_up_is_rate_limited_before_the_form_is_validated(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "5/m/ip"}
    campaign = CampaignFactory()
    client = Client()
    statuses = [
        client.post(pledge_url(campaign), {"email": f"probe{i}@example.org"}).status_code
        for i in range(8)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3


def test_owner_confirming_the_address_locks_out_the_stranger_who_created_the_account():
    campaign = CampaignFactory()
    stranger = Client()
    sign_up_on_pledge_page(stranger, campaign, VICTIM)
    account = User.objects.get(email=VICTIM)
    assert account.check_password(STRANGER_PASSWORD)
    # (Before this fix the stranger was signed in here; simulate any session they may hold.)
    stranger.force_login(account)

    owner = Client()
    link = confirm_link(VICTIM)
    owner.post(link)
    assert EmailAddress.objects.get(user=account).verified

    account.refresh_from_db()
    assert not account.has_usable_password()
    assert not account.check_password(STRANGER_PASSWORD)
    assert stranger.get("/me/").status_code == 302  # the stranger's session is gone
    assert not Client().login(email=VICTIM, password=STRANGER_PASSWORD)


def test_login_by_code_is_a_proof_that_voids_the_strangers_password_and_session():
    stranger_account = UserFactory(email=VICTIM, password=STRANGER_PASSWORD)
    EmailAddress.objects.create(user=stranger_account, email=VICTIM, primary=True, verified=False)
    stranger = Client()
    stranger.force_login(stranger_account)

    owner = Client()
    owner.post("/accounts/login/code/", {"email": VICTIM})
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    response = owner.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302
    assert owner.get("/me/").status_code == 200

    stranger_account.refresh_from_db()
    assert not stranger_account.has_usable_password()
    assert stranger.get("/me/").status_code == 302


def test_the_creator_confirming_in_their_own_browser_keeps_their_password_and_pledge_draft(
    settings,
):
    campaign = CampaignFactory()
    newcomer = Client()
    response = sign_up_on_pledge_page(newcomer, campaign, "new@example.org", amount="35")
    assert response.status_code == 302
    response = newcomer.post(confirm_link("new@example.org"))
    assert response.status_code == 302
    assert response["Location"] == pledge_url(campaign)
    account = User.objects.get(email="new@example.org")
    assert account.check_password(STRANGER_PASSWORD)
    page = newcomer.get(pledge_url(campaign)).content.decode()
    assert "Your email address is confirmed" in page
    assert 'value="35"' in page


def test_password_reset_from_the_mailbox_is_a_proof_and_signs_out_earlier_sessions():
    stranger_account = UserFactory(email=VICTIM, password=STRANGER_PASSWORD)
    EmailAddress.objects.create(user=stranger_account, email=VICTIM, primary=True, verified=False)
    stranger = Client()
    stranger.force_login(stranger_account)

    owner = Client()
    owner.post("/accounts/password/reset/", {"email": VICTIM})
    link = re.search(r"https?://[^\s]+(/accounts/password/reset/key/[^\s]+/)", mail.outbox[-1].body)
    form_url = owner.get(link.group(1))["Location"]
    new_password = "the owner's brand new passphrase 5"
    response = owner.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302

    stranger_account.refresh_from_db()
    assert stranger_account.check_password(new_password)
    assert EmailAddress.objects.get(user=stranger_account).verified  # the mailbox is proven
    assert stranger.get("/me/").status_code == 302
