"""Prometheus metrics for operators watching a long settlement, scraped at /metrics.

Counters and histograms are prometheus_client's, recorded where the work happens (charges by
outcome and Stripe latency in `pledges.gateway`, rate-limit waits in `pledges.ratelimit`) and
exported through django-prometheus's view: in one process, or — with PROMETHEUS_MULTIPROC_DIR
set for gunicorn and the Celery workers of one machine — summed across its processes. Queue
depth is read from the broker when scraped. /metrics answers platform staff signed in, or a
scraper sending `Authorization: Bearer $METRICS_TOKEN`; anyone else gets 404 (its existence
is nobody else's business).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

CHARGES = Counter(
    "rallyround_charges_total",
    "Off-session charge answers from Stripe, by outcome.",
    ["outcome"],
)
STRIPE_SECONDS = Histogram(
    "rallyround_stripe_request_seconds",
    "How long Stripe took to answer, by operation.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
SLOT_WAIT_SECONDS = Histogram(
    "rallyround_stripe_slot_wait_seconds",
    "Time spent waiting for a slot of the global Stripe rate limit (STRIPE_MAX_RPS).",
    buckets=(0.001, 0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 60),
)
SLOT_TIMEOUTS = Counter(
    "rallyround_stripe_slot_timeouts_total",
    "Stripe calls given up because no rate-limit slot came in time.",
)
QUEUES = ("default", "payments_priority", "payments", "emails_priority", "emails")


@contextmanager
def stripe_timed(operation: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        STRIPE_SECONDS.labels(operation=operation).observe(time.perf_counter() - started)


class QueueDepthCollector:
    """Messages waiting in each Celery queue, read from the broker (Redis or RabbitMQ) at
    scrape time."""

    def collect(self):
        gauge = GaugeMetricFamily(
            "rallyround_celery_queue_depth",
            "Messages waiting in each Celery queue.",
            labels=["queue"],
        )
        broker = getattr(settings, "CELERY_BROKER_URL", "")
        if broker.startswith(("redis://", "rediss://")):
            import redis

            prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
            try:
                client = redis.Redis.from_url(broker, socket_timeout=2)
                for queue in QUEUES:
                    gauge.add_metric([queue], client.llen(f"{prefix}{queue}"))
            except redis.RedisError:
                log.warning("metrics: broker unreachable for queue depth")
        elif broker.startswith(("amqp://", "amqps://", "pyamqp://")):
            for queue, depth in _amqp_depths(broker):
                gauge.add_metric([queue], depth)
        yield gauge


def _amqp_depths(broker: str) -> list[tuple[str, int]]:
    """Each queue's ready messages from RabbitMQ (a passive declare creates nothing; a queue no
    worker has declared yet holds nothing)."""
    from kombu import Connection
    from kombu.exceptions import OperationalError

    depths = []
    conn = Connection(broker, connect_timeout=2)
    try:
        with conn:
            for queue in QUEUES:
                channel = conn.channel()  # a failed passive declare closes its channel
                try:
                    _name, count, _consumers = channel.queue_declare(queue=queue, passive=True)
                except conn.channel_errors:
                    count = 0
                finally:
                    channel.close()
                depths.append((queue, count))
    except (OperationalError, *conn.connection_errors):
        log.warning("metrics: broker unreachable for queue depth")
    return depths


def _allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and secrets.compare_digest(sent[7:], token):
        return True
    from campaigns.selectors import user_is_platform_staff

    return request.user.is_authenticated and user_is_platform_staff(request.user)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition: django-prometheus's export plus the queue depths."""
    from django_prometheus.exports import ExportToDjangoView

    if not _allowed(request):
        raise Http404
    response = ExportToDjangoView(request)
    queues = CollectorRegistry()
    queues.register(QueueDepthCollector())
    response.content = response.content + generate_latest(queues)
    return response
