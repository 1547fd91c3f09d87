"""The production shape, end to end: gunicorn, a Celery worker and Celery beat as separate
processes against PostgreSQL and Redis, production settings, localstripe behind stripe-chaos.

A supporter logs in and pledges through the browser; the deadline passes; beat freezes the
campaign; staff approve it in the admin; the worker charges the card once; the ledger shows it
and the campaign page says "Funded".
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import Pledge
from tests.conftest import ROOT, free_port, screenshot, spawn, stop, wait_http
from tests.factories import CampaignFactory, UserFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct horse battery staple"
BIN = Path(sys.executable).parent


def redis_answers() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


def wait_for(predicate, *, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def production(tmp_path, chaos, localstripe_url):
    """Start gunicorn, a worker and beat with production settings; yield the site URL."""
    if not redis_answers():
        pytest.skip("needs Redis on 127.0.0.1:6379")
    db = connection.settings_dict
    host, db_port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RALLYROUND_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"postgres://{db['USER']}@{host}:{db_port}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "CELERY_KEY_PREFIX": f"smoke-{os.getpid()}-",
        "CACHE_BACKEND": "locmem",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": site,
        # Plain HTTP on loopback: no TLS to redirect to, so cookies cannot be Secure-only here.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_URL": f"filemail://{tmp_path / 'outbox'}",
        "STRIPE_API_BASE": chaos.url,
        "STRIPE_JS_URL": f"{localstripe_url}/js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": "sk_test_rallyround",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_rallyround",
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24),
        "STRIPE_LOCAL_COMPAT": "true",
        "SETTLE_INTERVAL_SECONDS": "2",
        "DEBUG": "false",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = {
        "web": [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "default,payments",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
        "beat": [
            str(BIN / "celery"),
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(tmp_path / "beat-schedule"),
        ],
    }
    started = {}
    try:
        for name, args in procs.items():
            started[name] = spawn(
                args,
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"{name}.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        wait_http(f"{site}/healthz", started["web"], seconds=60)
        yield site
    finally:
        for proc in started.values():
            stop(proc)
        for log in sorted(logs.iterdir()):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {log.name} (last lines)\n" + "\n".join(tail))


def test_pledge_deadline_approval_and_charge_across_real_processes(production, page, chaos):
    site = production
    health = page.goto(f"{site}/healthz")
    assert health.json() == {"ok": True, "database": True, "broker": True}

    campaign = CampaignFactory(
        title="Safe streets for Eastlake",
        goal_cents=2000,
        deadline=timezone.now() + dt.timedelta(hours=2),
    )
    supporter = UserFactory(email="fannie@example.org")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=supporter, email=supporter.email, primary=True, verified=True)
    staff_user = UserFactory(email="staff@example.org", is_staff=True, is_superuser=True)
    # gunicorn runs production settings, which know no MD5 (the tests' hasher): PBKDF2 here.
    type(staff_user).objects.filter(pk__in=[supporter.pk, staff_user.pk]).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )

    # The supporter logs in and pledges $20 as an Advocate with a card that works.
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Email").fill(supporter.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Log in|Sign in")).click()
    page.wait_for_url(re.compile(r"/me/"))
    page.goto(f"{site}/c/{campaign.slug}/support/advocate/")
    page.get_by_label("Other amount (US dollars)").fill("20")
    page.get_by_label("Full name").fill("Fannie Lou Hamer")
    page.get_by_label("ZIP/postal code").fill("38751")
    page.get_by_role("button", name="Continue to card details").click()
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("38751")
    page.get_by_role("button", name="Save card and pledge $20").click()
    page.get_by_text("Thank you! Your pledge is active.").wait_for()
    pledge = Pledge.objects.get(campaign=campaign)
    assert pledge.status == Pledge.Status.ACTIVE
    assert chaos.ledger()["charges_by_metadata"] == {}  # a pledge charges nothing

    # The deadline passes; beat (every 2 s here) freezes the campaign: goal met, awaiting staff.
    Campaign.objects.filter(pk=campaign.pk).update(
        deadline=timezone.now() - dt.timedelta(seconds=1)
    )
    wait_for(
        lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SETTLING,
        seconds=60,
        what="beat to freeze the campaign",
    )

    # Staff approve it for collection in the admin (a second browser context).
    staff = page.context.browser.new_context()
    admin = staff.new_page()
    admin.goto(f"{site}/admin/login/")
    admin.get_by_label(re.compile("Email")).fill("staff@example.org")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{site}/admin/pledges/campaignsettlement/{campaign.pk}/approve/")
    admin.get_by_role("button", name="Approve and start charging").click()
    admin.get_by_text("approved for collection").wait_for()
    staff.close()

    # The worker charges the card exactly once.
    wait_for(
        lambda: Pledge.objects.get(pk=pledge.pk).status == Pledge.Status.PAID,
        seconds=90,
        what="the worker to charge the pledge",
    )
    ledger = chaos.ledger()
    assert ledger["double_charged"] == []
    assert list(ledger["charges_by_metadata"]) == [str(pledge.pk)]
    assert len(ledger["charges_by_metadata"][str(pledge.pk)]) == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SUCCEEDED
    assert campaign.collected_cents == 2000

    page.goto(f"{site}/c/{campaign.slug}/")
    page.get_by_text("Funded: $20 from 1 supporter").wait_for()
    screenshot(page, "smoke-funded-desktop")
