"""Two real Celery workers share the `payments` queue; one is killed (SIGKILL, whole process
group) in the middle of its chunk, while Stripe holds the answer to the charge it was making.
The other worker goes on charging its own chunk; the reconciler resumes the dead worker's
charge with the same idempotency key and the beat's sweep queues the rest of its chunk again.
The ledger shows every pledge charged exactly once.

Real processes: two `celery -A config worker` (prefork, concurrency 1) against the pytest
PostgreSQL database and Redis with a per-run key prefix; localstripe behind stripe-chaos.

The hung charge is told apart from a charge that is merely in flight (for a moment every charge
has been made at Stripe and its answer not yet recorded): the hung one stays so while the other
worker starts and finishes charges of its own. Taking the first pledge seen in that state used
to pick, now and then, the other worker's charge in flight: the test then killed the worker
that was not hung and waited for the hung one as if it were the survivor.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time

import pytest
from django.utils import timezone

from pledges.models import PaymentAttempt, Pledge
from pledges.services import charging
from tests.conftest import ROOT
from tests.pledges.settlement_support import (
    assert_ledger_clean,
)
from tests.pledges.test_worker_killed import (  # noqa: F401 (the fixture is used by name)
    BIN,
    approved_in_another_process,
    awaiting_approval,
    wait_for,
    workers,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Two chunks of charging.TASK_CHUNK: one for each worker.
PLEDGES = 2 * charging.TASK_CHUNK
CHARGE = {"method": "POST", "path_regex": "^/v1/payment_intents$"}
NAMES = ("one", "two")
# Charges a second per worker (each worker's limiter counts in its own locmem cache here): a
# chunk takes a worker at least TASK_CHUNK / RATE seconds, so the survivor still has part of its
# chunk to charge when the other is killed, however fast the machine (11 to 19 of 25 measured).
RATE = 2
# How long a charge must have been waiting for its answer, besides the other worker having
# finished later charges, before it counts as the hung one (a worker descheduled under load
# can sit on an answer for a moment).
HUNG_AFTER = dt.timedelta(seconds=2)


def active_chunks(runner) -> dict[str, list[int]]:
    """Which pledge ids each worker is charging right now (Celery's remote control). Naming both
    workers lets the call return as soon as both have answered instead of after its timeout."""
    host = socket.gethostname()
    done = subprocess.run(  # noqa: S603 (our own celery, fixed arguments)
        [str(BIN / "celery"), "-A", "config", "inspect", "active", "--json", "--timeout", "20"]
        + ["--destination", ",".join(f"{name}@{host}" for name in NAMES)],
        cwd=ROOT,
        env=runner.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = next((s for s in done.stdout.splitlines() if s.startswith("{")), "{}")
    return {
        name.split("@")[0]: [i for task in tasks for i in task["kwargs"].get("pledge_ids", [])]
        for name, tasks in json.loads(line).items()
    }


def test_two_workers_one_killed_mid_chunk_everyone_charged_exactly_once(workers, chaos):  # noqa: F811
    staff, campaign, pledges = awaiting_approval(PLEDGES, cents=1000)

    # The hung charge must outlast finding it and killing its worker: neither the client nor
    # the proxy gives up before.
    workers.env["STRIPE_TIMEOUT_SECONDS"] = "120"
    workers.env["STRIPE_MAX_RPS"] = str(RATE)
    procs = [workers.start(name) for name in NAMES]
    approved_in_another_process(workers, campaign=campaign, staff=staff)
    paid = Pledge.objects.filter(campaign=campaign, status=Pledge.Status.PAID)

    # Which worker charges which chunk, asked while both charge (Celery's remote control takes
    # seconds on a busy machine, so not in the short time between the hang and the kill).
    def both_charging():
        found = active_chunks(workers)
        return found if all(found.get(name) for name in NAMES) else None

    asked = time.monotonic()
    chunks = wait_for(
        both_charging,
        seconds=60,
        what="both workers to charge a chunk",
        procs=procs,
    )
    print(f"celery inspect answered in {time.monotonic() - asked:.1f} s: {chunks}")
    assert sorted(chunks["one"] + chunks["two"]) == sorted(p.pk for p in pledges)

    # Once each chunk has a few pledges paid, the next charge Stripe makes loses its answer for
    # two minutes: whichever worker made it now sits in the middle of its chunk. (Waiting for a
    # total alone let one worker pay them all before the other began, so the hang fell on the
    # first pledge of the other chunk.)
    wait_for(
        lambda: all(paid.filter(pk__in=chunks[name]).count() >= 2 for name in NAMES),
        seconds=60,
        what="the first charges of both chunks",
        procs=procs,
    )
    chaos.rules({"match": CHARGE, "fault": "after_upstream_timeout", "delay_s": 120, "times": 1})

    def hung_charge():
        """The pledge whose answer the proxy holds: charged at Stripe, its attempt pending, and
        its worker stopped there while the other worker started and finished two charges."""
        if chaos.stats()["faults"].get("after_upstream_timeout") != 1:
            return None
        charged = chaos.ledger()["charges_by_metadata"]
        waiting = PaymentAttempt.objects.filter(
            pledge__campaign=campaign,
            pledge__status=Pledge.Status.CHARGING,
            outcome=PaymentAttempt.Outcome.PENDING,
            created_at__lt=timezone.now() - HUNG_AFTER,
        )
        for attempt in waiting:
            if str(attempt.pledge_id) not in charged:
                continue
            (other,) = [ids for ids in chunks.values() if attempt.pledge_id not in ids]
            later = PaymentAttempt.objects.filter(
                pledge_id__in=other,
                created_at__gt=attempt.created_at,
                outcome=PaymentAttempt.Outcome.SUCCEEDED,
            )
            attempt.refresh_from_db()
            if later.count() >= 2 and attempt.outcome == PaymentAttempt.Outcome.PENDING:
                return attempt.pledge
        return None

    hung = wait_for(hung_charge, seconds=30, what="a charge to hang", procs=procs)
    (victim,) = [name for name in NAMES if hung.pk in chunks[name]]
    (survivor,) = [name for name in NAMES if name != victim]
    before = [i for i in chunks[victim] if i < hung.pk]
    after = [i for i in chunks[victim] if i > hung.pk]
    # Mid-chunk: the victim has already charged part of its chunk and has more to go.
    assert before, (chunks[victim], hung.pk)
    assert after, (chunks[victim], hung.pk)
    assert set(paid.filter(pk__in=before).values_list("pk", flat=True)) == set(before)
    os.killpg(workers.procs[victim].pid, signal.SIGKILL)
    workers.procs[victim].wait(10)
    # The survivor is in the middle of its own chunk too: it goes on after the kill.
    to_go = len(chunks[survivor]) - paid.filter(pk__in=chunks[survivor]).count()
    print(f"killed {victim} at pledge {hung.pk}; {survivor} has {to_go} of its chunk to go")
    assert to_go > 0

    # The survivor finishes its own chunk while the dead worker's remainder waits.
    wait_for(
        lambda: paid.filter(pk__in=chunks[survivor]).count() == len(chunks[survivor]),
        # Generous: on a loaded 2-core machine a charge takes far longer than its rate slot.
        seconds=120,
        what="the survivor to finish its chunk",
        procs=[workers.procs[survivor]],
    )
    hung.refresh_from_db()
    assert hung.status == Pledge.Status.CHARGING
    left = set(
        Pledge.objects.filter(campaign=campaign, status=Pledge.Status.CHARGE_DUE).values_list(
            "pk", flat=True
        )
    )
    assert left == set(after)

    # Ten minutes on: the dead worker's lease has expired and the fan-out's queue marks have
    # passed (its unacknowledged message would only come back after the visibility timeout).
    past = timezone.now() - dt.timedelta(seconds=1)
    Pledge.objects.filter(pk=hung.pk).update(lease_expires_at=past)
    Pledge.objects.filter(pk__in=after).update(next_attempt_at=past)
    report = workers.manage("reconcile_payments")
    assert "charges resumed (expired leases)" in report, report
    workers.manage(
        "shell",
        "-c",
        "from pledges.tasks import settle_due\nsettle_due.delay()",
    )
    # Minutes, not the broker's 4-hour visibility timeout: the reconciler and the sweep finish it.
    wait_for(
        lambda: paid.count() == PLEDGES,
        seconds=120,
        what="every pledge to be PAID",
        procs=[workers.procs[survivor]],
    )

    ledger = assert_ledger_clean(chaos, campaign)
    assert ledger["double_charged"] == []
    assert sorted(ledger["charges_by_metadata"]) == sorted(str(p.pk) for p in pledges)
    assert all(len(pis) == 1 for pis in ledger["charges_by_metadata"].values())
    assert chaos.stats()["upstream"]["POST /v1/payment_intents"] == PLEDGES
    hung.refresh_from_db()
    (resumed,) = hung.attempts.all()
    assert resumed.outcome == PaymentAttempt.Outcome.SUCCEEDED
    assert hung.stripe_payment_intent_id == ledger["charges_by_metadata"][str(hung.pk)][0]
    campaign.refresh_from_db()
    assert campaign.collected_cents == sum(1000 + i for i in range(PLEDGES))
    assert PaymentAttempt.objects.filter(pledge__campaign=campaign).count() == PLEDGES
