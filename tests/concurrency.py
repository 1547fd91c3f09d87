"""Running work at the same moment in several threads, each with its own database connection
(for the PostgreSQL race tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int, job):
        try:
            barrier.wait(10)
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results
