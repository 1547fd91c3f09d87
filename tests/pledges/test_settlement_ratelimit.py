"""The global Stripe rate limiter: never more than STRIPE_MAX_RPS slots in any one second,
across threads sharing the cache (as workers share Redis)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from pledges.ratelimit import stripe_slot_acquire


def test_no_second_hands_out_more_slots_than_the_limit(settings):
    settings.STRIPE_MAX_RPS = 5
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(4):
            stripe_slot_acquire()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(stamps) == 12
    per_second = Counter(int(s) for s in stamps)
    assert max(per_second.values()) <= 5
    # 12 slots at 5 a second need at least three distinct seconds.
    assert len(per_second) >= 3
    assert time.time() - started >= 1.0


def test_a_limit_of_zero_turns_the_limiter_off(settings):
    settings.STRIPE_MAX_RPS = 0
    started = time.monotonic()
    for _ in range(100):
        assert stripe_slot_acquire() == 0.0
    assert time.monotonic() - started < 0.5
