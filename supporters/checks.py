"""`manage.py check --deploy` fails on a deployment where a stranger escapes the rate limits.

Every limit (sign-ons, logins, take-action reports, the new-card page, the photo frame) counts
per client address in the shared cache. Two mistakes undo them all: believing X-Forwarded-For
from anyone (a direct hit with a rotating header is a new visitor each time), and counters kept
per process (each gunicorn worker counts its own share).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.checks import Error, Tags, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, deploy=True)
def rate_limits_hold(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for entry in settings.TRUSTED_PROXIES:
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"TRUSTED_PROXIES entry {entry!r} is not an address or network.",
                    hint="List your load balancers' addresses, e.g. 10.0.0.0/8.",
                    id="rallyround.E001",
                )
            )
            continue
        if network.prefixlen == 0:
            errors.append(
                Error(
                    f"TRUSTED_PROXIES contains {entry!r}: X-Forwarded-For would be believed from "
                    "anyone, so a forged header escapes every rate limit.",
                    hint="List only your load balancers' addresses.",
                    id="rallyround.E001",
                )
            )
    # gunicorn reads FORWARDED_ALLOW_IPS from the environment (the Procfile no longer sets it).
    if "*" in settings.FORWARDED_ALLOW_IPS:
        errors.append(
            Error(
                "FORWARDED_ALLOW_IPS='*' makes gunicorn believe forwarded headers from anyone.",
                hint="Set it to your load balancers' addresses, or leave it unset.",
                id="rallyround.E002",
            )
        )
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in PER_PROCESS_CACHES or not settings.REDIS_URL:
        errors.append(
            Error(
                "Rate-limit counters are kept per process (no shared cache): each web process "
                "would allow the full limit.",
                hint="Set REDIS_URL (and leave CACHE_BACKEND unset).",
                id="rallyround.E003",
            )
        )
    return errors
