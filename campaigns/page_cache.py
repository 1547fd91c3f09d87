"""A short-lived whole-page cache for anonymous visitors of the busiest public pages.

A campaign page is read far more often than it changes, and its visitors are mostly anonymous
people arriving from a shared link. Serving them a copy rendered a few seconds ago costs one
small indexed query (the page's version) instead of eight queries and a template render.

Only pages that are the same for everyone are cached: the visitor must carry no session or
messages cookie (so nothing personal — a signed-in supporter, a remembered sign-on, a flash
message — can be on the page), and a response that sets a cookie or carries a CSRF token is
never stored. The version is part of the key, so a pledge, a sign-on or an edit in the admin
shows at once; `PAGE_CACHE_SECONDS` bounds how long anything else (the countdown, the listed
Champions, action totals) may lag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

# Cookies that are the same for everyone or carry nothing the page shows.
NEUTRAL_COOKIES = frozenset({"csrftoken"})


def _anonymous_and_cookieless(request: HttpRequest) -> bool:
    if request.method not in {"GET", "HEAD"}:
        return False
    if set(request.COOKIES) - NEUTRAL_COOKIES:
        return False
    return not request.user.is_authenticated


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    session = getattr(request, "session", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.modified)
        and b"csrfmiddlewaretoken" not in response.content
    )


def _cacheable_query(request: HttpRequest, params: frozenset[str]) -> bool:
    """Only the page's own short filter parameters may vary the key: a stranger must not be
    able to fill the cache with one copy per made-up `?x=N`."""
    return set(request.GET) <= params and all(
        len(value) <= 40 for values in request.GET.lists() for value in values[1]
    )


def anonymous_page_cache(version: Callable[..., str | None], params: tuple[str, ...] = ()):
    """Cache the view's page for anonymous, cookieless visitors, keyed on the path, the query
    parameters named in `params` (any other parameter skips the cache) and on
    `version(request, *args, **kwargs)` (None means "do not cache": let the view answer)."""
    allowed = frozenset(params)

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            seconds = settings.PAGE_CACHE_SECONDS
            if (
                seconds <= 0
                or not _anonymous_and_cookieless(request)
                or not _cacheable_query(request, allowed)
            ):
                return view(request, *args, **kwargs)
            current = version(request, *args, **kwargs)
            if current is None:
                return view(request, *args, **kwargs)
            query = sorted((k, v) for k, values in request.GET.lists() for v in values)
            digest = hashlib.sha256(f"{request.path}|{query}|{current}".encode()).hexdigest()
            key = f"page:{view.__module__}.{view.__name__}:{digest}"
            hit = cache.get(key)
            if hit is not None:
                content, content_type = hit
                response = HttpResponse(content, content_type=content_type)
                response["X-Page-Cache"] = "hit"
                patch_vary_headers(response, ("Cookie",))
                return response
            response = view(request, *args, **kwargs)
            if _storable(request, response):
                cache.set(key, (response.content, response["Content-Type"]), seconds)
            return response

        return wrapper

    return decorator
