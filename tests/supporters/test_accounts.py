"""Accounts (django-allauth) in our look: every page renders with the site's layout, and the
flows a person uses work end to end."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from supporters.models import User
from tests.factories import SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def assert_our_layout(response):
    body = response.content.decode()
    assert response.status_code == 200, body[:500]
    assert 'class="site-header"' in body
    assert "auth-page" in body
    assert "/static/css/app.css" in body


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/login/code/",
        "/accounts/confirm-email/",
        "/accounts/confirm-email/not-a-real-key/",
        "/accounts/password/reset/key/1-bad-key/",
    ],
)
def test_public_account_pages_render_in_our_layout(client, url):
    assert_our_layout(client.get(url, follow=True))


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/logout/",
        "/accounts/reauthenticate/",
        "/accounts/inactive/",
    ],
)
def test_account_management_pages_render_in_our_layout(client, url):
    user = UserFactory(email="me@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)
    assert_our_layout(client.get(url))


def test_signup_sends_a_verification_email_and_confirming_it_links_my_supporter_rows(client):
    waiting = SupporterFactory(email="new@example.org", confirmed_at=None)
    response = client.post(
        "/accounts/signup/",
        {"email": "New@Example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="new@example.org")
    (message,) = mail.outbox
    assert message.body.startswith("Hello from Rallyround!")
    html = message.alternatives[0][0]
    assert "Rallyround" in html
    assert '<a href="http://' in html  # the confirmation link is clickable in the HTML part
    key_url = re.search(r"http://[^\s]+/accounts/confirm-email/[^\s]+/", message.body).group(0)
    path = key_url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert_our_layout(page)
    client.post(f"/{path}")
    assert EmailAddress.objects.get(user=user).verified
    waiting.refresh_from_db()
    assert waiting.user == user
    assert waiting.is_confirmed


def test_login_by_code_works(client):
    user = UserFactory(email="code@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    response = client.post("/accounts/login/code/", {"email": "code@example.org"}, follow=True)
    assert_our_layout(response)
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[0].body, re.MULTILINE).group(
        1
    )
    response = client.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302
    assert client.get("/me/").status_code == 200


def test_wrong_password_shows_a_clear_error(client):
    UserFactory(email="me@example.org")
    response = client.post("/accounts/login/", {"login": "me@example.org", "password": "nope"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "not correct" in body
    assert "message--error" in body


def test_password_reset_by_email_lets_me_log_in_with_the_new_password(client):
    user = UserFactory(email="forgot@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    response = client.post("/accounts/password/reset/", {"email": "forgot@example.org"})
    assert response.status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", mail.outbox[0].body)
    page = client.get(link.group(1), follow=True)
    assert_our_layout(page)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link.group(1)
    new = "a brand new long passphrase"
    response = client.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302
    client.logout()
    assert client.login(email="forgot@example.org", password=new)


def test_daily_chart_fragment_renders_for_the_campaign_admin():
    from supporters.selectors import daily_chart_html
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    SupporterFactory(campaign=campaign)
    html = daily_chart_html(campaign.pk, days=14)
    assert "<svg" in html
    assert "Last 14 days: 1 new supporter, 0 new pledges" in html


def test_account_emails_name_the_site_not_its_host(client):
    """Issue 16: "register an account on 127.0.0.1:8000" named the host, not Rallyround."""
    client.post(
        "/accounts/signup/",
        {"email": "host@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    (message,) = mail.outbox
    assert "an account on Rallyround" in message.body
    assert "account on testserver" not in message.body
