"""Page benchmark: throughput and query counts of the public pages at scale.

    python bench/pages.py [--pledges 1000000] [--supporters 200000] [--others 500]
                          [--seconds 10] [--clients 4]

Seeds a PostgreSQL database (`rr_bench`, dropped and recreated) with one campaign holding
--pledges pledges from --supporters supporters (one live pledge each, the rest earlier canceled
pledges: the database allows one live pledge per supporter), a small campaign with 1,000 pledges,
and --others other live campaigns. Serves it with gunicorn (2 workers, production settings) and
drives it from client processes on loopback for a bounded time, then prints for each page:
requests/s, p50/p95 latency, queries per request, and the ratio of its throughput to a minimal
Django view returning a constant string, measured in the same run.

Load comes from `wrk -t2 -c16` when wrk is installed (else, or with --client python, from
Python client processes, which spend more CPU per request than a cached page and so flatter
the ratio); the cache is Redis when REDIS_URL (or BENCH_CACHE_URL) is set. Both are printed.

Goals: campaign page (served from the page cache) ratio ≥ 0.8 with wrk and the Redis cache;
queries per request ≤ 10 and the same at 1,000 and 1,000,000
pledges. Not part of `make test` (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from database import fresh_database  # bench/database.py (this script's folder)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB", "rr_bench")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# The page cache the production shape uses: Redis (REDIS_URL, or BENCH_CACHE_URL for a database
# of its own, emptied at start); locmem only when no Redis is configured.
CACHE_URL = os.environ.get("BENCH_CACHE_URL", os.environ.get("REDIS_URL", ""))
WRK = shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for_bench(static_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "RALLYROUND_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
        "CACHE_BACKEND": "redis" if CACHE_URL else "locmem",
        **({"CACHE_URL": CACHE_URL} if CACHE_URL else {}),
        # Production refuses the public local placeholders; nothing here calls Stripe.
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24),
    }


def seed(pledges: int, supporters: int, others: int) -> dict[str, str]:
    """Fill the database with SQL (generate_series): seconds, not hours, for a million rows."""
    import django

    django.setup()
    import datetime as dt

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign, IssueArea, Organization
    from campaigns.services import campaign_add_defaults

    org = Organization.objects.create(name="Bench Coalition", slug="bench-coalition")
    area = IssueArea.objects.create(name="Immigration", slug="immigration")
    deadline = timezone.now() + dt.timedelta(days=20)

    def make(slug: str, title: str, goal: int) -> Campaign:
        c = Campaign.objects.create(
            organization=org,
            title=title,
            slug=slug,
            summary="A benchmark campaign.",
            goal_cents=goal,
            deadline=deadline,
            status=Campaign.Status.LIVE,
        )
        c.issue_areas.add(area)
        campaign_add_defaults(campaign=c)
        return c

    big = make("big", "A campaign with a million pledges", 10_000_000_00)
    small = make("small", "A campaign with a thousand pledges", 10_000_00)
    for i in range(others):
        make(f"other-{i}", f"Other campaign number {i}", 5_000_00)

    def fill(campaign: Campaign, n_pledges: int, n_supporters: int) -> None:
        champion_every = 10
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO supporters_supporter
                  (created_at, updated_at, campaign_id, email, name, postal_code, phone, tier,
                   confirmed_at, confirm_token, consent_updates, consent_updates_text, consent_org,
                   consent_org_text, public_listing, display_name, source, referrer, utm_source,
                   utm_medium, utm_campaign, language)
                SELECT now(), now(), %s, 'p' || g || '@bench.example', 'Person ' || g, '94609', '',
                       CASE WHEN g %% %s = 0 THEN 'champion' ELSE 'advocate' END,
                       now(), %s || '-' || g, true, 'updates', false, '', g %% %s = 0,
                       'Person ' || g, '', '', '', '', '', %s
                FROM generate_series(1, %s) AS g
                """,
                [
                    campaign.pk,
                    champion_every,
                    f"bench{campaign.pk}",
                    champion_every,
                    settings.LANGUAGE_CODE,
                    n_supporters,
                ],
            )
            # One live pledge per supporter, then earlier canceled ones up to n_pledges.
            extra = max(0, n_pledges - n_supporters)
            rounds = -(-extra // max(n_supporters, 1))
            cur.execute(
                """
                WITH s AS (
                  SELECT id, campaign_id, tier, row_number() OVER (ORDER BY id) - 1 AS idx
                  FROM supporters_supporter WHERE campaign_id = %s
                )
                INSERT INTO pledges_pledge
                  (created_at, updated_at, campaign_id, supporter_id, tier, amount_cents, currency,
                   status, token, stripe_customer_id, stripe_setup_intent_id,
                   stripe_payment_method_id, card_brand, card_last4, attempt_count, paid_cents,
                   refunded_cents, stripe_payment_intent_id)
                SELECT now(), now(), s.campaign_id, s.id, s.tier, 2000 + (s.idx %% 50) * 100,
                       'usd', CASE WHEN k = 0 THEN 'active' ELSE 'canceled' END,
                       'bench-' || s.id || '-' || k, 'cus_bench', '', 'pm_bench', 'visa', '4242',
                       0, 0, 0, ''
                FROM s CROSS JOIN generate_series(0, %s) AS k
                WHERE k = 0 OR (k - 1) * %s + s.idx < %s
                """,
                [campaign.pk, rounds, n_supporters, extra],
            )
            cur.execute(
                """
                UPDATE campaigns_campaign c SET
                  pledged_cents = t.cents, backer_count = t.n, supporter_count = %s
                FROM (SELECT coalesce(sum(amount_cents), 0) AS cents, count(*) AS n
                      FROM pledges_pledge WHERE campaign_id = %s AND status = 'active') t
                WHERE c.id = %s
                """,
                [n_supporters, campaign.pk, campaign.pk],
            )

    fill(big, pledges, supporters)
    fill(small, 1_000, 1_000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM pledges_pledge WHERE campaign_id = %s", [big.pk])
        n_big = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM supporters_supporter WHERE campaign_id = %s", [big.pk])
        s_big = cur.fetchone()[0]
    print(
        f"seeded: big campaign {n_big:,} pledges / {s_big:,} supporters; small 1,000; "
        f"{others} other campaigns"
    )
    return {"big": big.slug, "small": small.slug}


def count_queries(paths: list[str]) -> dict[str, tuple[int, int]]:
    """Queries one request to each path runs, measured in-process with the same settings:
    (rendered afresh, served from the anonymous page cache)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for path in paths:
        measured = []
        for seconds in (0, 30):
            settings.PAGE_CACHE_SECONDS = seconds
            client = Client(HTTP_HOST="127.0.0.1")
            client.get(path)  # warm what legitimately persists between requests
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(path)
            measured.append(len(ctx.captured_queries) if response.status_code == 200 else -1)
        counts[path] = (measured[0], measured[1])
    return counts


def _client_worker(args):
    port, path, seconds, out = args
    latencies = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    end = time.monotonic() + seconds
    errors = 0
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Host": "127.0.0.1"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - t0)
    out.put((latencies, errors))


WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95),
    summary.errors.status, summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout, summary.bytes))
end
"""


def load_wrk(port: int, path: str, seconds: float) -> dict[str, float]:
    """`wrk -t2 -c16` (C, one process): spends far less CPU per request than the server, so the
    server's cost is what is measured. The Lua `done` hook prints exact p50/p95 in µs."""
    script = ROOT / "var" / "bench-wrk-report.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(WRK_REPORT)
    out = subprocess.run(
        [
            WRK,
            "-t2",
            "-c16",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            "-H",
            "Host: 127.0.0.1",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if found is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests, duration_us, p50, p95, status_errors, socket_errors, size = map(int, found.groups())
    return {
        "rps": requests / (duration_us / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "errors": status_errors + socket_errors,
        "bytes": size / max(1, requests),
    }


def load(port: int, path: str, seconds: float, clients: int) -> dict[str, float]:
    if clients == 0:
        return load_wrk(port, path, seconds)
    queue: mp.Queue = mp.Queue()
    procs = [
        mp.Process(target=_client_worker, args=((port, path, seconds, queue),))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    if not lat:
        return {"rps": 0.0, "p50": 0.0, "p95": 0.0, "errors": errors}
    return {
        "rps": len(lat) / seconds,
        "p50": statistics.median(lat) * 1000,
        "p95": lat[int(len(lat) * 0.95) - 1] * 1000,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=1_000_000)
    parser.add_argument("--supporters", type=int, default=200_000)
    parser.add_argument("--others", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk" if WRK else "python",
        help="load generator: wrk -t2 -c16 (default when installed) or Python client processes",
    )
    parser.add_argument("--clients", type=int, default=4, help="Python client processes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the database seeded earlier")
    args = parser.parse_args()
    if args.client == "wrk" and not WRK:
        parser.error("wrk is not installed (Debian package wrk)")
    clients = 0 if args.client == "wrk" else args.clients
    client_label = "wrk -t2 -c16" if clients == 0 else f"{args.clients} Python client processes"

    static_root = ROOT / "var" / "bench-static"
    env = env_for_bench(static_root)
    os.environ.update(env)
    python = sys.executable
    if args.reuse:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    else:
        fresh_database(PG, DB_NAME, env)
    subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    t0 = time.monotonic()
    if args.reuse:
        import django

        django.setup()
        from pledges.models import Pledge

        slugs = {"big": "big", "small": "small"}
        args.pledges = Pledge.objects.filter(campaign__slug="big").count()
        print(f"reusing the database {DB_NAME} seeded earlier ({args.pledges:,} pledges)")
    else:
        slugs = seed(args.pledges, args.supporters, args.others)
        print(f"seeding took {time.monotonic() - t0:.0f} s")
    from django.core.cache import cache

    cache.clear()  # the bench's own cache: no page from an earlier database

    pages = {
        "constant view (baseline)": "/bench/constant",
        f"campaign page ({args.pledges:,} pledges)": f"/c/{slugs['big']}/",
        "campaign page (1,000 pledges)": f"/c/{slugs['small']}/",
        "discover page": "/",
        "stats.json": f"/c/{slugs['big']}/stats.json",
    }
    queries = count_queries(list(pages.values()))

    port = free_port()
    gunicorn = subprocess.Popen(
        [
            str(Path(python).parent / "gunicorn"),
            "config.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/constant", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        # The machine is shared: each page is measured in short slices interleaved with the
        # constant view, and its ratio is the median of the per-round ratios, so load that
        # comes and goes during the run hits both sides of each ratio alike.
        available = {name: path for name, path in pages.items() if queries[path][0] >= 0}
        baseline = pages["constant view (baseline)"]
        served = {}
        for path in available.values():
            load(port, path, 1, clients)  # warm up
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                served[path] = r.headers.get("X-Page-Cache", "-")
        slices: dict[str, list[dict[str, float]]] = {name: [] for name in available}
        ratios: dict[str, list[float]] = {name: [] for name in available}
        for _ in range(args.rounds):
            for name, path in available.items():
                base_slice = load(port, baseline, args.seconds / args.rounds, clients)
                page_slice = load(port, path, args.seconds / args.rounds, clients)
                slices[name].append(page_slice)
                ratios[name].append(page_slice["rps"] / max(base_slice["rps"], 1e-9))
        results = {}
        for name in pages:
            if name not in available:
                results[name] = None
                continue
            runs = slices[name]
            results[name] = {
                "rps": statistics.median(r["rps"] for r in runs),
                "p50": statistics.median(r["p50"] for r in runs),
                "p95": statistics.median(r["p95"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                "ratio": statistics.median(ratios[name]),
                "kb": statistics.median(r.get("bytes", 0) for r in runs) / 1024,
            }
    finally:
        gunicorn.terminate()
        gunicorn.wait(10)

    print()
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.machine()} · {os.cpu_count()} cores · "
        f"gunicorn 2 workers, production settings · cache: "
        f"{'Redis' if CACHE_URL else 'locmem'} · client: {client_label} · "
        f"{args.seconds:.0f} s per page "
        f"in {args.rounds} slices interleaved with the constant view (medians)"
    )
    print(
        "| page | req/s | p50 ms | p95 ms | queries/request (rendered / cached) "
        "| X-Page-Cache | kB/response | ratio to constant view |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for name, path in pages.items():
        r = results[name]
        if r is None:
            print(f"| {name} | not available | | | | | | |")
            continue
        rendered, cached = queries[path]
        print(
            f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {rendered} / {cached} "
            f"| {served[path]} | {r['kb']:.1f} | {r['ratio']:.2f} |"
            + (f" ({r['errors']} errors)" if r["errors"] else "")
        )


if __name__ == "__main__":
    main()
