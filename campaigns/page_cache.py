"""A short-lived whole-page cache for anonymous visitors of the busiest public pages.

A campaign page is read far more often than it changes, and on deadline day a crowd of
anonymous people arrives from shared links. A cached copy must cost little more than a view that
returns a constant string, so a hit is served by `PageCacheMiddleware` near the top of the
stack with **at most one small cache read and no database query**: the current version of
what the page depends on is read from the shared cache (or taken from this process's last read
of it, if younger than PAGE_CACHE_VERSION_SECONDS) and compared with the copy this process kept
the last time it served the page (the shared copy, tens of kB, is fetched only when this
process has none at that version); a copy is served only if it was rendered at that version.

Versions live in the cache, not in the database: every write to a campaign row bumps its
page's version after the transaction commits (`page_versions_bump`, called by the Campaign
model and queryset), so a pledge, a sign-on or an edit in the admin shows at once (in another
web process, within PAGE_CACHE_VERSION_SECONDS). A copy is
stored under the version read *before* its page was rendered, so a render that raced a write
is stored under the old version and never served. A missing version (evicted, or a fresh cache)
is started at a new unique value, which orphans every older copy.
`PAGE_CACHE_SECONDS` bounds how long anything else (the countdown, the listed Champions, action
totals) may lag.

Only pages that are the same for everyone are cached: the visitor must carry no session or
messages cookie (so nothing personal — a signed-in supporter, a remembered sign-on, a flash
message — can be on the page), and a response that sets a cookie or carries a CSRF token is
never stored. The headers the inner middleware set on the rendered page (CSP, frame options,
Vary) are stored with it and replayed on a hit; the outer SecurityMiddleware adds its own to
both.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

# Cookies that are the same for everyone or carry nothing the page shows (the source-tracking
# cookie is read only when someone signs on or pledges).
# The language cookie only chooses the URL (config/locale.py redirects before this middleware);
# the page's language comes from its path and is part of the key.
NEUTRAL_COOKIES = frozenset({"csrftoken", "rr_src", settings.LANGUAGE_COOKIE_NAME})
# Where a visitor came from never changes the page: ignored for the key (the source-tracking
# middleware, outside this one, remembers it in a cookie), so every click on a shared link is
# served from the cache.
TRACKING_PARAMS = frozenset({"source", "fbclid", "gclid"})
# Headers that belong to one response only.
_NOT_REPLAYED = frozenset({"set-cookie", "content-length", "x-page-cache"})
VERSION_PREFIX = "page-version:"


@dataclass(frozen=True)
class PageCachePolicy:
    """What `anonymous_page_cache` attaches to a view: the scope whose version the page
    depends on (from the URL's arguments) and the query parameters that may vary the key."""

    scope: Callable[..., str]
    params: frozenset[str]


def anonymous_page_cache(scope: Callable[..., str], params: tuple[str, ...] = ()):
    """Let `PageCacheMiddleware` cache this view's page for anonymous, cookieless visitors,
    keyed on the path, the query parameters named in `params` (any other parameter skips the
    cache) and the current version of `scope(*args, **kwargs)` (the URL's arguments). A view
    with `params` must call `page_cache_skip` when their values name no real page."""
    policy = PageCachePolicy(scope=scope, params=frozenset(params))

    def decorator(view):
        view.page_cache = policy
        return view

    return decorator


def _version_key(scope: str) -> str:
    return VERSION_PREFIX + scope


def page_versions_bump(scopes: Iterable[str]) -> None:
    """Mark the pages of these scopes as changed once the current transaction commits (at
    once outside one): the next visitor gets a fresh render."""
    keys = [_version_key(scope) for scope in scopes]
    if not keys:
        return

    def bump():
        for key in keys:
            _versions_seen.pop(key, None)  # this process sees its own write at once
            # No version yet: the next visitor starts a new one, which orphans older copies.
            with contextlib.suppress(ValueError):
                cache.incr(key)

    transaction.on_commit(bump, robust=True)


def campaign_page_scope(slug: str) -> str:
    """The scope of everything served under /c/<slug>/ that must show a write at once."""
    return f"campaign:{slug}"


def campaign_pages_changed(slugs: Iterable[str]) -> None:
    """The campaigns at these slugs were written: their cached pages are out of date."""
    page_versions_bump(campaign_page_scope(slug) for slug in slugs)


# The versions this process read last, each trusted for PAGE_CACHE_VERSION_SECONDS: on a busy
# page most hits then make no round trip to the cache at all. A bounded LRU.
_VERSIONS_SEEN = 2048
_versions_seen: OrderedDict[str, tuple[float, object]] = OrderedDict()
_clock = time.monotonic


def _version_seen(key: str) -> object | None:
    """The page version at `key`: the one this process read less than
    PAGE_CACHE_VERSION_SECONDS ago, else read from the shared cache now. A read costs a
    network round trip, more than everything else a hit does on this machine (issue 14: a hit
    with it cost 1.5× the constant view's CPU); a write in another process is therefore seen
    within that many seconds, one in this process at once (`page_versions_bump`)."""
    now = _clock()
    with _local_lock:
        seen = _versions_seen.get(key)
        if seen is not None and now < seen[0]:
            return seen[1]
    version = cache.get(key)
    trust = settings.PAGE_CACHE_VERSION_SECONDS
    if version is not None and trust > 0:
        with _local_lock:
            _versions_seen[key] = (now + trust, version)
            _versions_seen.move_to_end(key)
            while len(_versions_seen) > _VERSIONS_SEEN:
                _versions_seen.popitem(last=False)
    return version


def page_cache_forget_local() -> None:
    """Drop this process's copies and the versions it trusts (tests start from nothing)."""
    with _local_lock:
        _local.clear()
        _versions_seen.clear()


def _current_version(key: str) -> int:
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return version


def _anonymous_and_cookieless(request: HttpRequest) -> bool:
    # No session cookie means no signed-in user: the check needs no session or user lookup.
    return request.method in {"GET", "HEAD"} and not (set(request.COOKIES) - NEUTRAL_COOKIES)


def is_tracking_param(key: str) -> bool:
    return key in TRACKING_PARAMS or key.startswith("utm_")


def _page_query(request: HttpRequest) -> dict[str, list[str]]:
    """The query parameters that may change the page: all but `source`, `utm_*` and click ids."""
    return {key: values for key, values in request.GET.lists() if not is_tracking_param(key)}


def _cacheable_query(request: HttpRequest, params: frozenset[str]) -> bool:
    """Only the page's own short filter parameters may vary the key: a stranger must not be
    able to fill the cache with one copy per made-up `?x=N`."""
    query = _page_query(request)
    return set(query) <= params and all(
        len(value) <= 40 for values in query.values() for value in values
    )


def page_cache_skip(request: HttpRequest) -> None:
    """Called by a cached view whose parameters name no real page (a made-up filter value, a
    page number out of range, another spelling of a real value): its response is not stored.
    The key is made of the raw query before the view runs, so a made-up value would otherwise
    be a new copy per request (`?issue=<random>`)."""
    request.page_cache_skip = True


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    return (
        response.status_code == 200
        and not getattr(request, "page_cache_skip", False)
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.modified)
        and not (user is not None and user.is_authenticated)
        and b"csrfmiddlewaretoken" not in response.content
    )


