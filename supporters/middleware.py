"""Remember where a visitor to a campaign came from, until they sign on.

The first visit to `/c/<slug>/…` with `?source=`, `utm_*` parameters or a referrer from another
site is stored in the session, per campaign; the Ally sign-on (and pledges) read it with
`tracking_for(request, slug)`. First touch wins: a later internal click does not overwrite it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SESSION_KEY = "rr_tracking"
PARAMS = ("source", "utm_source", "utm_medium", "utm_campaign")
CAMPAIGN_PATH = re.compile(r"^/c/(?P<slug>[-\w]+)/")


def tracking_from_request(request) -> dict[str, str]:
    """Source fields present on this very request (query string and external referrer)."""
    found = {key: request.GET.get(key, "").strip()[:120] for key in PARAMS}
    referrer = request.META.get("HTTP_REFERER", "")
    if referrer:
        host = urlsplit(referrer).netloc.split(":")[0]
        if host and host != request.get_host().split(":")[0]:
            found["referrer"] = referrer[:500]
    return {key: value for key, value in found.items() if value}


def tracking_for(request, slug: str) -> dict[str, str]:
    """What we know about how this visitor reached the campaign `slug`."""
    stored = (
        request.session.get(SESSION_KEY, {}).get(slug, {}) if hasattr(request, "session") else {}
    )
    return (
        {**tracking_from_request(request), **stored} if stored else tracking_from_request(request)
    )


class SourceTrackingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET":
            match = CAMPAIGN_PATH.match(request.path_info)
            if match and hasattr(request, "session"):
                found = tracking_from_request(request)
                if found:
                    store = request.session.get(SESSION_KEY, {})
                    if match["slug"] not in store:
                        store[match["slug"]] = found
                        # Keep the session small: at most 20 campaigns remembered.
                        request.session[SESSION_KEY] = dict(list(store.items())[-20:])
        return self.get_response(request)
