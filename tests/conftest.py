"""Shared fixtures: real localstripe and stripe-chaos processes, a Chromium page, factories.

Nothing here is mocked: localstripe is a real HTTP server in its own process, stripe-chaos is
the project's fault-injecting proxy in front of it, and the browser is Debian's Chromium.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[1]
CHAOS = ROOT.parent / "shared" / "stripe-chaos" / "stripe_chaos.py"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "var" / "screenshots"
# localstripe pickles its whole store on every write unless told not to: start it without that.
LOCALSTRIPE = (
    "import sys, localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from localstripe.server import start; "
    "sys.argv = ['localstripe', '--port', sys.argv[1], '--from-scratch']; start()"
)

# Every factory-made user gets a hashed password, and PBKDF2's million rounds take ~0.4 s here:
# across the suite that was minutes of CI. Tests hash with MD5; PBKDF2 stays listed so a hash a
# test makes on purpose for another process (gunicorn, Celery: production settings) still checks.
django_settings.PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *django_settings.PASSWORD_HASHERS,
]

# WhiteNoise (finders on outside production) lists every static file when its middleware is made,
# and Django's test Client makes the middleware anew for each Client: ~67 ms each, thousands of
# times (53 s of the permission matrix's 107 s). Looking a file up when it is asked for serves
# the same files without the listing.
django_settings.WHITENOISE_AUTOREFRESH = True

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Tests that start their own processes (Celery workers, gunicorn, the benchmarks) and time what
# they do. `make test` runs the suite on two xdist workers with `--dist loadgroup`: these all go
# to one worker, one after another, so two of them never share the cores or Redis (the
# benchmarks empty their Redis databases) at the same time.
PROCESS_TESTS = {
    "tests/api/test_webhooks_worker.py",
    "tests/bench/test_benchmarks_run.py",
    "tests/e2e/test_production_smoke.py",
    "tests/pledges/test_rabbitmq_broker.py",
    "tests/pledges/test_reliability.py",
    "tests/pledges/test_two_workers_killed.py",
    "tests/pledges/test_worker_killed.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.split("::", 1)[0] in PROCESS_TESTS:
            item.add_marker(pytest.mark.xdist_group("processes"))
    engine = django_settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        skip = pytest.mark.skip(
            reason="needs PostgreSQL for real row locks and concurrency (set DATABASE_URL)"
        )
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
    if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (CI installs it)")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


# --- processes --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def spawn(args: list[str], **kwargs) -> subprocess.Popen:
    # Own process group, so teardown stops exactly this process and its children.
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(args, start_new_session=True, **kwargs)


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def http_json(url: str, method: str = "GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        raw = r.read()
    return json.loads(raw) if raw.strip() else None


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe process for the whole session (its store is emptied per test)."""
    port = free_port()
    proc = spawn([sys.executable, "-c", LOCALSTRIPE, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/js.stripe.com/v3/", proc)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def chaos_url(localstripe_url) -> Iterator[str]:
    """stripe-chaos in front of localstripe: real idempotency keys, faults and a ledger."""
    port = free_port()
    proc = spawn(
        [
            sys.executable,
            str(CHAOS),
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            localstripe_url,
            "--seed",
            "1",
        ]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_chaos/health", proc)
        yield url
    finally:
        stop(proc)


def _point_stripe_at(settings, monkeypatch, api_base: str, js_base: str) -> None:
    from stripe._http_client import HTTPClient

    from pledges import gateway

    # stripe-python still retries each 5xx and lost connection twice (max_network_retries), but
    # after milliseconds, not its 0.5–5 s: a test that makes Stripe fail 100 times would
    # otherwise sleep ~7 s in the client.
    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.005)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0.02)

    settings.STRIPE_API_BASE = api_base
    settings.STRIPE_JS_URL = f"{js_base}/js.stripe.com/v3/"
    settings.STRIPE_SECRET_KEY = "sk_test_rallyround"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_rallyround"
    settings.STRIPE_LOCAL_COMPAT = True
    gateway.reset_client()


@pytest.fixture
def stripe_local(settings, monkeypatch, localstripe_url) -> Iterator[str]:
    """The app talks to localstripe directly; its store starts empty."""
    req = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()
    _point_stripe_at(settings, monkeypatch, localstripe_url, localstripe_url)
    yield localstripe_url
    from pledges import gateway

    gateway.reset_client()


class Chaos:
    """Control of the stripe-chaos proxy from a test."""

    def __init__(self, url: str):
        self.url = url

    def rules(self, *rules: dict) -> None:
        http_json(f"{self.url}/_chaos/rules", "POST", {"rules": list(rules)})

    def clear_rules(self) -> None:
        http_json(f"{self.url}/_chaos/rules", "DELETE")

    def ledger(self) -> dict:
        return http_json(f"{self.url}/_chaos/ledger?key=pledge_id")

    def stats(self) -> dict:
        return http_json(f"{self.url}/_chaos/stats")


@pytest.fixture
def chaos(settings, monkeypatch, localstripe_url, chaos_url) -> Iterator[Chaos]:
    """The app talks to Stripe through stripe-chaos; rules, ledger and keys start empty.

    Stripe.js is served by localstripe directly (the proxy is for the server's calls).
    """
    req = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()
    http_json(f"{chaos_url}/_chaos/reset", "POST")
    _point_stripe_at(settings, monkeypatch, chaos_url, localstripe_url)
    yield Chaos(chaos_url)
    http_json(f"{chaos_url}/_chaos/rules", "DELETE")
    from pledges import gateway

    gateway.reset_client()


# --- browser ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def screenshot(pg, name: str) -> Path:
    """Save a full-page PNG under var/screenshots/ for a person to look at.

    CI's clone is thrown away, so `.ci/run` sets RALLYROUND_SCREENSHOTS=0: the 168 full-page
    PNGs (a phone page at 2x is megapixels to encode) cost ~40 s there for nobody."""
    path = SCREENSHOTS / f"{name}.png"
    if os.environ.get("RALLYROUND_SCREENSHOTS", "1") == "0":
        return path
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from campaigns.page_cache import page_cache_forget_local

    cache.clear()
    page_cache_forget_local()


@pytest.fixture(autouse=True)
def _outbox_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Page tests see every change at once; tests/campaigns/test_page_cache.py turns it on.
    settings.PAGE_CACHE_SECONDS = 0


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


def pytest_sessionstart(session):
    """The Spanish catalogs are built from the committed .po files, as `make install` does."""
    from campaigns.management.commands.compile_catalogs import compile_catalogs

    compile_catalogs()


@pytest.fixture
def celery_eager():
    """Run Celery tasks inline, in the process that queued them. Tasks are still queued only
    from on_commit callbacks (run them with django_capture_on_commit_callbacks(execute=True), or
    transaction=True in browser tests), so ordering against commits stays real; use it where a
    test reads what the task did (the outbox, a charge) and no worker runs."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
