"""Settlement benchmark: N ACTIVE pledges charged by a real Celery worker.

    python bench/settlement.py [--pledges 1000 10000] [--rps 20] [--concurrency 4]
        [--no-lag-probe] [--probe-delay 60] [--rps-reason "why this rate"] [--sql-seed]

For each size it builds a fresh PostgreSQL database (`rallyround_bench`), starts localstripe
(store dump off) behind stripe-chaos, uses Redis as the broker and as the shared cache behind
the global Stripe rate limiter, bulk-creates one campaign with N ACTIVE pledges (a handful of
real localstripe customers/cards shared across pledges: the ledger keys on pledge_id metadata),
freezes it, approves it through the same service the admin button calls (which queues the
charges in chunks on the `payments` queue), and runs `celery worker -Q payments` until every
pledge is PAID. It prints:

- charges per second (first attempt → last payment) against STRIPE_MAX_RPS (goal ≥ 90 %);
- the worker's peak RSS (VmHWM of the busiest worker process, and of all of them together) —
  compare across sizes (goal: equal within 10 %);
- the stripe-chaos ledger: pledges charged, double charges (must be none);
- with `--lag-probe` (on unless `--no-lag-probe`): celery beat runs too, and while the big
  campaign charges, a second campaign's deadline passes and a third campaign's two retries fall
  due (`--probe-delay` seconds after the workers start; one of them on a card that needs 3-D
  Secure). It prints how long after being due the second campaign was frozen
  (Campaign.frozen_at), each retry's next attempt was created, and the "confirm your payment"
  email was sent (the bench's email backend, bench/mail_record.py, records each message's send
  time), and whether each is within 2 minutes (issue 14).

localstripe is patched in its launcher (see LOCALSTRIPE): no store dump to disk, and its
listings go through an index by object kind instead of scanning the whole in-memory store,
which made its CPU per charge grow with every charge made (that is the fake's cost, not ours).

Logs, the beat schedule and the mail log go to var/bench/ (var/bench-<BENCH_DB>/ for another
BENCH_DB). Needs PostgreSQL and Redis on 127.0.0.1 (as in CI). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from database import fresh_database  # bench/database.py (this script's folder)

ROOT = Path(__file__).resolve().parents[1]
CHAOS = ROOT.parent / "shared" / "stripe-chaos" / "stripe_chaos.py"
PY = sys.executable
DB_NAME = os.environ.get("BENCH_DB", "rallyround_bench")
# Logs, the beat schedule and the mail log: one folder per bench database, so two benches
# run side by side (each with its own BENCH_DB and Redis databases) do not share files.
VAR = ROOT / "var" / ("bench" if DB_NAME == "rallyround_bench" else f"bench-{DB_NAME}")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
# Redis databases the bench empties and uses: the broker and the cache (rate limiter).
BROKER_DB = int(os.environ.get("BENCH_BROKER_DB", "14"))
CACHE_DB = int(os.environ.get("BENCH_CACHE_DB", "13"))
# Every queue settlement uses: approval queues `collect_campaign` on `default`, which marks the
# pledges due and sends the charges to `payments` (a worker on `payments` alone charges nothing)
# and the emails to `emails`.
QUEUES_OTHER = "default,emails_priority,emails"
# localstripe (the fake Stripe, not our code) patched in its launcher, for long runs:
# - Store.dump_to_disk off: it pickled the whole store after every write.
# - listing by kind through an index: its StripeObject._api_list_all scanned the whole store
#   (every PaymentIntent, charge, balance transaction and event) for each list, and exporting
#   a Charge lists its refunds (the `refunds` property), so every PaymentIntent answer and every
#   event cost a scan: its CPU per charge grew with the store (12.7 ms per create at 2,000 in
#   the store, 69.6 ms at 10,000; with the index 4-5 ms, flat). The index keeps insertion order
#   per kind, which is the order the scan returned.
LOCALSTRIPE = """
import sys, localstripe.resources as r
r.Store.dump_to_disk = lambda self: None
kinds = {}
def store_set(self, key, value, base=dict.__setitem__):
    base(self, key, value)
    kinds.setdefault(key.split(":", 1)[0], {})[key] = value
def store_del(self, key, base=dict.__delitem__):
    base(self, key)
    kinds.get(key.split(":", 1)[0], {}).pop(key, None)
def store_clear(self, base=dict.clear):
    base(self)
    kinds.clear()
def list_all(cls, url, limit=None, starting_after=None, **kwargs):
    if kwargs:
        raise r.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    li = r.List(url, limit=limit, starting_after=starting_after)
    li._list = list(kinds.get(cls.object, {}).values())
    return li
r.Store.__setitem__, r.Store.__delitem__, r.Store.clear = store_set, store_del, store_clear
r.StripeObject._api_list_all = classmethod(list_all)
from localstripe.server import start
sys.argv = ["localstripe", "--port", sys.argv[1], "--from-scratch"]
start()
"""
CARDS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def http_json(url: str, method: str = "GET"):
    req = urllib.request.Request(url, method=method, data=b"" if method != "GET" else None)
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read()
    return json.loads(raw) if raw.strip() else None


def spawn(args: list[str], env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (lives as long as proc)
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def process_tree(pid: int) -> list[int]:
    """The worker's main process and its pool children."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            pids.append(int(entry.name))
    return pids


