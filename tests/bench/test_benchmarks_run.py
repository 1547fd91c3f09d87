"""Each benchmark runs end to end in a tiny size, so a change that breaks one fails CI.

The figures of a tiny run mean nothing; what is checked is that the benchmark still drives the
real shape (gunicorn + page cache; Celery workers on every settlement queue + localstripe behind
stripe-chaos) to the end and reports a clean result. The full-size runs stay out of `make test`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.bench, pytest.mark.postgres]


def _bench_env(suffix: str) -> dict[str, str]:
    """Where a benchmark may build its own database and use Redis: beside the test database,
    on the test run's Redis database."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.skip("the benchmarks need Redis (set REDIS_URL)")
    db = settings.DATABASES["default"]
    name = db["NAME"]
    if name.startswith("test_"):
        name = name[5:]
    parts = urlsplit(redis_url)
    redis_db = parts.path.strip("/") or "0"
    return {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}},
        "BENCH_PG": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}",
        "BENCH_DB": f"{name}_bench_{suffix}",
        "BENCH_REDIS": f"{parts.scheme}://{parts.netloc}",
        "BENCH_BROKER_DB": os.environ.get("BENCH_BROKER_DB", redis_db),
        "BENCH_CACHE_DB": os.environ.get("BENCH_CACHE_DB", redis_db),
        "BENCH_CACHE_URL": redis_url,
    }


def _run(args: list[str], env: dict[str, str], seconds: int) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_settlement_benchmark_charges_every_pledge_once_in_a_tiny_run():
    out = _run(
        ["bench/settlement.py", "--pledges", "4", "--workers", "1", "--concurrency", "1"]
        + ["--timeout", "90", "--no-lag-probe"],
        _bench_env("settlement"),
        seconds=240,
    )
    assert re.search(r"^\s+4\s+4\s", out, re.M), out
    assert "every pledge charged exactly once" in out, out


def test_the_settlement_benchmark_marks_and_queues_every_pledge_in_a_tiny_mark_only_run():
    out = _run(
        ["bench/settlement.py", "--mark-only", "--pledges", "20", "50", "--timeout", "90"],
        _bench_env("settlement"),
        seconds=240,
    )
    assert re.search(r"^\s+50\s+50\s+[\d.]+\s+[\d.]+\s", out, re.M), out
    assert "every pledge due and queued within 300 s: met." in out, out


def test_the_page_benchmark_serves_every_page_in_a_tiny_run():
    out = _run(
        [
            "bench/pages.py",
            "--pledges",
            "30",
            "--supporters",
            "20",
            "--others",
            "2",
            "--seconds",
            "1",
            "--rounds",
            "1",
        ],
        _bench_env("pages"),
        seconds=240,
    )
    rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 6, out  # the header and five pages
    assert not [row for row in rows if "not available" in row or "errors)" in row], out
    campaign_rows = [row for row in rows if row.startswith("| campaign page")]
    assert len(campaign_rows) == 2
    assert all("| hit |" in row for row in campaign_rows), out
    assert "client: " in out


def test_the_charge_profile_charges_every_pledge_in_a_tiny_run():
    out = _run(
        ["bench/charge_profile.py", "--pledges", "24", "--top", "3"], _bench_env("profile"), 240
    )
    assert "paid: 24 of 24" in out, out
    assert re.search(r"^CPU per charge: [\d.]+ ms", out, re.M), out
