"""Which language a request is served in, and the language switch.

Public pages live in `i18n_patterns` without an English prefix: `/c/<slug>/` is English,
`/es/c/<slug>/` Spanish. A prefixed URL always wins (a shared link opens in the language it was
shared in). An unprefixed public page is English unless the visitor prefers Spanish — by the
language cookie the switch sets, or, on a first visit without it, by the browser's
Accept-Language — and then it redirects to the Spanish URL. Pages outside `i18n_patterns`
(admin, API, webhooks, health) are English; the admin edits both languages of each text.

This runs before the anonymous page cache, so the cache only ever sees a request whose language
is settled by its path, and keys on it.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve, reverse, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from campaigns.page_cache import is_tracking_param

OTHER_LANGUAGES = tuple(code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE)


@lru_cache(maxsize=4096)
def prefixed_path(path_info: str, language: str) -> str | None:
    """`/<language><path_info>` if that is a page of `i18n_patterns` (a public page), else None.
    Remembered per path: the URL map is fixed for the life of the process."""
    candidate = f"/{language}{path_info}"
    with translation.override(language):
        try:
            resolve(candidate)
        except Resolver404:
            return None
    return candidate


def preferred_language(request: HttpRequest) -> str:
    """The cookie the switch sets, else the browser's Accept-Language, else English."""
    return translation.get_language_from_request(request, check_path=False)


class PreferredLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest):
        from_path = translation.get_language_from_path(request.path_info)
        if from_path:
            language = from_path
        else:
            language = preferred_language(request)
            if language != settings.LANGUAGE_CODE and request.method in {"GET", "HEAD"}:
                target = prefixed_path(request.path_info, language)
                if target is not None:
                    query = request.META.get("QUERY_STRING", "")
                    request.language_redirect = target + (f"?{query}" if query else "")
                # Not a public page (admin, API…), or a form posted to an English URL: English.
                language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def __call__(self, request: HttpRequest):
        self.process_request(request)
        target = getattr(request, "language_redirect", None)
        if target is not None:
            response = HttpResponseRedirect(target)
            response.headers["Vary"] = "Accept-Language, Cookie"
            return response
        try:
            response = self.get_response(request)
            return self.process_response(request, response)
        finally:
            # The thread serves the next request (or test) from a clean slate.
            translation.deactivate()


@never_cache
def language_switch(request: HttpRequest, language: str):
    """The switch on every page: remember `language` in a cookie and go to `next` in it."""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    next_url = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    # `next` is resolved in its own language (an /es/ path resolves only under Spanish).
    with translation.override(
        translation.get_language_from_path(next_url) or settings.LANGUAGE_CODE
    ):
        target = translate_url(next_url, language)
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=False,
    )
    return response


def language_context(request: HttpRequest) -> dict:
    """For base.html: the switch to the other language(s) and, on public pages, the hreflang
    alternates (absolute URLs of the same page in each language)."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    path = request.path_info
    english_path = path
    from_path = translation.get_language_from_path(path)
    if from_path:
        english_path = path[len(from_path) + 1 :]
    public = (
        prefixed_path(english_path, OTHER_LANGUAGES[0]) is not None if OTHER_LANGUAGES else False
    )
    alternates = []
    if public:
        for code, _ in settings.LANGUAGES:
            href = english_path if code == settings.LANGUAGE_CODE else f"/{code}{english_path}"
            alternates.append({"code": code, "href": settings.SITE_URL + href})
    # Where a visitor came from (?source=, utm_*) stays out of the link: the page may be cached
    # and served to everyone (campaigns/page_cache.py).
    query = urlencode(
        [(k, v) for k, values in request.GET.lists() if not is_tracking_param(k) for v in values]
    )
    next_url = request.path + (f"?{query}" if query else "")
    switches = [
        {
            "code": code,
            "name": name,
            "url": reverse("language_switch", args=[code]) + "?" + urlencode({"next": next_url}),
        }
        for code, name in settings.LANGUAGES
        if code != current
    ]
    return {
        # Put before a site path ("{{ lang_prefix }}/me/") to stay in the page's language.
        "lang_prefix": "" if current == settings.LANGUAGE_CODE else f"/{current}",
        "language_alternates": alternates,
        "language_default_href": settings.SITE_URL + english_path if public else "",
        "language_switches": switches,
    }