# This process's copies of the pages it served last (each checked against the shared version on
# every request, so never stale): a bounded LRU, a few MB at most.
_LOCAL_COPIES = 256
_local: OrderedDict[str, tuple] = OrderedDict()
_local_lock = threading.Lock()


def _local_copy(key: str) -> tuple | None:
    with _local_lock:
        entry = _local.get(key)
        if entry is not None:
            _local.move_to_end(key)
        return entry


def _local_keep(key: str, entry: tuple) -> None:
    with _local_lock:
        _local[key] = entry
        _local.move_to_end(key)
        while len(_local) > _LOCAL_COPIES:
            _local.popitem(last=False)


class PageCacheMiddleware:
    """Serve cached pages of views marked with `anonymous_page_cache`. Sits right after
    SecurityMiddleware and WhiteNoise, so a hit skips the session, CSRF, auth and CSP work a
    stranger's copy does not need (its stored headers already carry what they added)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        plan = self._plan(request)
        if plan is None:
            return self.get_response(request)
        page_key, version_key = plan
        # Usually no round trip at all (a version read in the last moment), else one tiny GET:
        # the version, checked against this process's own copy. The shared copy (tens of kB)
        # is fetched only when this process has none at that version.
        version = _version_seen(version_key)
        entry = _local_copy(page_key)
        if version is not None and (entry is None or entry[0] != version):
            entry = cache.get(page_key)
            if entry is not None and entry[0] == version:
                _local_keep(page_key, entry)
        if entry is not None and version is not None and entry[0] == version:
            _, headers, content = entry
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response
        if version is None:
            version = _current_version(version_key)
        response = self.get_response(request)
        if _storable(request, response):
            patch_vary_headers(response, ("Cookie",))
            headers = [(k, v) for k, v in response.items() if k.lower() not in _NOT_REPLAYED]
            cache.set(page_key, (version, headers, response.content), settings.PAGE_CACHE_SECONDS)
        return response

    @staticmethod
    def _plan(request: HttpRequest) -> tuple[str, str] | None:
        if settings.PAGE_CACHE_SECONDS <= 0 or not _anonymous_and_cookieless(request):
            return None
        route = _cached_route(request.path_info, get_language())
        if route is None or not _cacheable_query(request, route[1]):
            return None
        prefix, _, version_key = route
        page_query = _page_query(request)
        if not page_query:
            return prefix, version_key
        query = sorted((k, v) for k, values in page_query.items() for v in values)
        return f"{prefix}:{hashlib.sha256(str(query).encode()).hexdigest()}", version_key


@lru_cache(maxsize=2048)
def _cached_route(path_info: str, language: str) -> tuple[str, frozenset[str], str] | None:
    """The page key prefix, allowed parameters and version key of a cacheable path, or None.
    Remembered per path and language (the locale middleware, outside this one, has activated
    the path's language; /es/ paths resolve only under it): the URL map is fixed for the life
    of the process, and resolving a path costs more than everything else a hit does. The key
    names the language, so one language's copy is never served for the other."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    policy: PageCachePolicy | None = getattr(match.func, "page_cache", None)
    if policy is None:
        return None
    scope = policy.scope(*match.args, **match.kwargs)
    path_digest = hashlib.sha256(path_info.encode()).hexdigest()
    return f"page:{language}:{match.view_name}:{path_digest}", policy.params, _version_key(scope)
