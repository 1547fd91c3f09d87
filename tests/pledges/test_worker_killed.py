"""A Celery worker killed (SIGKILL, whole process group) in the middle of a charge: Stripe took
the money but the worker died before it heard. Nobody may be charged twice and nobody may be
left unpaid: the reconciler resumes the dead worker's attempt with the same idempotency key
(Stripe replays its stored answer) and a second worker charges the rest.

Real processes: `celery -A config worker` (prefork, concurrency 1) against the pytest
PostgreSQL database and Redis with a per-run key prefix; localstripe behind stripe-chaos, which
holds one PaymentIntent create's answer after localstripe has charged the card.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import PaymentAttempt, Pledge
from pledges.services import settlement
from tests.conftest import ROOT, spawn, stop
from tests.factories import UserFactory
from tests.pledges.settlement_support import (
    active_pledge,
    assert_ledger_clean,
    campaign_ending,
    saved_card,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
PLEDGES = 6
REDIS_DB = 14


def redis_answers() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


def wait_for(predicate, *, seconds: float, what: str, procs=()):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a worker exited ({proc.returncode}) before {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_paid(campaign: Campaign, count: int, *, seconds: float, procs=()) -> None:
    """Wait until `count` pledges of `campaign` are PAID (a worker exiting first fails)."""
    paid = Pledge.objects.filter(campaign=campaign, status=Pledge.Status.PAID)
    wait_for(
        lambda: paid.count() == count,
        seconds=seconds,
        what=f"{count} pledges to be PAID",
        procs=procs,
    )


@pytest.fixture
def workers(tmp_path, chaos):
    """Start real Celery workers on demand (`workers.start(name)`); print their logs at the end
    (pytest shows them when the test fails) and forget this run's Redis keys."""
    if not redis_answers():
        pytest.skip("needs Redis on 127.0.0.1:6379")
    db = connection.settings_dict
    prefix = f"killed-{os.getpid()}-{secrets.token_hex(4)}-"
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CELERY_KEY_PREFIX": prefix,
        "CACHE_BACKEND": "locmem",
        "EMAIL_URL": f"filemail://{tmp_path / 'outbox'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STRIPE_API_BASE": chaos.url,
        "STRIPE_SECRET_KEY": "sk_test_rallyround",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_rallyround",
        "STRIPE_LOCAL_COMPAT": "true",
        "DEBUG": "false",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "RALLYROUND_ENV", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    logs = tmp_path / "logs"
    logs.mkdir()

    class Workers:
        def __init__(self):
            self.env = env
            self.procs: dict[str, subprocess.Popen] = {}

        def start(self, name: str) -> subprocess.Popen:
            args = [str(BIN / "celery"), "-A", "config", "worker", "-n", f"{name}@%h"]
            # The queues production's workers consume (Procfile): a task sent to a priority
            # lane must not sit here unseen.
            args += ["-Q", "default,payments_priority,payments"]
            args += ["--pool", "prefork", "--concurrency", "1"]
            args += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
            proc = spawn(
                args,
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"{name}.log", "wb"),  # noqa: SIM115 (the child owns it)
                stderr=subprocess.STDOUT,
            )
            self.procs[name] = proc
            return proc

        def manage(self, *args: str) -> str:
            done = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
                [str(BIN / "python"), "manage.py", *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

    w = Workers()
    try:
        yield w
    finally:
        for proc in w.procs.values():
            if proc.poll() is None:
                stop(proc)
        for log in sorted(logs.iterdir()):
            tail = log.read_text(errors="replace").splitlines()[-25:]
            print(f"--- {log.name} (last lines)\n" + "\n".join(tail))
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


def approved_in_another_process(workers, *, campaign: Campaign, staff) -> None:
    """Staff approve collection the way the admin does, from a separate process whose Celery
    talks to the same Redis as the workers (the approval queues `collect_campaign`)."""
    workers.manage(
        "shell",
        "-c",
        "from campaigns.models import Campaign\n"
        "from django.contrib.auth import get_user_model\n"
        "from pledges.services.settlement import campaign_approve_for_collection\n"
        f"campaign_approve_for_collection(campaign=Campaign.objects.get(pk={campaign.pk}),"
        f" actor=get_user_model().objects.get(pk={staff.pk}))\n",
    )


def awaiting_approval(count: int, *, cents: int = 1500) -> tuple[object, Campaign, list[Pledge]]:
    """Staff, and a campaign past its deadline and frozen with `count` pledges (`cents`,
    `cents` + 1, …) on one real saved card, waiting for staff to approve collection."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    campaign = campaign_ending(goal_cents=100)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=cents + i) for i in range(count)]
    with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1), tick=True):
        assert settlement.campaign_freeze(campaign_id=campaign.pk) == "awaiting_approval"
    return staff, campaign, pledges


def test_worker_killed_mid_charge_charges_everyone_exactly_once(workers, chaos):
    staff, campaign, pledges = awaiting_approval(PLEDGES)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SETTLING

    # Stripe charges the first card but its answer never comes back (for a minute, far longer
    # than this test waits): the worker sits in the middle of that charge.
    chaos.rules(
        {
            "match": {"method": "POST", "path_regex": "^/v1/payment_intents$"},
            "fault": "after_upstream_timeout",
            "delay_s": 60,
            "times": 1,
        }
    )
    first = workers.start("first")
    approved_in_another_process(workers, campaign=campaign, staff=staff)

    def charge_in_flight():
        charged = chaos.ledger()["charges_by_metadata"]
        hung = Pledge.objects.filter(
            campaign=campaign,
            status=Pledge.Status.CHARGING,
            attempts__outcome=PaymentAttempt.Outcome.PENDING,
        ).first()
        return hung if hung is not None and charged.get(str(hung.pk)) else None

    hung = wait_for(charge_in_flight, seconds=25, what="the first charge to hang", procs=[first])
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)

    # What the dead worker left: Stripe holds the money, we hold a pending attempt and a lease.
    hung.refresh_from_db()
    assert hung.status == Pledge.Status.CHARGING
    assert hung.stripe_payment_intent_id in ("", None)
    (attempt,) = hung.attempts.all()
    assert attempt.outcome == PaymentAttempt.Outcome.PENDING
    assert chaos.stats()["requests"]["POST /v1/payment_intents"] == 1
    others = Pledge.objects.filter(campaign=campaign).exclude(pk=hung.pk)
    assert set(others.values_list("status", flat=True)) == {Pledge.Status.CHARGE_DUE}

    # Ten minutes later: the lease has expired and the fan-out's queue marks have passed (the
    # dead worker's message stays unacknowledged in Redis until its visibility timeout).
    past = timezone.now() - dt.timedelta(seconds=1)
    Pledge.objects.filter(pk=hung.pk).update(lease_expires_at=past)
    others.update(next_attempt_at=past)

    second = workers.start("second")
    report = workers.manage("reconcile_payments")
    assert re.search(r"charges resumed \(expired leases\)\s+1$", report, re.M), report
    workers.manage(
        "shell",
        "-c",
        "from pledges.tasks import settle_due\nsettle_due.delay()\n",
    )
    wait_for_paid(campaign, PLEDGES, seconds=30, procs=[second])

    ledger = assert_ledger_clean(chaos, campaign)
    assert ledger["double_charged"] == []
    assert sorted(ledger["charges_by_metadata"]) == sorted(str(p.pk) for p in pledges)
    assert all(len(pis) == 1 for pis in ledger["charges_by_metadata"].values())
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SUCCEEDED
    assert campaign.collected_cents == sum(1500 + i for i in range(PLEDGES))
    assert campaign.collected_cents == sum(
        PaymentAttempt.objects.filter(
            pledge__campaign=campaign, outcome=PaymentAttempt.Outcome.SUCCEEDED
        ).values_list("amount_cents", flat=True)
    )
    # The dead worker's charge was resumed, not repeated: one attempt, one key, and Stripe
    # answered the repeat from its idempotency store instead of charging again.
    hung.refresh_from_db()
    (resumed,) = hung.attempts.all()
    assert resumed.pk == attempt.pk
    assert resumed.idempotency_key == attempt.idempotency_key
    assert resumed.outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert hung.stripe_payment_intent_id == ledger["charges_by_metadata"][str(hung.pk)][0]
    stats = chaos.stats()
    assert stats["idempotency"]["replayed"] == 1
    assert stats["upstream"]["POST /v1/payment_intents"] == PLEDGES
