"""Every form a stranger can hammer answers, after a while, with a clear "too many" message (and
status 429, never a 500), and changes nothing once limited."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Each failed login checks a password: PBKDF2's million rounds would make this file slow.
    settings.PASSWORD_HASHERS = FAST_HASHER


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
