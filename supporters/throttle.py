"""Fixed-window rate limits kept in Django's cache (Redis in production).

Used by the Ally sign-on: a form anyone can post to, which sends email, must not become a way
to flood someone's inbox or fill a campaign with junk.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.core.cache import cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    """The address rate limits count: REMOTE_ADDR, unless the request comes from one of
    TRUSTED_PROXIES; then the right-most X-Forwarded-For hop that is not one of our proxies (the
    address our proxy saw; what the client wrote before it is its own words)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = trusted_proxy_networks(tuple(settings.TRUSTED_PROXIES))
    if not _within(remote, proxies):
        return remote or "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else remote


@functools.lru_cache(maxsize=8)
def trusted_proxy_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES as networks; an entry that is not an address or network is ignored
    here (and fails `check --deploy`, see supporters/checks.py)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _within(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)