def vm_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def flush_redis(db: int) -> None:
    import redis

    redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def run_django(code: str, env: dict) -> str:
    out = subprocess.run(
        [PY, "-c", code], cwd=ROOT, env=env, check=False, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"bench step failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


# Set-based seeding for the 10^6 runs: one template supporter and pledge made through the ORM,
# then one INSERT … SELECT each copying the template row with the unique columns made unique,
# in a few seconds instead of the minutes bulk_create needs for a million rows.
SQL_SEED = """
from django.db import connection
def clone(model, template_id, source, overrides):
    table = model._meta.db_table
    cols = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    exprs = [overrides.get(c, f't."{c}"') for c in cols]
    quoted = ", ".join(f'"{c}"' for c in cols)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {table} ({quoted}) SELECT {', '.join(exprs)} "
                    f"FROM {table} t, {source} WHERE t.id = %s", [template_id])
        return cur.rowcount
first = Supporter.objects.create(campaign=campaign, email="s0@example.org", name="Supporter 0",
                                 tier="advocate", confirmed_at=timezone.now())
Pledge.objects.create(campaign=campaign, supporter=first, tier="advocate", amount_cents=1500,
                      status=Pledge.Status.ACTIVE, stripe_customer_id=cards[0][0],
                      stripe_payment_method_id=cards[0][1], card_brand="visa", card_last4="4242")
template = Pledge.objects.get(supporter=first)
clone(Supporter, first.pk, f"generate_series(1, {n - 1}) g", {
    "email": "'s' || g || '@example.org'", "name": "'Supporter ' || g",
    "confirm_token": "md5(g::text || random()::text)", "share_code": "NULL"})
others = (f"(SELECT id FROM supporters_supporter WHERE campaign_id = {campaign.pk} "
          f"AND id <> {first.pk}) s")
clone(Pledge, template.pk, others, {
    "supporter_id": "s.id", "token": "md5(s.id::text || random()::text)", "form_key": "NULL",
    "amount_cents": "1500 + mod(s.id, 100)"})
with connection.cursor() as cur:
    cur.execute("ANALYZE supporters_supporter; ANALYZE pledges_pledge")
"""
BULK_SEED = """
Supporter.objects.bulk_create(
    (Supporter(campaign=campaign, email=f"s{i}@example.org", name=f"Supporter {i}",
               tier="advocate", confirmed_at=timezone.now()) for i in range(n)),
    batch_size=2000)
ids = Supporter.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
Pledge.objects.bulk_create(
    (Pledge(campaign=campaign, supporter_id=sid, tier="advocate", amount_cents=1500 + (i % 100),
            status=Pledge.Status.ACTIVE, stripe_customer_id=cards[i % CARDS][0],
            stripe_payment_method_id=cards[i % CARDS][1], card_brand="visa",
            card_last4="4242") for i, sid in enumerate(ids.iterator())),
    batch_size=2000)
"""


def build(n: int, env: dict, *, sql_seed: bool = False) -> int:
    """Create the campaign and N ACTIVE pledges, freeze and approve it. Runs in a child
    process so Django is configured from `env` and the bench process stays small. Prints (and
    returns) the pledges due; the approval's moment is written to VAR/approved_at."""
    seed = SQL_SEED if sql_seed else BULK_SEED
    code = f"""
import datetime as dt, django, stripe
django.setup()
from django.conf import settings
from django.utils import timezone
from campaigns.models import Campaign, Organization
from campaigns.services import campaign_add_defaults
from pledges import gateway
from pledges.models import Pledge
from pledges.services import settlement
from supporters.models import Supporter, User

n = {n}
CARDS = {CARDS}
client = stripe.StripeClient(settings.STRIPE_SECRET_KEY,
                             base_addresses={{"api": settings.STRIPE_API_BASE}})
cards = []
for i in range({CARDS}):
    customer = gateway.customer_create(email=f"bench{{i}}@example.org")
    pm = client.v1.payment_methods.create(params={{"type": "card", "card": {{
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}}})
    gateway.payment_method_attach(payment_method_id=pm.id, customer_id=customer)
    cards.append((customer, pm.id))
org = Organization.objects.create(name="Bench org", slug="bench-org")
campaign = Campaign.objects.create(
    organization=org, title="Bench campaign", slug="bench", summary="Benchmark",
    goal_cents=100, deadline=timezone.now() + dt.timedelta(days=1),
    status=Campaign.Status.LIVE, contact_email="organizer@example.org")
campaign_add_defaults(campaign=campaign)
{seed}
Campaign.objects.filter(pk=campaign.pk).update(
    deadline=timezone.now() - dt.timedelta(minutes=1))
assert settlement.campaign_freeze(campaign_id=campaign.pk) == "awaiting_approval"
staff = User.objects.create_superuser("bench-staff@example.org", "x")
campaign.refresh_from_db()
import time as _t
with open({str(VAR / "approved_at")!r}, "w") as f:
    f.write(repr(_t.time()))
due = settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
print(due)
"""
    return int(run_django(code, env))


# The lag probe's rows, made while the big campaign waits to be charged: (a) a second LIVE
# campaign whose deadline is `delay` seconds away (the beat's settle_due must freeze it);
# (b) and (c) a third campaign, already approved (SUCCEEDED), with two pledges in the state a
# first soft decline leaves (RETRY_DUE, attempt 1 declined RETRY_DELAYS[1] before the retry,
# which is due in `delay` seconds, as `_record_declined` sets it): one
# on a card that pays, one on localstripe's 4000002760003184, which needs 3-D Secure when
# charged off-session, so its retry ends in ACTION_REQUIRED and the "confirm your payment"
# email. They are seeded as rows (like the big campaign's ACTIVE pledges), not walked there
# through Stripe declines, so the due moments are exact.
PROBE_SETUP = """
import datetime as dt, json, django, stripe
django.setup()
from django.conf import settings
from django.utils import timezone
from campaigns.models import Campaign, Organization
from campaigns.services import campaign_add_defaults
from pledges import gateway
from pledges.models import PaymentAttempt, Pledge
from pledges.services.attempts import RETRY_DELAYS, attempt_key
from supporters.models import Supporter

client = stripe.StripeClient(settings.STRIPE_SECRET_KEY,
                             base_addresses={"api": settings.STRIPE_API_BASE})
def saved_card(number, n):
    customer = gateway.customer_create(email=f"probe{n}@example.org")
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    setup = gateway.setup_intent_create(customer_id=customer, metadata={"probe": str(n)})
    client.v1.setup_intents.confirm(setup.id, params={"payment_method": pm.id})
    gateway.payment_method_attach(payment_method_id=pm.id, customer_id=customer)
    return customer, pm.id, number[-4:]
ok_card, three_ds_card = saved_card("4242424242424242", 1), saved_card("4000002760003184", 2)
org = Organization.objects.get(slug="bench-org")
def campaign(slug, **kw):
    c = Campaign.objects.create(organization=org, title=slug, slug=slug, summary="Lag probe",
                                goal_cents=100, contact_email="organizer@example.org", **kw)
    campaign_add_defaults(campaign=c)
    return c
def pledge(c, email, card, **kw):
    s = Supporter.objects.create(campaign=c, email=email, name=email, tier="advocate",
                                 confirmed_at=timezone.now())
    return Pledge.objects.create(campaign=c, supporter=s, tier="advocate", amount_cents=2000,
                                 stripe_customer_id=card[0], stripe_payment_method_id=card[1],
                                 card_brand="visa", card_last4=card[2], **kw)
now = timezone.now()
due = now + dt.timedelta(seconds=DELAY_SECONDS)
freezing = campaign("probe-freeze", deadline=due, status=Campaign.Status.LIVE)
for i in range(3):
    pledge(freezing, f"probe-freeze{i}@example.org", ok_card, status=Pledge.Status.ACTIVE)
retrying = campaign("probe-retry", deadline=now - dt.timedelta(hours=1),
                    status=Campaign.Status.SUCCEEDED, frozen_at=now - dt.timedelta(hours=1),
                    frozen_pledged_cents=4000, frozen_backer_count=2)
out = {"due": due.timestamp(), "freeze_campaign": freezing.pk}
for name, email, card in (("retry", "probe-retry@example.org", ok_card),
                          ("three_ds", "probe-3ds@example.org", three_ds_card)):
    p = pledge(retrying, email, card, status=Pledge.Status.RETRY_DUE, attempt_count=1,
               next_attempt_at=due)
    PaymentAttempt.objects.create(
        pledge=p, number=1, idempotency_key=attempt_key(p.pk, 1), amount_cents=p.amount_cents,
        outcome=PaymentAttempt.Outcome.SOFT_DECLINE, error_code="card_declined",
        message="Lag probe: the first attempt was declined.",
        finished_at=due - RETRY_DELAYS[1])  # declined a retry delay before the retry is due
    out[name] = p.pk
    out[name + "_email"] = email
print(json.dumps(out))
"""
PROBE_LIMIT_S = 120  # issue 14: each must happen within 2 minutes of being due


def probe_setup(env: dict, delay: float) -> dict:
    return json.loads(run_django(PROBE_SETUP.replace("DELAY_SECONDS", repr(float(delay))), env))


def probe_observe(probe: dict, mail_log: Path) -> dict[str, float | None]:
    """When each probed thing happened (epoch seconds), None while it has not: the second
    campaign's freeze (Campaign.frozen_at), the retry's and the 3-D Secure pledge's next
    attempt (PaymentAttempt.created_at of attempt 2), and the 3-D Secure email's send."""
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT extract(epoch FROM frozen_at) FROM campaigns_campaign WHERE id = %s",
            [probe["freeze_campaign"]],
        )
        (frozen,) = cur.fetchone()
        attempts = {}
        for name in ("retry", "three_ds"):
            cur.execute(
                "SELECT extract(epoch FROM created_at) FROM pledges_paymentattempt "
                "WHERE pledge_id = %s AND number = 2",
                [probe[name]],
            )
            row = cur.fetchone()
            attempts[name] = float(row[0]) if row else None
    conn.close()
    email = None
    if mail_log.exists():
        for line in mail_log.read_text().splitlines():
            sent, to, _subject = line.split("\t", 2)
            if probe["three_ds_email"] in to.split(","):
                email = float(sent)
                break
    return {
        "freeze": float(frozen) if frozen is not None else None,
        "retry": attempts["retry"],
        "three_ds_attempt": attempts["three_ds"],
        "three_ds_email": email,
    }


