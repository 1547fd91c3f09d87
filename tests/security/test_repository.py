"""No secret is committed, and production refuses to start without its own secrets.

`manage.py check --deploy` runs in a subprocess with RALLYROUND_ENV=production and the
environment a real deployment sets, so the settings module is evaluated exactly as in production.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What a leaked credential looks like (the literal prefixes are split so this file does not
# match itself).
SECRET_PATTERNS = {
    "Stripe live secret key": re.compile("sk_" + r"live_[0-9A-Za-z]{10,}"),
    "Stripe live restricted key": re.compile("rk_" + r"live_[0-9A-Za-z]{10,}"),
    "Stripe webhook signing secret": re.compile("whsec_" + r"[0-9A-Za-z]{20,}"),
    "private key": re.compile("-----BEGIN " + r"[A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)" + r"[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"(?i)aws_?secret_?access_?key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"
    ),
}
NEVER_TRACKED = re.compile(r"(^|/)(\.env(\..+)?|id_rsa|id_ed25519|.*\.pem|.*\.p12|.*\.key)$")


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout
    return [name for name in out.decode().split("\0") if name]


def test_no_tracked_file_contains_a_live_key_private_key_or_cloud_credential():
    found = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the work tree but not yet committed
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (images, fonts)
        text = data.decode("utf-8", errors="replace")
        for what, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: looks like a {what}")
    assert not found, "\n".join(found)


def test_no_environment_or_key_file_is_tracked():
    offenders = [name for name in tracked_files() if NEVER_TRACKED.search(name)]
    assert not offenders, offenders


def _production_env(**overrides) -> dict[str, str]:
    """The environment of a real deployment: its own secret key, hosts, HTTPS site URL,
    PostgreSQL, Redis and Stripe keys (test-mode values here: nothing is called)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "TEST_DATABASE_NAME",
            "REDIS_URL",
            "CACHE_BACKEND",
            "SECURE_COOKIES",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "ALLOWED_HOSTS",
            "SITE_URL",
            "CSRF_TRUSTED_ORIGINS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright only
        }
        and not k.startswith("STRIPE_")
    }
    env.update(
        RALLYROUND_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rallyround.example",
        SITE_URL="https://rallyround.example",
        DATABASE_URL="postgres://rallyround@127.0.0.1:5432/rallyround",
        REDIS_URL="redis://127.0.0.1:6379/15",
        STRIPE_SECRET_KEY="sk_test_" + "x" * 24,
        STRIPE_PUBLISHABLE_KEY="pk_test_" + "x" * 24,
        STRIPE_WEBHOOK_SECRET="whsec_" + secrets.token_urlsafe(24),
        EMAIL_URL="smtp://mail.rallyround.example:587",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_a_single_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize(
    "secret_key",
    [None, "", "changeme", "django-insecure-" + "k" * 10 + secrets.token_urlsafe(40)],
    ids=["unset", "empty", "short", "django-insecure"],
)
def test_production_refuses_to_start_without_a_strong_secret_key(secret_key):
    result = manage("check", env=_production_env(SECRET_KEY=secret_key))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# The values config/settings.py falls back to locally: public (they are in this repository), so
# anyone could sign a webhook with them or pose as our Stripe account.
LOCAL_PLACEHOLDERS = {
    "STRIPE_SECRET_KEY": "sk_test_local",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
    "STRIPE_WEBHOOK_SECRET": "whsec_local",
}


@pytest.mark.parametrize("name", sorted(LOCAL_PLACEHOLDERS))
@pytest.mark.parametrize("value", ["unset", "empty", "placeholder", "wrong kind"])
def test_production_refuses_to_start_with_a_placeholder_or_missing_stripe_secret(name, value):
    bad = {
        "unset": None,
        "empty": "",
        "placeholder": LOCAL_PLACEHOLDERS[name],
        "wrong kind": "changeme",
    }[value]
    result = manage("check", env=_production_env(**{name: bad}))
    assert result.returncode != 0, result.stdout
    assert name in result.stderr


def test_production_refuses_a_short_webhook_secret_anyone_could_guess():
    result = manage("check", env=_production_env(STRIPE_WEBHOOK_SECRET="whsec_test"))
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr
