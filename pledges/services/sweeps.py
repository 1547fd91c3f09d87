"""The beat's sweeps (the reconciler, the grace period) as fan-outs of small chunks.

A beat run only finds the work: it walks the ids of a work set in keyset chunks
(`pledges.selectors.ids_in_chunks`), takes a queue mark for each id and sends one Celery task
per chunk of SWEEP_CHUNK ids, for at most SWEEP_SECONDS (the next run goes on with the rest).
Several workers then work the chunks in parallel, so one pledge whose Stripe call hangs holds up
its own chunk only, never the sweep.

The queue mark is a short key in the shared cache (Redis in production), taken with an atomic
`add`: two overlapping runs split the work instead of doubling it, and a run does not queue an
id again while its chunk still waits in the queue. A chunk lifts its marks when it ends, and the
marks of what it did not reach when it stops early (Stripe refused our key, no rate-limit slot),
so the next run queues those again at once. A lost chunk (a worker killed, a broker outage) only
waits for its marks to lapse. The marks never decide anything: each chunk's work is a
conditional claim or UPDATE, so a duplicate chunk, or a foreground run that ignores the marks,
changes nothing twice.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from pledges.models import Pledge
from pledges.selectors import ids_in_chunks
from pledges.services.charging import ENQUEUE_HORIZON, SettlementHalted

log = logging.getLogger(__name__)

# Ids per chunk task: a chunk's worst case is this many Stripe calls each bounded by the
# gateway's timeout and retries, well inside the broker's visibility timeout.
SWEEP_CHUNK = 25

# Longest a beat run spends finding and queueing work before it leaves the rest to the next run.
SWEEP_SECONDS = 60


def payments_queue_wait() -> int:
    """Seconds a chunk sent to the `payments` queue now may wait there, reckoned as the charge
    fan-out reckons its horizon: the charges queued ahead of it (CHARGE_DUE with a queue mark)
    twice over at the Stripe rate, at least ENQUEUE_HORIZON. Marks that last this long keep the
    next runs from queueing the same work again behind a long settlement."""
    queued = Pledge.objects.filter(
        status=Pledge.Status.CHARGE_DUE, next_attempt_at__gt=timezone.now()
    ).count()
    rps = max(1, int(settings.STRIPE_MAX_RPS or 1))
    return int(max(ENQUEUE_HORIZON.total_seconds(), 2 * queued / rps))


@dataclasses.dataclass(frozen=True)
class QueueMarks:
    """The queue marks of one sweep: "queued, leave it alone" for `seconds` at most.

    `kept` marks outlive their chunk on purpose (the reconciler asks Stripe about a pledge
    waiting for 3-D Secure at most every half hour): only the ones a stopped chunk did not
    reach are lifted.
    """

    name: str
    seconds: int
    kept: bool = False

    def key(self, pk: int) -> str:
        return f"sweep:{self.name}:{pk}"

    def take(self, ids: list[int], *, seconds: int | None = None) -> list[int]:
        """Mark the ids nobody holds a mark for; return those (one read for the chunk, then one
        atomic add per id still unmarked, so a concurrent run can take none of them twice)."""
        held = cache.get_many([self.key(pk) for pk in ids])
        timeout = seconds or self.seconds
        return [
            pk
            for pk in ids
            if self.key(pk) not in held and cache.add(self.key(pk), 1, timeout=timeout)
        ]

    def lift(self, ids: list[int]) -> None:
        if ids:
            cache.delete_many([self.key(pk) for pk in ids])


def sweep_fan_out(
    *,
    qs: QuerySet,
    marks: QueueMarks,
    task: Any,
    arg: str,
    deadline: float,
    mark_seconds: int | None = None,
) -> tuple[int, int]:
    """Queue the ids of `qs` to `task` (keyword `arg`), SWEEP_CHUNK per task, each id marked
    first; ids another run has marked are skipped. Stops at `deadline` (time.monotonic()); the
    next run goes on, since what is left is still in `qs` and unmarked. Tasks are sent after
    commit (at once outside a transaction); a broker refusal is logged and the marks lapse.
    Returns (ids queued, tasks sent)."""
    queued = sent = 0
    for ids in ids_in_chunks(qs):
        taken = marks.take(ids, seconds=mark_seconds)
        for start in range(0, len(taken), SWEEP_CHUNK):
            chunk = taken[start : start + SWEEP_CHUNK]
            transaction.on_commit(partial(task.delay, **{arg: chunk}), robust=True)
            sent += 1
        queued += len(taken)
        if time.monotonic() >= deadline:
            break
    return queued, sent


def sweep_chunk_run(
    *,
    ids: list[int],
    handle: Callable[[int], str],
    marks: QueueMarks,
    failed: str,
    stop_at_no_slot: bool = True,
) -> dict[str, int]:
    """Work one chunk: `handle(id)` for each id, counting what each came to (its return value;
    "" counts nothing). Each call is bounded by the gateway's timeouts and retries.

    SettlementHalted (Stripe refused our key) ends the chunk, and so does TimeoutError (no
    rate-limit slot: the rest would wait in vain) unless `stop_at_no_slot` is False (a
    foreground run goes on past it, as an operator expects). Any other error is that id's
    alone: logged with `failed` (a format with one %s for the id), counted under "errors", and
    the chunk goes on. The marks of the ids not reached are lifted, and the others too unless
    the marks are `kept`, so the next run queues again whatever is still to do.
    """
    counts: dict[str, int] = {}
    reached = 0
    try:
        for pk in ids:
            try:
                outcome = handle(pk)
            except SettlementHalted as exc:
                counts["halted"] = 1
                log.error(failed + " (Stripe refused our key: %s); chunk stopped", pk, exc)
                break
            except TimeoutError as exc:
                if stop_at_no_slot:
                    counts["no_slot"] = 1
                    log.error(failed + " (TimeoutError: %s); chunk stopped", pk, exc)
                    break
                counts["errors"] = counts.get("errors", 0) + 1
                log.error(failed + " (TimeoutError: %s); next run", pk, exc)
            except Exception as exc:
                # One id's failure (Stripe unreachable, a row changed under us) must not hold
                # up the others: it stays in the work set and a later run tries it again.
                counts["errors"] = counts.get("errors", 0) + 1
                log.error(failed + " (%s: %s); next run", pk, type(exc).__name__, exc)
            else:
                if outcome:
                    counts[outcome] = counts.get(outcome, 0) + 1
            reached += 1
    finally:
        # The id a stopped chunk was on counts as not reached: it is tried again.
        marks.lift(ids[reached:] if marks.kept else ids)
    return counts
