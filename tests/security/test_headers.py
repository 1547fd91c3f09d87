"""The HTTP hardening production sends: HSTS, HTTPS-only cookies, a CSP that forbids framing
(except the embeddable counter), X-Frame-Options, nosniff and a Referrer-Policy.

The production values are read by evaluating config/settings.py in a subprocess with
RALLYROUND_ENV=production (as a deployment would), then applied to this process's settings to
serve real pages with Django's test client.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.test import Client, override_settings

from tests.factories import CampaignFactory, UserFactory
from tests.security.test_repository import ROOT, _production_env

pytestmark = pytest.mark.django_db

HARDENING = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
    "DEBUG",
]
HOST = "rallyround.example"


@pytest.fixture(scope="module")
def production_settings() -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k, None) for k in {HARDENING!r}}}))"
    )
    env = _production_env(DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values = json.loads(result.stdout.strip().splitlines()[-1])
    if values["SECURE_PROXY_SSL_HEADER"]:
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


@pytest.fixture
def production(production_settings):
    with override_settings(**production_settings, ALLOWED_HOSTS=[HOST]):
        yield Client(HTTP_HOST=HOST)


def test_production_is_not_in_debug_mode(production_settings):
    assert production_settings["DEBUG"] is False


def test_plain_http_is_redirected_to_https(production):
    campaign = CampaignFactory()
    response = production.get(f"/c/{campaign.slug}/")
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/c/{campaign.slug}/"


def test_a_public_page_carries_every_hardening_header(production):
    campaign = CampaignFactory()
    response = production.get(f"/c/{campaign.slug}/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    # No development origins (localstripe on loopback) in production's policy.
    assert "127.0.0.1" not in csp
    assert "localhost" not in csp


def test_only_the_embed_may_be_framed(production):
    campaign = CampaignFactory()
    response = production.get(f"/c/{campaign.slug}/embed/", secure=True)
    assert response.status_code == 200
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    assert "X-Frame-Options" in production.get(f"/c/{campaign.slug}/act/", secure=True)


def test_session_and_csrf_cookies_are_https_only(production):
    UserFactory(email="rosa@example.org", password="correct horse battery staple")
    form = production.get("/accounts/login/", secure=True)
    assert form.cookies["csrftoken"]["secure"] is True
    response = production.post(
        "/accounts/login/",
        {"login": "rosa@example.org", "password": "correct horse battery staple"},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
