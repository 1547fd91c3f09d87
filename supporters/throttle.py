"""Fixed-window rate limits kept in Django's cache (Redis in production).

Used by the Ally sign-on: a form anyone can post to, which sends email, must not become a way
to flood someone's inbox or fill a campaign with junk.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def throttle_hit(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under `key`; True while the count stays within `limit` for the window.

    The window starts at the first attempt (cache.add is atomic, incr is atomic on Redis)."""
    full_key = f"throttle:{key}"
    cache.add(full_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(full_key)
    except ValueError:  # expired between add and incr
        cache.set(full_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def sign_on_allowed(request) -> bool:
    """Count one sign-on without an account (Ally, petition, take action) against the client
    address's hourly budget, SIGN_ON_RATE_LIMITS["ip"], shared by all those forms."""
    limits = settings.SIGN_ON_RATE_LIMITS
    return throttle_hit(
        key=f"sign-on-ip:{client_ip(request)}",
        limit=limits["ip"],
        window_seconds=limits["window_seconds"],
    )


def sign_on_email_allowed(*, scope: str, email: str) -> bool:
    """Count one confirmation email to `email` for `scope` (a campaign or an action) against
    SIGN_ON_RATE_LIMITS["email"], so nobody floods someone else's inbox."""
    limits = settings.SIGN_ON_RATE_LIMITS
    return throttle_hit(
        key=f"sign-on-email:{scope}:{email.lower()}",
        limit=limits["email"],
        window_seconds=limits["window_seconds"],
    )


def client_ip(request) -> str:
    """The client's address by the same rule as allauth's login limits: behind a proxy, set
    ALLAUTH_TRUSTED_PROXY_COUNT (X-Forwarded-For) or ALLAUTH_TRUSTED_CLIENT_IP_HEADER; without
    them only REMOTE_ADDR is trusted, so a client cannot dodge the limit with a forged header."""
    from allauth.account.adapter import get_adapter
    from django.core.exceptions import PermissionDenied

    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return "unknown"
