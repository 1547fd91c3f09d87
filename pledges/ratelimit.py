"""A global limit on calls to Stripe, shared by every worker process.

Stripe answers 429 above its rate limit, and a 429 in the middle of a settlement run only slows
it down further. So every HTTP request to Stripe first takes a slot here (the gateway's HTTP
client asks, once per try): a fixed window per second,
counted with an atomic increment in the shared cache (Redis in production, so all workers on all
machines share one count). A caller that finds the current second full sleeps until the next
one. Fixed windows let a burst of up to 2x the limit straddle a boundary; the average over any
few seconds stays at STRIPE_MAX_RPS, which is what Stripe's limiter measures.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache

from config.metrics import SLOT_TIMEOUTS, SLOT_WAIT_SECONDS
from pledges.gateway import GatewayTransientError

_PREFIX = "stripe-rps"
# Set for the length of a web request (WebRequestSlotWait): a person, or Stripe's webhook
# sender, is waiting on the answer, so a slot is waited for only briefly.
_web_wait: ContextVar[float | None] = ContextVar("stripe_slot_web_wait", default=None)


class StripeSlotBusy(GatewayTransientError, TimeoutError):
    """No slot within a web request's short wait: pages say "try again in a moment" (as for
    any transient Stripe error) and webhooks answer 503, which Stripe retries later."""


class WebRequestSlotWait:
    """Middleware: web workers never sit for long waiting for a Stripe slot (the workers'
    charges may hold the rate for minutes); `STRIPE_WEB_SLOT_WAIT_SECONDS` bounds the wait."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _web_wait.set(float(getattr(settings, "STRIPE_WEB_SLOT_WAIT_SECONDS", 2.0)))
        try:
            return self.get_response(request)
        finally:
            _web_wait.reset(token)


def stripe_slot_acquire(*, max_wait_seconds: float | None = None) -> float:
    """Block until this process may make one Stripe call; return the seconds waited.

    Raises TimeoutError if no slot came within `max_wait_seconds` (a stuck cache or an absurdly
    long queue); the caller then leaves the work for the next run instead of hammering Stripe.
    """
    limit = int(getattr(settings, "STRIPE_MAX_RPS", 20) or 0)
    if limit <= 0:  # 0 turns the limiter off (local experiments)
        return 0.0
    web_wait = _web_wait.get()
    if web_wait is not None:
        max_wait_seconds = web_wait if max_wait_seconds is None else min(max_wait_seconds, web_wait)
    if max_wait_seconds is None:
        max_wait_seconds = float(getattr(settings, "STRIPE_SLOT_WAIT_SECONDS", 60.0))
    started = time.monotonic()
    while True:
        now = time.time()
        window = int(now)
        key = f"{_PREFIX}:{window}"
        # incr() is atomic in Redis and in locmem, and refuses a key that is not there: only
        # the window's first call (or one that finds it expired) starts the count with add(),
        # atomic set-if-absent. One round trip to the cache per request, not two.
        try:
            count = cache.incr(key)
        except ValueError:
            cache.add(key, 0, timeout=5)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr: take the next round
                continue
        if count <= limit:
            waited = time.monotonic() - started
            SLOT_WAIT_SECONDS.observe(waited)
            return waited
        if time.monotonic() - started > max_wait_seconds:
            SLOT_TIMEOUTS.inc()
            if web_wait is not None:
                raise StripeSlotBusy("no Stripe rate-limit slot in time", code="rate_limit_wait")
            raise TimeoutError("no Stripe rate-limit slot within the wait budget")
        # Until the next window, or the end of the wait budget if that comes first.
        budget_left = max_wait_seconds - (time.monotonic() - started)
        time.sleep(max(0.0, min(window + 1 - time.time(), budget_left)) + 0.001)
