"""Remember where a visitor to a campaign came from, until they sign on.

The first visit to `/c/<slug>/…` with `?source=`, `utm_*` parameters or a referrer from another
site is remembered per campaign in a signed cookie (not in a server-side session: a link shared
to thousands would write a session row per click and skip the page cache); the Ally sign-on,
take action and pledges read it with `tracking_for(request, slug)`. First touch wins: a later
internal click does not overwrite it. The cookie changes nothing on the page, so pages stay
cacheable (campaigns/page_cache.py treats it as neutral).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from django.conf import settings

from supporters.models import source_is_reserved

COOKIE = "rr_src"
COOKIE_SALT = "supporters.source-tracking"
COOKIE_MAX_AGE = 30 * 24 * 3600
COOKIE_MAX_CAMPAIGNS = 5  # a browser cookie holds ~4 kB: the five latest campaigns
PARAMS = ("source", "utm_source", "utm_medium", "utm_campaign")
CAMPAIGN_PATH = re.compile(r"^/c/(?P<slug>[-\w]+)/")


def tracking_from_request(request) -> dict[str, str]:
    """Source fields present on this very request (query string and external referrer)."""
    found = {key: request.GET.get(key, "").strip()[:120] for key in PARAMS}
    if source_is_reserved(found["source"]):
        found["source"] = ""  # "demo" marks seed_demo's rows only
    referrer = request.META.get("HTTP_REFERER", "")
    if referrer:
        host = urlsplit(referrer).netloc.split(":")[0]
        if host and host != request.get_host().split(":")[0]:
            found["referrer"] = referrer[:500]
    return {key: value for key, value in found.items() if value}


def _remembered(request) -> dict[str, dict[str, str]]:
    """The signed cookie's campaigns; anything unsigned, stale or malformed counts as nothing."""
    raw = request.get_signed_cookie(COOKIE, default="", salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE)
    try:
        store = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(store, dict):
        return {}
    return {
        slug: {k: v for k, v in fields.items() if isinstance(v, str)}
        for slug, fields in store.items()
        if isinstance(slug, str) and isinstance(fields, dict)
    }


def tracking_for(request, slug: str) -> dict[str, str]:
    """What we know about how this visitor reached the campaign `slug`."""
    stored = _remembered(request).get(slug, {})
    return {**tracking_from_request(request), **stored}


class SourceTrackingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        remember = None
        if request.method == "GET":
            match = CAMPAIGN_PATH.match(request.path_info)
            found = tracking_from_request(request) if match else {}
            if found:
                store = _remembered(request)
                if match["slug"] not in store:
                    # The referrer is cut shorter than on the supporter row to fit the cookie.
                    store[match["slug"]] = {k: v[:200] for k, v in found.items()}
                    remember = dict(list(store.items())[-COOKIE_MAX_CAMPAIGNS:])
        response = self.get_response(request)
        if remember is not None:
            response.set_signed_cookie(
                COOKIE,
                json.dumps(remember, separators=(",", ":")),
                salt=COOKIE_SALT,
                max_age=COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
