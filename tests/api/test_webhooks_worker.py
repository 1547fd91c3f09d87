"""Webhooks through real processes: a pledge moves in another process (`manage.py shell`), the
event reaches Redis only after that process commits, a real `celery worker` signs and POSTs it
to a receiver on loopback, and the retry is sent by the worker when the beat sweep hands it over.
No eager mode anywhere."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from api.models import WebhookAttempt, WebhookDelivery
from api.webhooks import webhook_endpoint_save
from pledges.models import Pledge
from tests.api.test_webhooks import Receiver
from tests.conftest import ROOT, spawn, stop
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or getattr(settings, "REDIS_URL", "")
    if not url:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", 6379)) != 0:
                return None
        url = "redis://127.0.0.1:6379/0"
    return url


def _wait(predicate, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def process_env(tmp_path):
    redis_url = _redis_url()
    if redis_url is None:
        pytest.skip("needs Redis")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "CELERY_KEY_PREFIX": f"webhooks-{os.getpid()}-{secrets.token_hex(4)}-",
        "CACHE_BACKEND": "locmem",
        "EMAIL_URL": f"filemail://{tmp_path / 'outbox'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",  # the receiver listens on loopback
    }
    for name in ("DJANGO_SETTINGS_MODULE", "RALLYROUND_ENV", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    yield env
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{env['CELERY_KEY_PREFIX']}*"))
    if keys:
        client.delete(*keys)


def _shell(env, code: str) -> None:
    done = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [str(BIN / "python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_real_worker_delivers_after_commit_and_retries_from_the_sweep(
    process_env, tmp_path, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # the receiver listens on loopback
    campaign = CampaignFactory()
    supporter = SupporterFactory(campaign=campaign, consent_org=True, consent_org_at=timezone.now())
    pledge = PledgeFactory(
        campaign=campaign, supporter=supporter, status=Pledge.Status.PENDING_SETUP
    )
    holder: dict = {}
    crm = Receiver(holder, [500])
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 (the child writes to it)
    worker = None
    try:
        holder["secret"] = webhook_endpoint_save(
            organization=campaign.organization,
            url=crm.url,
            description="CRM",
            events=["pledge.created"],
        ).secret
        worker = spawn(
            [str(BIN / "celery"), "-A", "config", "worker", "-Q", "default", "--pool", "solo"]
            + ["--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _shell(
            process_env,
            "from pledges.models import Pledge; "
            "from pledges.services.transitions import pledge_transition; "
            f"pledge_transition(pledge=Pledge.objects.get(pk={pledge.pk}), to='active')",
        )
        _wait(lambda: len(crm.received) >= 1, 60, "the first delivery (answered 500)")
        time.sleep(6)  # the first retry is due 5 seconds after the failure
        _shell(process_env, "from api.tasks import webhook_deliveries_due as t; t.delay()")
        _wait(lambda: len(crm.received) >= 2, 60, "the retry")
        _wait(
            lambda: WebhookDelivery.objects.filter(status="succeeded").exists(),
            30,
            "the delivery recorded as delivered",
        )
    finally:
        crm.close()
        if worker is not None:
            stop(worker)
        log.close()
        print((tmp_path / "worker.log").read_text(errors="replace")[-3000:])
    assert len(crm.received) == 2
    assert len({r["headers"]["webhook-id"] for r in crm.received}) == 1
    assert all(r["verified"] for r in crm.received)
    assert crm.received[0]["body"]["data"]["amount_cents"] == pledge.amount_cents
    statuses = list(WebhookAttempt.objects.order_by("number").values_list("status_code", flat=True))
    assert statuses == [500, 200]
