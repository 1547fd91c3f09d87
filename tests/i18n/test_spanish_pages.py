"""Every public page in Spanish: walked from the URL resolver (like the permission matrix), each
page that answers with HTML is rendered in English and in Spanish, and a Spanish page fails on
any interface text left in English — a text also shown on the English page that is not campaign
content (anything stored in the database), or an English msgid whose translation differs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern

from tests.security.conftest import world  # noqa: F401  (the shared fixture world)

pytestmark = pytest.mark.django_db

# Names and words that are the same in both languages.
SAME_IN_BOTH = {
    "English",
    "Rallyround",
    "Facebook",
    "WhatsApp",
    "Stripe",
    "OSDI",
    "JSON",
    "PNG",
    "PDF",
    "UTC",
}


def _public_routes():
    """(name, route) of every page under i18n_patterns."""

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = ":".join(filter(None, [namespace, p.name])) if p.name else None
                yield name, prefix + str(p.pattern)

    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and isinstance(p.pattern, LocalePrefixPattern):
            yield from walk(p.url_patterns)


def _fill(name: str, route: str, w) -> str | None:
    """A URL for `route` in the fixture world, or None for routes with no page to read
    (POST-only endpoints, images, JSON, tokens made elsewhere)."""
    a = w.a
    values = {
        "slug": a.campaign.slug,
        "tier": "advocate",
        "kind": "story",
    }
    by_name_pk = {
        "actions": a.action.pk,
        "outreach:update_detail": a.update.pk,
        "supporters:preferences": w.supporter_a_row.pk,
        "supporters:leave": w.supporter_a_row.pk,
    }
    if "<str:token>" in route or "(?P<token>" in route:
        return None
    if name and name.startswith(("pledges:card_", "pledges:cancel", "pledges:webhook")):
        return None
    if route.startswith("^"):
        route = route.lstrip("^").rstrip("$")
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: f"<{m.group(1)}>", route)
    pk = by_name_pk.get(name) or by_name_pk.get((name or "").split(":")[0])

    def rep(match):
        key = match.group(2)
        if key == "pk":
            return str(pk) if pk else "MISSING"
        return str(values.get(key, "MISSING"))

    path = re.sub(r"<(?:(\w+):)?(\w+)>", rep, route)
    if "MISSING" in path or path.endswith((".png", ".json", ".ics")):
        return None
    return "/" + path


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.skip = 0
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self.skip += 1
        for key, value in attrs:
            if key in {"alt", "title", "placeholder", "aria-label"} and value:
                self.chunks.append(value)

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.chunks.append(data)


def _texts(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    return {re.sub(r"\s+", " ", chunk).strip() for chunk in parser.chunks}


def _content() -> set[str]:
    """Every text stored in the database (campaign content, names, addresses)."""
    found = set()
    for model in apps.get_models():
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField)
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            for value in row:
                if value and len(value) >= 3:
                    found.add(re.sub(r"\s+", " ", str(value)).strip())
    return found


def _english_msgids() -> dict[str, str]:
    with (settings.BASE_DIR / "locale/es/LC_MESSAGES/django.po").open("rb") as handle:
        catalog = read_po(handle, locale="es")
    return {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str)
        and m.id
        and not m.context
        and m.string
        and m.string != m.id
        and "%" not in m.id
    }


def _is_content(text: str, content: set[str]) -> bool:
    if text in content:
        return True
    # A short text counts as content only when a stored value is exactly it (a stored sentence
    # containing "days to go" does not excuse the countdown's label).
    return any(
        (len(text) >= 25 and text in value) or (len(value) >= 6 and value in text)
        for value in content
    )


def _english_left(english: set[str], spanish: set[str], content, msgids) -> list[str]:
    left = []
    for text in sorted(spanish):
        words = re.findall(r"[A-Za-z]{3,}", text)
        if not words or set(words) <= SAME_IN_BOTH or _is_content(text, content):
            continue
        if text in msgids or (text in english and len(words) >= 2):
            left.append(text)
    return left


def test_every_public_page_reads_in_spanish(world):  # noqa: F811
    content = _content()
    msgids = _english_msgids()
    problems, walked = {}, []
    for role in ("anonymous", "supporter_a"):
        client = world.client(role)
        for name, route in _public_routes():
            path = _fill(name, route, world)
            if path is None:
                continue
            english = client.get(path)
            spanish = client.get("/es" + path)
            if spanish.status_code != 200 or "text/html" not in spanish.get("Content-Type", ""):
                continue
            walked.append(f"{role} {path}")
            left = _english_left(
                _texts(english.content.decode()), _texts(spanish.content.decode()), content, msgids
            )
            if left:
                problems[f"{role} /es{path}"] = left
    assert len(walked) >= 20, walked
    assert not problems, "\n".join(f"{page}: {texts}" for page, texts in problems.items())