def measure(env: dict, n: int) -> dict:
    code = """
import django, json
django.setup()
from django.db.models import Max, Min
from pledges.models import PaymentAttempt, Pledge
# The big campaign only (the lag probe's pledges are charged beside it).
paid = Pledge.objects.filter(status="paid", campaign__slug="bench")
attempts = PaymentAttempt.objects.filter(pledge__campaign__slug="bench")
first = attempts.aggregate(t=Min("created_at"))["t"]
last = paid.aggregate(t=Max("paid_at"))["t"]
print(json.dumps({"paid": paid.count(), "attempts": attempts.count(),
                  "seconds": (last - first).total_seconds() if first and last else None}))
"""
    return json.loads(run_django(code, env))


def paid_count(env: dict) -> int:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pledges_pledge p JOIN campaigns_campaign c "
            "ON c.id = p.campaign_id WHERE c.slug = 'bench' AND p.status = 'paid'"
        )
        (count,) = cur.fetchone()
    conn.close()
    return int(count)


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (and its reaped children), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[11..14]: utime, stime, cutime, cstime (after the state field at index 0)
    return sum(int(x) for x in fields[11:15]) / ticks


def postgres_backends() -> list[int]:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        )
        pids = [row[0] for row in cur.fetchall()]
    conn.close()
    return pids


