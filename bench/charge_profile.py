"""Worker CPU per charge, in-process: where `charging.pledge_charge` spends its CPU.

    python bench/charge_profile.py [--pledges 400] [--top 25] [--log-level WARNING]

Builds a fresh PostgreSQL database (`BENCH_DB`, default `rallyround_bench_profile`), starts
localstripe (store dump off; no stripe-chaos in between, so only our side's CPU is measured),
uses Redis as the broker and as the shared cache behind the Stripe rate limiter (`BENCH_REDIS`,
`BENCH_BROKER_DB`, `BENCH_CACHE_DB`, as `bench/settlement.py`), seeds one campaign with N ACTIVE
pledges, freezes and approves it through the services, marks them due in this process, and then
charges them here, one `pledge_charge` after another, as a payments worker does:

- a few warm-up charges (imports, connections, the first compiled queries);
- half of the rest timed with `time.process_time()` (this process's CPU, no profiler): the
  figure to compare with issue 14's goal of 10 ms per charge, plus SQL statements and Stripe
  HTTP requests per charge;
- the other half under cProfile with `time.process_time` as its clock, printed by own time and
  by cumulative time (the profiler adds its own overhead: read its figures as shares).

The rate limiter runs (STRIPE_MAX_RPS=1000, so it never waits) and receipts are published to the
broker, as in production. localstripe's and PostgreSQL's CPU are other processes: not counted.
Needs PostgreSQL and Redis on 127.0.0.1 (as in CI). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB", "rallyround_bench_profile")

from bench import settlement as bench  # noqa: E402 (BENCH_DB is read when it is imported)

WARM_UP = 10
SLICE = 25  # charges timed between two runs of the reference work: one task's chunk


def profile_env(args, localstripe_url: str, var: Path) -> dict:
    env = bench.bench_env(args, localstripe_url, localstripe_url, var)
    env["LOG_LEVEL"] = args.log_level
    return env


def reference_work(rounds: int = 20_000) -> float:
    """CPU seconds of a fixed pure-Python workload (dicts, strings, calls — what the ORM and
    stripe-python spend their time on). Run between the timed charges, it is slowed by the
    same neighbours on a shared machine: charges per reference is the figure to compare
    between runs made under different loads."""
    start = time.process_time()
    total = 0
    for i in range(rounds):
        row = {"id": i, "status": "paid", "amount_cents": i % 100}
        total += len(f"{row['status']}:{row['id']}") + row["amount_cents"]
    return time.process_time() - start


def charge_all(ids: list[int], pledge_charge) -> dict[str, int]:
    """Charge `ids` one by one in chunks of TASK_CHUNK, each chunk's receipts handed over when
    it ends, as `pledges.tasks.pledges_charge` does."""
    from pledges.services.charging import TASK_CHUNK
    from pledges.services.notify import receipts_held

    counts: dict[str, int] = {}
    for start in range(0, len(ids), TASK_CHUNK):
        with receipts_held():
            for pledge_id in ids[start : start + TASK_CHUNK]:
                report = pledge_charge(pledge_id=pledge_id)
                counts[report.status] = counts.get(report.status, 0) + 1
    return counts


def run(args) -> int:
    var = getattr(bench, "VAR", ROOT / "var" / "bench")  # where build() writes its marks
    (var / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    port = bench.free_port()
    localstripe = bench.spawn(
        [bench.PY, "-c", bench.LOCALSTRIPE, str(port)], log=var / "localstripe-profile.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        bench.wait_http(f"{url}/js.stripe.com/v3/")
        env = profile_env(args, url, var)
        bench.flush_redis(bench.BROKER_DB)
        bench.flush_redis(bench.CACHE_DB)
        bench.fresh_database(bench.PG, bench.DB_NAME, env)
        t0 = time.monotonic()
        due = bench.build(args.pledges, env)
        print(
            f"{args.pledges} pledges seeded, frozen and approved ({due}) in "
            f"{time.monotonic() - t0:.1f}s"
        )
        os.environ.update(env)
        return measure(args)
    finally:
        bench.stop(localstripe)


def measure(args) -> int:
    import django

    django.setup()
    from django.db import connection

    from campaigns.models import Campaign
    from pledges import gateway
    from pledges.models import Pledge
    from pledges.services.charging import pledge_charge
    from pledges.services.settlement import campaign_mark_pledges_due

    campaign = Campaign.objects.get(slug="bench")
    campaign_mark_pledges_due(campaign_id=campaign.pk)
    ids = list(
        Pledge.objects.filter(campaign=campaign, status=Pledge.Status.CHARGE_DUE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    warm, rest = ids[:WARM_UP], ids[WARM_UP:]
    timed, profiled = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    charge_all(warm[:-1], pledge_charge)
    if args.sql:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            charge_all(warm[-1:], pledge_charge)
        print(f"--- the SQL of one charge ({len(captured)} statements) ---")
        for query in captured.captured_queries:
            print(" ", query["sql"][:300])
    else:
        charge_all(warm[-1:], pledge_charge)

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    requests = 0
    http_request = gateway._SlotTakingHttpClient.request

    def counted_request(self, *a, **kw):
        nonlocal requests
        requests += 1
        return http_request(self, *a, **kw)

    gateway._SlotTakingHttpClient.request = counted_request  # type: ignore[method-assign]
    cpu = wall = reference = 0.0
    counts: dict[str, int] = {}
    with connection.execute_wrapper(count):
        for start in range(0, len(timed), SLICE):
            reference += reference_work()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for status, k in charge_all(timed[start : start + SLICE], pledge_charge).items():
                counts[status] = counts.get(status, 0) + k
            cpu += time.process_time() - cpu0
            wall += time.perf_counter() - wall0
    reference /= (len(timed) + SLICE - 1) // SLICE
    gateway._SlotTakingHttpClient.request = http_request  # type: ignore[method-assign]

    profiler = cProfile.Profile(time.process_time)
    cpu1 = time.process_time()
    profiler.enable()
    counts_p = charge_all(profiled, pledge_charge)
    profiler.disable()
    cpu_profiled = time.process_time() - cpu1

    n = max(1, len(timed))
    print(f"outcomes (timed): {counts}; (profiled): {counts_p}")
    under_profile = cpu_profiled * 1000 / max(1, len(profiled))
    print(
        f"CPU per charge: {cpu * 1000 / n:.2f} ms over {len(timed)} charges "
        f"(wall {wall * 1000 / n:.1f} ms; under cProfile {under_profile:.2f} ms)"
    )
    print(
        f"Reference work (pure Python, run between every {SLICE} charges): "
        f"{reference * 1000:.2f} ms "
        f"CPU; a charge costs {cpu / n / reference:.3f} of it (compare runs made under "
        "different loads by this ratio)"
    )
    print(
        f"SQL statements per charge: {statements / n:.1f}; Stripe HTTP requests per charge: "
        f"{requests / n:.2f}"
    )
    calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
    print(
        f"Python function calls per charge (cProfile; does not depend on the machine's load): "
        f"{calls / max(1, len(profiled)):,.0f}"
    )
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(key).print_stats(args.top)
        print(f"\n--- cProfile, by {key} (CPU seconds over {len(profiled)} charges) ---")
        print(out.getvalue().split("\n\n", 2)[-1].rstrip())
    if args.dump:
        profiler.dump_stats(args.dump)
        print(f"profile written to {args.dump}")
    paid = Pledge.objects.filter(campaign=campaign, status=Pledge.Status.PAID).count()
    print(f"paid: {paid} of {len(ids)}")
    return 0 if paid == len(ids) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, default=400)
    parser.add_argument("--top", type=int, default=25, help="functions shown per table")
    parser.add_argument("--rps", type=int, default=1000, help="STRIPE_MAX_RPS (never waits)")
    parser.add_argument(
        "--log-level", default="WARNING", help="LOG_LEVEL (production's default is INFO)"
    )
    parser.add_argument("--sql", action="store_true", help="print the SQL of one charge")
    parser.add_argument("--dump", help="write the cProfile stats to this file")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
