"""Rate limits that depend on how the site is deployed (issue 12 §4).

The client address a limit counts must be the real one: X-Forwarded-For is believed only when
the request comes from a proxy named in TRUSTED_PROXIES, and `check --deploy` fails on a
configuration that would let a stranger escape every limit (forwarded headers trusted from
anyone, or counters kept per process).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.test import Client, RequestFactory, override_settings

from supporters.throttle import client_ip
from tests.factories import CampaignFactory
from tests.security.test_repository import ROOT, _production_env, manage

pytestmark = pytest.mark.django_db

PROXY_SETTINGS = ["TRUSTED_PROXIES", "ALLAUTH_TRUSTED_PROXY_COUNT"]


def _production_values(**env) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k, None) for k in {PROXY_SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_production_env(DJANGO_SETTINGS_MODULE="config.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_by_default_does_not_believe_a_forwarded_for_header():
    """gunicorn listens on 0.0.0.0: a direct hit with a rotating X-Forwarded-For must still be
    counted against its own address."""
    values = _production_values()
    campaign = CampaignFactory(status="live")
    with override_settings(**{k: v for k, v in values.items() if v is not None}):
        answers = [
            Client(REMOTE_ADDR="198.51.100.30", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").post(
                f"/c/{campaign.slug}/support/ally/",
                {"name": f"P {i}", "email": f"p{i}@example.org", "postal_code": "94609"},
            )
            for i in range(11)
        ]
    assert answers[-1].status_code == 429


def _request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "192.0.2.7"])
def test_forwarded_for_counts_only_when_it_comes_from_a_configured_proxy():
    # Through our proxy: the last address it saw, not what the client wrote before it.
    assert client_ip(_request("10.1.2.3", "1.1.1.1, 198.51.100.9")) == "198.51.100.9"
    # Through two of our proxies.
    assert client_ip(_request("10.1.2.3", "1.1.1.1, 198.51.100.9, 192.0.2.7")) == "198.51.100.9"
    # Straight from the internet: the header is the client's own words.
    assert client_ip(_request("198.51.100.1", "1.1.1.1")) == "198.51.100.1"
    # From our proxy, without a header.
    assert client_ip(_request("10.1.2.3")) == "10.1.2.3"


@override_settings(TRUSTED_PROXIES=[])
def test_with_no_proxy_configured_only_the_socket_address_counts():
    assert client_ip(_request("198.51.100.1", "1.1.1.1")) == "198.51.100.1"


def test_allauth_login_limits_count_the_same_address():
    from allauth.account.adapter import get_adapter

    request = _request("10.1.2.3", "198.51.100.9")
    with override_settings(TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert get_adapter(request).get_client_ip(request) == "198.51.100.9"
    with override_settings(TRUSTED_PROXIES=[]):
        assert get_adapter(request).get_client_ip(request) == "10.1.2.3"


@pytest.mark.parametrize(
    "overrides",
    [
        {"TRUSTED_PROXIES": "*"},
        {"TRUSTED_PROXIES": "0.0.0.0/0"},
        {"TRUSTED_PROXIES": "10.0.0.1,::/0"},
        {"FORWARDED_ALLOW_IPS": "*"},
        {"CACHE_BACKEND": "locmem"},
        {"REDIS_URL": None},
    ],
    ids=["proxies-star", "proxies-all-v4", "proxies-all-v6", "gunicorn-star", "locmem", "no-redis"],
)
def test_check_deploy_fails_on_a_configuration_that_lets_a_stranger_escape_rate_limits(
    overrides,
):
    result = manage("check", "--deploy", env=_production_env(**overrides))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "rallyround.E" in output, output


def test_check_deploy_passes_with_a_named_proxy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=_production_env(TRUSTED_PROXIES="10.0.0.0/8", FORWARDED_ALLOW_IPS="10.0.0.2"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_procfile_trusts_forwarded_headers_from_nobody_by_default():
    web = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    assert '--forwarded-allow-ips "*"' not in web
    assert "'*'" not in web