def cpu_by_role(payers, helper, others: dict[str, subprocess.Popen]) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each process, grouped by kind: the payments workers (all their
    pool processes), the default/emails worker, PostgreSQL's backends for the bench database,
    and the fake Stripe (localstripe) and its proxy (stripe-chaos)."""
    return {
        "payments workers": {p: cpu_seconds(p) for w in payers for p in process_tree(w.pid)},
        "default+emails worker": {p: cpu_seconds(p) for p in process_tree(helper.pid)},
        "PostgreSQL": {p: cpu_seconds(p) for p in postgres_backends()},
        **{name: {proc.pid: cpu_seconds(proc.pid)} for name, proc in others.items()},
    }


def cpu_used(start: dict[str, dict[int, float]], end: dict[str, dict[int, float]]) -> dict:
    """CPU seconds per kind between two samples (processes that ended meanwhile are left out;
    ones that started count from zero)."""
    return {
        role: sum(t - start.get(role, {}).get(pid, 0.0) for pid, t in pids.items())
        for role, pids in end.items()
    }


def queue_length(name: str) -> int:
    import redis

    return int(redis.Redis.from_url(f"{REDIS}/{BROKER_DB}").llen(name))


def celery_beat(env: dict, var: Path, label: str) -> subprocess.Popen:
    """celery beat with a fresh schedule file, so every entry runs at start and then on time."""
    schedule = var / f"beat-schedule-{label}"
    schedule.unlink(missing_ok=True)
    return spawn(
        [PY, "-m", "celery", "-A", "config", "beat", "-s", str(schedule), "-l", "warning"],
        env=env,
        log=var / f"beat-{label}.log",
    )


def pledges_in_queue(name: str) -> tuple[int, int]:
    """(pledge ids in the charge tasks waiting on queue `name`, how many of them distinct):
    equal, and equal to the pledges due, when every pledge was queued exactly once."""
    import base64

    import redis

    client = redis.Redis.from_url(f"{REDIS}/{BROKER_DB}")
    ids: list[int] = []
    for start in range(0, client.llen(name), 5000):
        for raw in client.lrange(name, start, start + 4999):
            _, kwargs, _ = json.loads(base64.b64decode(json.loads(raw)["body"]))
            ids.extend(kwargs.get("pledge_ids", []))
    return len(ids), len(set(ids))


def run_mark_only(n: int, args, chaos_url: str, localstripe_url: str, var: Path) -> dict:
    """Approval → every pledge CHARGE_DUE and handed to the `payments` queue (nothing charged:
    no payments worker runs). The `default` worker runs the collect steps and celery beat the
    minute sweep, as in production; the `emails` queue is left to fill. Prints the times, the
    default worker's peak RSS, and the CPU the worker and PostgreSQL spent per 1,000 pledges
    (what the time would be on an idle machine; the bench's own polling is left out)."""
    env = bench_env(args, chaos_url, localstripe_url, var)
    flush_redis(BROKER_DB)
    flush_redis(CACHE_DB)
    fresh_database(PG, DB_NAME, env)
    worker = spawn(
        [PY, "-m", "celery", "-A", "config", "worker", "-Q", "default", "-n", "default@%h"]
        # As many processes as the Procfile's default worker (WORKER_CONCURRENCY, 2): an
        # approval collects a large campaign in parallel chains (settlement.COLLECT_CHAINS).
        + ["--pool", "prefork", "--concurrency", str(args.concurrency), "-l", "warning"]
        + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env,
        log=var / f"worker-default-mark-{n}.log",
    )
    beat = celery_beat(env, var, f"mark-{n}")
    t0 = time.monotonic()
    try:
        due = build(n, env, sql_seed=True)
        approved_at = float((var / "approved_at").read_text())
        print(
            f"  {n} pledges seeded, frozen and approved ({due} due) in {time.monotonic() - t0:.1f}s"
        )
        import psycopg2

        conn = psycopg2.connect(f"{PG}/{DB_NAME}")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            (own_backend,) = cur.fetchone()

        def cpu_now(seen: dict[int, float]) -> tuple[float, float]:
            """CPU seconds so far: the default worker's processes, and PostgreSQL's backends
            for the bench database (the last figure of each, so one that ended still counts)."""
            seen.update({p: cpu_seconds(p) for p in postgres_backends() if p != own_backend})
            return sum(cpu_seconds(p) for p in process_tree(worker.pid)), sum(seen.values())

        pg_seen: dict[int, float] = {}
        cpu_start = cpu_now(pg_seen)
        pg_start = dict(pg_seen)
        loads: list[float] = []
        peak: dict[int, int] = {}
        marked_s = queued_s = None
        deadline = time.monotonic() + (args.timeout or 900)
        last_report = 0.0
        while time.monotonic() < deadline:
            loads.append(os.getloadavg()[0])
            cpu_now(pg_seen)
            for pid in process_tree(worker.pid):
                peak[pid] = max(peak.get(pid, 0), vm_kb(pid, "VmHWM"))
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FILTER (WHERE status = 'charge_due'), count(*) FILTER "
                    "(WHERE status = 'charge_due' AND next_attempt_at IS NOT NULL) "
                    "FROM pledges_pledge"
                )
                marked, queued = cur.fetchone()
            now = time.time() - approved_at
            if marked_s is None and marked >= due:
                marked_s = now
            if time.monotonic() - last_report > 15:
                print(f"  … {now:.0f}s after approval: {marked}/{due} due, {queued} queued")
                last_report = time.monotonic()
            if queued >= due:
                queued_s = now
                break
            if worker.poll() is not None or beat.poll() is not None:
                raise RuntimeError(f"the worker or beat exited; see {var}")
            time.sleep(1)
        # The last chunk's tasks are sent just after its commit (a moment later on a loaded
        # machine: a queue length steady for 2 s once read 0 tasks for 20 pledges queued):
        # wait until the tasks hold every pledge due, or 30 s.
        settled = time.monotonic() + 30
        while time.monotonic() < settled and pledges_in_queue("payments")[0] < due:
            time.sleep(0.5)
        worker_cpu, pg_cpu = cpu_now(pg_seen)
        # Backends already open at the start count from their figure then.
        pg_cpu -= sum(pg_start.values())
        conn.close()
        tasks = queue_length("payments")
        in_tasks, distinct = pledges_in_queue("payments")
    finally:
        stop(worker)
        stop(beat)
    return {
        "pledges": n,
        "due": due,
        "marked_s": marked_s,
        "queued_s": queued_s,
        "payments_tasks": tasks,
        "pledges_in_tasks": in_tasks,
        "distinct_in_tasks": distinct,
        "peak_rss_child_mb": max(peak.values()) / 1024 if peak else 0,
        "worker_ms_per_1000": (worker_cpu - cpu_start[0]) * 1e6 / max(1, due),
        "pg_ms_per_1000": pg_cpu * 1e6 / max(1, due),
        "load": (min(loads), sum(loads) / len(loads), max(loads)) if loads else (0, 0, 0),
    }


