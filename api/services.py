"""API keys: made (shown once), checked, revoked; every request logged with the key's name."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, ApiRequestLog
from campaigns.models import Organization

KEY_PREFIX = "rr_"
# last_used_at is written at most this often per key (a busy sync would otherwise write per call).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(
    *, organization: Organization, name: str, scope: str, created_by=None
) -> tuple[ApiKey, str]:
    """Make a key for `organization`. Returns (row, raw key): the raw key is shown once and
    never stored (only its SHA-256 and its first characters, to find the row)."""
    if scope not in ApiKey.Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip()[:80],
        scope=scope,
        prefix=prefix,
        key_hash=_hash(raw),
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    return key, raw


def api_key_revoke(*, key: ApiKey) -> bool:
    """Revoke the key at once (the next request with it is a 401). Returns whether it was live."""
    won = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    key.refresh_from_db()
    return bool(won)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The live key `raw` is, or None. Compared in constant time on the hash."""
    raw = (raw or "").strip()
    if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
        return None
    prefix = raw[len(KEY_PREFIX) :].split("_", 1)[0]
    key = (
        ApiKey.objects.select_related("organization")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if key is None or not secrets.compare_digest(key.key_hash, _hash(raw)):
        return None
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Record that the key was used (at most once a minute per key)."""
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


def api_request_log(
    *, key: ApiKey, method: str, path: str, status_code: int, duration_ms: int
) -> None:
    with transaction.atomic():
        ApiRequestLog.objects.create(
            organization_id=key.organization_id,
            api_key=key,
            key_name=key.name,
            method=method[:8],
            path=path[:500],
            status_code=status_code,
            duration_ms=max(0, duration_ms),
        )
        api_key_touch(key=key)


def api_records_prune(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Forget request logs and delivered/abandoned webhook events past API_RECORDS_KEEP_DAYS,
    so the tables stay the size of their useful history. Pending deliveries are never dropped."""
    from django.conf import settings

    from api.models import WebhookDelivery, WebhookEvent

    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.API_RECORDS_KEEP_DAYS)
    requests, _ = ApiRequestLog.objects.filter(created_at__lt=cutoff).delete()
    old_events = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(
        deliveries__status=WebhookDelivery.Status.PENDING
    )
    events, _ = old_events.delete()
    return {"requests": requests, "webhook_records": events}
