"""A global limit on calls to Stripe, shared by every worker process.

Stripe answers 429 above its rate limit, and a 429 in the middle of a settlement run only slows
it down further. So every settlement call first takes a slot here: a fixed window per second,
counted with an atomic increment in the shared cache (Redis in production, so all workers on all
machines share one count). A caller that finds the current second full sleeps until the next
one. Fixed windows let a burst of up to 2x the limit straddle a boundary; the average over any
few seconds stays at STRIPE_MAX_RPS, which is what Stripe's limiter measures.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

_PREFIX = "stripe-rps"


def stripe_slot_acquire(*, max_wait_seconds: float | None = None) -> float:
    """Block until this process may make one Stripe call; return the seconds waited.

    Raises TimeoutError if no slot came within `max_wait_seconds` (a stuck cache or an absurdly
    long queue); the caller then leaves the work for the next run instead of hammering Stripe.
    """
    limit = int(getattr(settings, "STRIPE_MAX_RPS", 20) or 0)
    if limit <= 0:  # 0 turns the limiter off (local experiments)
        return 0.0
    if max_wait_seconds is None:
        max_wait_seconds = float(getattr(settings, "STRIPE_SLOT_WAIT_SECONDS", 60.0))
    started = time.monotonic()
    while True:
        now = time.time()
        window = int(now)
        key = f"{_PREFIX}:{window}"
        # add() is atomic set-if-absent; incr() is atomic in Redis and in locmem.
        cache.add(key, 0, timeout=5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: take the next round
            continue
        if count <= limit:
            return time.monotonic() - started
        if time.monotonic() - started > max_wait_seconds:
            raise TimeoutError("no Stripe rate-limit slot within the wait budget")
        time.sleep(max(0.0, window + 1 - time.time()) + 0.001)