def bench_env(args, chaos_url: str, localstripe_url: str, var: Path) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "TEST_"))},
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": f"{REDIS}/{BROKER_DB}",
        "CACHE_BACKEND": "redis",
        "CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "STRIPE_API_BASE": chaos_url,
        "STRIPE_JS_URL": f"{localstripe_url}/js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_LOCAL_COMPAT": "true",
        "STRIPE_MAX_RPS": str(args.rps),
        "DEBUG": "false",
        "EMAIL_URL": "dummymail://",
        "RALLYROUND_VAR_DIR": str(var),
        "LOG_LEVEL": "WARNING",
        # Connections kept for the run, so PostgreSQL's CPU per backend can be followed.
        "CONN_MAX_AGE": "3600",
        # config.settings with email recorded, not sent (bench/mail_record.py).
        "DJANGO_SETTINGS_MODULE": "bench.settlement_settings",
        "BENCH_MAIL_LOG": str(var / "mail.log"),
    }


def run_size(n: int, args, chaos_url: str, localstripe_url: str, var: Path, others: dict) -> dict:
    env = bench_env(args, chaos_url, localstripe_url, var)
    http_json(f"{chaos_url}/_chaos/reset", "POST")
    req = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")
    urllib.request.urlopen(req, timeout=30).close()
    flush_redis(BROKER_DB)
    flush_redis(CACHE_DB)
    fresh_database(PG, DB_NAME, env)
    mail_log = var / "mail.log"
    mail_log.unlink(missing_ok=True)
    t0 = time.monotonic()
    due = build(n, env, sql_seed=args.sql_seed)
    print(f"  {n} pledges created, frozen and approved ({due} due) in {time.monotonic() - t0:.1f}s")
    probe = probe_setup(env, args.probe_delay) if args.lag_probe else None

    def celery_worker(queues: str, concurrency: int, name: str) -> subprocess.Popen:
        return spawn(
            [PY, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-n", f"{name}@%h"]
            + ["--pool", "prefork", "--concurrency", str(concurrency), "-l", "warning"]
            + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
            env=env,
            log=var / f"worker-{name}-{n}.log",
        )

    # One worker for the settlement steps and emails (approval queues collect_campaign on
    # `default`), and --workers payments workers, as the Procfile runs them.
    helper = celery_worker(QUEUES_OTHER, 1, "default")
    payers = [
        celery_worker("payments_priority,payments", args.concurrency, f"payments{i}")
        for i in range(args.workers)
    ]
    workers = [helper, *payers]
    started = time.time()
    if probe:
        # The beat freezes campaigns and queues due retries every minute, as in production.
        workers.append(celery_beat(env, var, f"run-{n}"))
        print(
            f"  lag probe: second campaign's deadline and the third's two retries due "
            f"{probe['due'] - started:.0f}s after the workers started"
        )
    seen: dict[str, float | None] = {}
    peak_rss: dict[int, int] = {}
    deadline = time.monotonic() + (args.timeout or max(120, 4 * n / max(1, args.rps)))
    last_report = last_probe = 0.0
    probe_end = None
    cpu_start: dict[str, dict[int, float]] = {}
    pg_seen: dict[int, float] = {}
    paid_start = 0
    try:
        while time.monotonic() < deadline:
            for worker in payers:
                for pid in process_tree(worker.pid):
                    peak_rss[pid] = max(peak_rss.get(pid, 0), vm_kb(pid, "VmHWM"))
            done = paid_count(env)
            if not cpu_start and done:
                # Measure CPU from the first payment on: worker start-up is not per charge.
                cpu_start, paid_start = cpu_by_role(payers, helper, others), done
            elif cpu_start:
                # PostgreSQL backends come and go with the workers' connections: remember the
                # last CPU figure of each, so one that ends before the run still counts.
                pg_seen.update({pid: cpu_seconds(pid) for pid in postgres_backends()})
            if probe and time.monotonic() - last_probe > 5 and (not seen or None in seen.values()):
                for name, at in probe_observe(probe, mail_log).items():
                    if at is not None and seen.get(name) is None:
                        print(f"  lag probe: {name} {at - probe['due']:+.1f}s after due")
                    seen[name] = at
                last_probe = time.monotonic()
            if time.monotonic() - last_report > 15:
                print(f"  … {done}/{n} paid")
                last_report = time.monotonic()
            if done >= n:
                # Wait for the probe a while after the big campaign is done (bounded).
                probe_end = probe_end or time.monotonic() + PROBE_LIMIT_S + 60
                probe_done = seen and None not in seen.values()
                if not probe or probe_done or time.monotonic() > probe_end:
                    break
            for worker in workers:
                if worker.poll() is not None:
                    raise RuntimeError(f"a worker exited; see {var}/worker-*-{n}.log")
            time.sleep(0.5)
        cpu_end = cpu_by_role(payers, helper, others)
        cpu_end["PostgreSQL"] = {**pg_seen, **cpu_end["PostgreSQL"]}
        paid_end = paid_count(env)
        for worker in payers:
            for pid in process_tree(worker.pid):
                peak_rss[pid] = max(peak_rss.get(pid, 0), vm_kb(pid, "VmHWM"))
        peak_other = {
            "default+emails worker": sum(vm_kb(p, "VmHWM") for p in process_tree(helper.pid)),
            **{name: vm_kb(proc.pid, "VmHWM") for name, proc in others.items()},
        }
        if probe:
            seen = probe_observe(probe, mail_log)
    finally:
        for worker in workers:
            stop(worker)
    charged = max(1, paid_end - paid_start)
    cpu_ms = {role: t * 1000 / charged for role, t in cpu_used(cpu_start, cpu_end).items()}
    figures = measure(env, n)
    ledger = http_json(f"{chaos_url}/_chaos/ledger?key=pledge_id")
    probe_ids = {str(probe[k]) for k in ("retry", "three_ds")} if probe else set()
    at_stripe = sum(
        1 for key, pis in ledger["charges_by_metadata"].items() if pis and key not in probe_ids
    )
    rate = figures["paid"] / figures["seconds"] if figures["seconds"] else 0.0
    return {
        "pledges": n,
        "paid": figures["paid"],
        "attempts": figures["attempts"],
        "seconds": figures["seconds"],
        "rate": rate,
        "rps_limit": args.rps,
        "peak_rss_child_mb": max(peak_rss.values()) / 1024 if peak_rss else 0,
        "peak_rss_total_mb": sum(peak_rss.values()) / 1024,
        "charged_at_stripe": at_stripe,
        "double_charged": ledger["double_charged"],
        "cpu_ms": cpu_ms,
        "cpu_window_charges": charged,
        "peak_rss_other_mb": {k: kb / 1024 for k, kb in peak_other.items()},
        "probe": {
            "due_after_start_s": probe["due"] - started,
            "lags": {k: (at - probe["due"] if at is not None else None) for k, at in seen.items()},
        }
        if probe
        else None,
    }


PROBE_LABELS = {
    "freeze": "second campaign frozen (Campaign.frozen_at − deadline)",
    "retry": "third campaign's retry attempted (attempt 2 created − retry due)",
    "three_ds_attempt": "3-D Secure pledge's retry attempted (attempt 2 created − due)",
    "three_ds_email": "its 'confirm your payment' email sent (sent − due)",
}


def report_probe(probe: dict) -> bool:
    """Print each lag and whether it is within PROBE_LIMIT_S; True if all are."""
    print(f"  Lag probe (due {probe['due_after_start_s']:.0f}s after the workers started):")
    ok = True
    for name, label in PROBE_LABELS.items():
        lag = probe["lags"].get(name)
        within = lag is not None and lag <= PROBE_LIMIT_S
        ok &= within
        shown = f"{lag:7.1f}s" if lag is not None else "  never "
        verdict = "within 2 minutes" if within else "NOT within 2 minutes"
        print(f"    {label}: {shown} — {verdict}")
    return ok


def report_mark_only(results: list[dict]) -> int:
    print()
    print(
        f"{'pledges':>9} {'due':>9} {'all due (s)':>12} {'all queued (s)':>15} "
        f"{'payments tasks':>15} {'default worker peak RSS':>24}"
    )
    ok = True
    for r in results:
        marked = f"{r['marked_s']:.1f}" if r["marked_s"] is not None else "not yet"
        queued = f"{r['queued_s']:.1f}" if r["queued_s"] is not None else "not yet"
        print(
            f"{r['pledges']:>9} {r['due']:>9} {marked:>12} {queued:>15} "
            f"{r['payments_tasks']:>15} {r['peak_rss_child_mb']:>21.1f} MB"
        )
        ok &= r["queued_s"] is not None and r["queued_s"] < 300
    for r in results:
        once = r["pledges_in_tasks"] == r["distinct_in_tasks"] == r["due"]
        print(
            f"{r['pledges']} pledges: {r['pledges_in_tasks']} pledge ids in the payments tasks, "
            f"{r['distinct_in_tasks']} distinct: "
            + ("every pledge queued exactly once." if once else "NOT every pledge exactly once.")
        )
        ok &= once
        worker_ms, pg_ms = r["worker_ms_per_1000"], r["pg_ms_per_1000"]
        low, mean, high = r["load"]
        print(
            f"{r['pledges']} pledges: CPU per 1,000 pledges: default worker {worker_ms:.0f} ms, "
            f"PostgreSQL {pg_ms:.0f} ms (one collect chain on an idle machine: about "
            f"{1e6 / max(1.0, worker_ms + pg_ms):.0f} pledges/s); load average "
            f"{low:.1f}–{high:.1f} (mean {mean:.1f}) on {os.cpu_count()} cores"
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        growth = (large["peak_rss_child_mb"] / small["peak_rss_child_mb"] - 1) * 100
        print(
            f"Peak RSS of the default worker, {large['pledges']} vs {small['pledges']} "
            f"pledges: {growth:+.1f}% (goal: within ±10%)"
        )
    print(
        "Goal: approval → every pledge due and queued within 300 s: "
        + ("met." if ok else "NOT met.")
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rps", type=int, default=int(os.environ.get("STRIPE_MAX_RPS", 20)))
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    parser.add_argument("--workers", type=int, default=2, help="payments workers")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds per size")
    parser.add_argument(
        "--rps-reason", default="", help="why this STRIPE_MAX_RPS (printed with the results)"
    )
    parser.add_argument(
        "--sql-seed", action="store_true", help="seed the pledges with set-based SQL"
    )
    parser.add_argument(
        "--lag-probe",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run celery beat and measure, while the big campaign charges, a second "
        "campaign's freeze and a third's retry and 3-D Secure email against when each was due",
    )
    parser.add_argument(
        "--probe-delay",
        type=float,
        default=60,
        help="seconds after the workers start when the probed things fall due",
    )
    parser.add_argument(
        "--mark-only",
        action="store_true",
        help="seed with set-based SQL and measure approval → every pledge due and queued "
        "(no charges) and the default worker's peak RSS",
    )
    args = parser.parse_args()

    var = VAR
    (var / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    ls_port, chaos_port = free_port(), free_port()
    localstripe = spawn([PY, "-c", LOCALSTRIPE, str(ls_port)], log=var / "localstripe.log")
    localstripe_url = f"http://127.0.0.1:{ls_port}"
    chaos = spawn(
        [PY, str(CHAOS), "--listen", f"127.0.0.1:{chaos_port}", "--upstream", localstripe_url],
        log=var / "chaos.log",
    )
    chaos_url = f"http://127.0.0.1:{chaos_port}"
    results = []
    try:
        wait_http(f"{localstripe_url}/js.stripe.com/v3/")
        wait_http(f"{chaos_url}/_chaos/health")
        if args.mark_only:
            return report_mark_only(
                [run_mark_only(n, args, chaos_url, localstripe_url, var) for n in args.pledges]
            )
        for n in args.pledges:
            print(
                f"Settling {n} pledges at STRIPE_MAX_RPS={args.rps}: {args.workers} payments "
                f"worker(s) × {args.concurrency} processes, one default+emails worker"
                + (", celery beat and the lag probe" if args.lag_probe else "")
            )
            if args.rps_reason:
                print(f"  STRIPE_MAX_RPS={args.rps} because {args.rps_reason}")
            others = {"localstripe": localstripe, "stripe-chaos proxy": chaos}
            results.append(run_size(n, args, chaos_url, localstripe_url, var, others))
    finally:
        stop(chaos)
        stop(localstripe)

    print()
    print(
        f"{'pledges':>8} {'paid':>7} {'seconds':>8} {'charges/s':>10} {'of limit':>9} "
        f"{'peak RSS/process':>17} {'peak RSS total':>15} {'double':>7}"
    )
    ok = probes_ok = True
    for r in results:
        share = r["rate"] / r["rps_limit"] * 100
        print(
            f"{r['pledges']:>8} {r['paid']:>7} {r['seconds'] or 0:>8.1f} {r['rate']:>10.2f} "
            f"{share:>8.1f}% {r['peak_rss_child_mb']:>14.1f} MB {r['peak_rss_total_mb']:>12.1f} MB "
            f"{len(r['double_charged']):>7}"
        )
        ok &= r["paid"] == r["pledges"] == r["charged_at_stripe"] and not r["double_charged"]
    for r in results:
        total = sum(r["cpu_ms"].values())
        parts = ", ".join(f"{role} {ms:.1f}" for role, ms in r["cpu_ms"].items())
        worker_ms = r["cpu_ms"]["payments workers"]
        print(
            f"CPU ms per charge, {r['pledges']} pledges (over {r['cpu_window_charges']} charges "
            f"from the first payment on): {parts}; all {total:.1f}. One payments core sustains "
            f"about {1000 / max(worker_ms, 1e-9):.0f} charges/s of worker CPU."
        )
        cores = os.cpu_count() or 1
        print(
            f"  STRIPE_MAX_RPS={r['rps_limit']} was chosen; with every process on this "
            f"machine's {cores} cores at {total:.1f} ms of CPU per charge it can hold at most "
            f"about {cores * 1000 / max(total, 1e-9):.0f} charges/s if nothing else ran "
            f"(load average now {os.getloadavg()[0]:.1f})."
        )
        for rps in (100, 25):
            hours = 1_000_000 / rps / 3600
            cores = rps * worker_ms / 1000
            pg_cores = rps * r["cpu_ms"]["PostgreSQL"] / 1000
            print(
                f"  1,000,000 charges at {rps}/s: {hours:.1f} h, needing about {cores:.1f} "
                f"payments-worker cores (plus PostgreSQL {pg_cores:.1f})"
            )
        others = ", ".join(f"{k} {mb:.1f} MB" for k, mb in r["peak_rss_other_mb"].items())
        print(f"  Peak RSS of the other processes: {others}")
        share = r["rate"] / r["rps_limit"] * 100
        print(
            f"  Goal, >= 90 % of STRIPE_MAX_RPS sustained over >= 50,000 charges: {share:.1f}% "
            f"over {r['paid']} charges in {r['seconds'] or 0:.0f}s: "
            + ("met." if share >= 90 and r["paid"] >= 50_000 else "NOT met.")
        )
        if r["probe"]:
            probes_ok &= report_probe(r["probe"])
    if len(results) >= 2:
        small, large = results[0], results[-1]
        growth = (large["peak_rss_child_mb"] / small["peak_rss_child_mb"] - 1) * 100
        print(
            f"Peak RSS per worker process, {large['pledges']} vs {small['pledges']} pledges: "
            f"{growth:+.1f}% (goal: within ±10%)"
        )
    print(
        "Ledger: "
        + (
            "every pledge charged exactly once, no double charges."
            if ok
            else "PROBLEM: see the table."
        )
    )
    return 0 if ok and probes_ok else 1


if __name__ == "__main__":
    sys.exit(main())
