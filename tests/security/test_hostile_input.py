"""Bad input gets a 4xx or a form error, never a 500 (issue 12 §5).

Every public route (from the URL resolver, as in test_permission_matrix.py) and every admin
changelist filter and add form (from the admin registry) is sent hostile values: non-numeric
ids, dates in the year 9999, empty and oversized bodies. The forms are read from the pages
themselves, so a route, form field or filter added later is covered without touching this file.
"""

from __future__ import annotations

import hmac
import json
import time
from hashlib import sha256
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from campaigns.admin_bounds import ReadOnlyRowsFormSet
from tests.security.test_permission_matrix import _routes

pytestmark = [pytest.mark.django_db, pytest.mark.stripe]

NON_NUMERIC = "abc"
HUGE_NUMBER = "9" * 30
OVERSIZED = "x" * 20_000
HUGE_DATE, HUGE_TIME = "9999-12-31", "23:59"
HUGE_DATETIME = f"{HUGE_DATE}T{HUGE_TIME}"
HOSTILE_QUERY = {"page": NON_NUMERIC, "p": HUGE_NUMBER, "q": OVERSIZED[:3000], "o": "-x"}


class FormReader(HTMLParser):
    """The POST forms of a page: their action and fields (name, kind, current value)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "method": a.get("method", "get").lower(),
                    "action": a.get("action", ""),
                    "fields": [],
                }
            )
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and a.get("name") and a.get("type") not in {"submit", "button", "file"}:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            css = a.get("class", "")
            if "vDateField" in css:
                kind = "date"
            elif "vTimeField" in css:
                kind = "time"
            fields.append({"name": a["name"], "kind": kind, "value": a.get("value", "")})
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "kind": "select", "value": None}
            fields.append(self._select)
        elif tag == "option" and self._select is not None:
            if self._select["value"] is None or "selected" in a:
                self._select["value"] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "kind": "textarea", "value": ""}
            fields.append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data


def post_forms(html: str) -> list[dict]:
    reader = FormReader()
    reader.feed(html)
    return [f for f in reader.forms if f["method"] == "post"]


def hostile_bodies(form: dict) -> dict[str, dict]:
    """The form as a person would fill it, then with one kind of hostile value in every field
    that kind fits."""
    base = {f["name"]: f["value"] or "" for f in form["fields"]}
    huge_dates, non_numeric, oversized = dict(base), dict(base), dict(base)
    for f in form["fields"]:
        name, kind = f["name"], f["kind"]
        if name in {"csrfmiddlewaretoken"}:
            continue
        if kind == "date" or name.endswith("_0") and kind != "hidden":
            huge_dates[name] = HUGE_DATE
        elif kind == "time" or name.endswith("_1") and kind != "hidden":
            huge_dates[name] = HUGE_TIME
        elif kind == "datetime-local" or "deadline" in name or name.endswith(("_at", "_on")):
            huge_dates[name] = HUGE_DATETIME
        if kind in {"select", "hidden", "number", "radio"} or name.endswith(("id", "_pk")):
            non_numeric[name] = NON_NUMERIC
        if kind in {"text", "textarea", "email", "search", "url", "tel", "password"}:
            oversized[name] = OVERSIZED
    return {
        "empty": {},
        "huge dates": huge_dates,
        "non-numeric ids": non_numeric,
        "oversized": oversized,
        "huge numbers": {k: HUGE_NUMBER for k in base},
    }


def _answer(client: Client, method: str, url: str, data=None) -> int:
    return getattr(client, method)(url, data or {}).status_code


# --- URL arguments for the public routes -----------------------------------------------------
def _kwargs(world, name: str, route: str) -> dict | None:
    side = world.a
    pledge = world.supporter_a_row.pledges.first()
    values = {
        "slug": side.campaign.slug,
        "tier": "advocate",
        "kind": "story",
        "item": 1,
        "path": "nothing.png",
        "uidb36": "zz",
        "key": "not-a-key",
    }
    if name.startswith("actions:"):
        values["pk"] = side.action.pk
    elif name.startswith("outreach:"):
        values["pk"] = side.update.pk
    elif name.startswith("supporters:"):
        values["pk"] = world.supporter_a_row.pk
    else:
        values["pk"] = side.campaign.pk
    values["token"] = pledge.token if name.startswith("pledges:") else "not-a-real-token"
    return values


def public_urls(world) -> list[tuple[str, str]]:
    urls = []
    for name, route in sorted(set(_routes())):
        if route.startswith(("admin/", "^admin/", "media/")) or ":" not in name and "/" in name:
            continue
        kwargs = _kwargs(world, name, route)
        wanted = {
            k: v
            for k, v in kwargs.items()
            if f"<{k}>" in route or f":{k}>" in route or f"<{k}>" in route.replace("?P", "")
        }
        try:
            urls.append((name, reverse(name, kwargs=wanted) if wanted else reverse(name)))
        except NoReverseMatch:
            continue
    return urls


def _signed_webhook(body: dict) -> dict:
    payload = json.dumps(body)
    stamp = int(time.time())
    signature = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{stamp}.{payload}".encode(), sha256
    ).hexdigest()
    return {
        "data": payload,
        "content_type": "application/json",
        "HTTP_STRIPE_SIGNATURE": f"t={stamp},v1={signature}",
    }


# --- the tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["anonymous", "supporter_a"])
def test_no_public_page_or_form_answers_500_to_hostile_input(world, role, stripe_local):
    problems = []
    urls = public_urls(world)
    assert len(urls) > 40, urls  # the resolver walk found the site
    for name, url in urls:
        client = world.client(role)
        client.raise_request_exception = False
        response = client.get(url, HOSTILE_QUERY)
        if response.status_code >= 500:
            problems.append(f"GET {url}?hostile query ({name}) as {role}: {response.status_code}")
        page = client.get(url)
        if page.status_code >= 500:
            problems.append(f"GET {url} ({name}) as {role}: {page.status_code}")
        forms = post_forms(page.content.decode(errors="replace")) if page.status_code == 200 else []
        targets = [(f["action"] or url, hostile_bodies(f)) for f in forms]
        # Routes that take POSTs without showing a form (buttons elsewhere, JSON endpoints).
        targets.append((url, {"empty": {}, "oversized": {"x": OVERSIZED}}))
        for action, bodies in targets:
            if action.startswith(("http", "//")):
                continue
            for what, body in bodies.items():
                status = _answer(client, "post", action, body)
                if status >= 500:
                    problems.append(f"POST {action} ({name}, {what}) as {role}: {status}")
    assert not problems, "\n".join(problems)


def test_a_signed_webhook_without_an_object_is_refused_not_a_500(db):
    client = Client(raise_request_exception=False)
    for body in (
        {"id": "evt_hostile_1", "type": "charge.refunded", "data": {}},
        {"id": "evt_hostile_2", "type": "charge.refunded"},
        {"id": "evt_hostile_3", "type": "payment_intent.succeeded", "data": {"object": None}},
        {"id": "evt_hostile_4", "type": "setup_intent.succeeded", "data": {"object": "abc"}},
    ):
        response = client.post("/stripe/webhook/", **_signed_webhook(body))
        assert response.status_code == 400, (body, response.status_code)


def _admin_filter_params(model_admin, request) -> list[str]:
    params = []
    for entry in model_admin.get_list_filter(request):
        spec = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(spec, type) and issubclass(spec, SimpleListFilter):
            params.append(spec.parameter_name)
        elif isinstance(spec, str):
            params += [f"{spec}__exact", f"{spec}__id__exact", f"{spec}__isnull", f"{spec}__gte"]
    if model_admin.date_hierarchy:
        params += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    return params


def test_no_admin_changelist_filter_answers_500_to_hostile_values(world):
    client = world.client("staff")
    client.raise_request_exception = False
    request = RequestFactory().get("/")
    request.user = world.users["staff"]
    problems, walked = [], 0
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for param in _admin_filter_params(model_admin, request):
            for value in (NON_NUMERIC, HUGE_NUMBER, "99999", "-1", "9999-12-31", OVERSIZED[:2000]):
                walked += 1
                status = client.get(url, {param: value}).status_code
                if status >= 500:
                    problems.append(f"GET {url}?{param}={value[:20]}: {status}")
        for query in ({"p": NON_NUMERIC}, {"o": "99.x"}, {"q": OVERSIZED[:3000]}, {"e": "1"}):
            status = client.get(url, query).status_code
            if status >= 500:
                problems.append(f"GET {url}?{query}: {status}")
    assert walked > 20
    assert not problems, "\n".join(problems)


def _post_hostile(client: Client, form: dict, action: str, shown_at: tuple[str, ...]) -> list:
    problems = []
    for what, body in hostile_bodies(form).items():
        status = _answer(client, "post", action, body)
        if status >= 500:
            problems.append(f"POST {action} ({what}): {status}")
        # A value that was saved must not break the pages that show it. Only a redirect saved
        # anything: the form shown again with its errors (200) changed nothing.
        if status not in {301, 302, 303}:
            continue
        for again in shown_at:
            status = _answer(client, "get", again)
            if status >= 500:
                problems.append(f"GET {again} after POST ({what}): {status}")
    return problems


@pytest.mark.parametrize("view", ["add", "change"])
def test_no_admin_form_answers_500_to_hostile_values(world, view, stripe_local):
    client = world.client("staff")
    client.raise_request_exception = False
    problems = []
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        if view == "add":
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        else:
            obj = model._default_manager.order_by("pk").first()
            if obj is None:
                continue
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        page = client.get(url)
        if page.status_code >= 500:
            problems.append(f"GET {url}: {page.status_code}")
        if page.status_code != 200:
            continue
        for form in post_forms(page.content.decode(errors="replace")):
            action = form["action"] or url
            if not action.startswith(("http", "//")) and "logout" not in action:
                problems += _post_hostile(client, form, action, shown_at=(url, changelist))
    assert not problems, "\n".join(problems)


def test_the_campaign_deadline_in_year_9999_is_a_form_error(world):
    """The named case: a deadline typed as 31 Dec 9999 in a time zone west of UTC was saved,
    and every page that showed it then failed (the instant is past the largest datetime)."""
    client = world.client("staff")
    client.raise_request_exception = False
    draft = world.a.draft
    url = reverse("admin:campaigns_campaign_change", args=[draft.pk])
    (form,) = [
        f
        for f in post_forms(client.get(url).content.decode())
        if any(x["name"].startswith("deadline") for x in f["fields"])
    ]
    body = {**hostile_bodies(form)["huge dates"], "timezone": "America/Los_Angeles"}
    response = client.post(url, body)
    assert response.status_code == 200
    assert "Choose a deadline within" in response.content.decode()
    draft.refresh_from_db()
    assert draft.deadline.year < 9999
    assert client.get(url).status_code == 200
    assert client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 200


def test_a_deadline_extended_to_year_9999_is_a_form_error(world):
    client = world.client("staff")
    client.raise_request_exception = False
    campaign = world.a.campaign
    url = reverse("admin:campaigns_campaign_extend_deadline", args=[campaign.pk])
    response = client.post(url, {"new_deadline": HUGE_DATETIME, "reason": "Because."})
    assert response.status_code == 200
    assert "Choose a deadline within" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.deadline.year < 9999


def test_no_admin_inline_builds_more_forms_than_its_bound_whatever_the_management_form_says(
    world,
):
    """A forged TOTAL_FORMS of a million made Django build max_num + 1,000 forms for every
    inline of the campaign page (~9 s of CPU for one organizer's POST). Each inline is bounded,
    and a POST over the bound is a form error."""
    request = RequestFactory().get("/")
    request.user = world.users["staff"]
    unbounded = []
    for model_admin in admin.site._registry.values():
        for inline in model_admin.get_inline_instances(request):
            formset = inline.get_formset(request)
            if issubclass(formset, ReadOnlyRowsFormSet):
                continue  # shows rows and builds only those (tested below)
            if formset.absolute_max > 300:
                unbounded.append(f"{type(inline).__name__}: {formset.absolute_max}")
    assert not unbounded, unbounded

    campaign = world.a.campaign
    client = world.client("staff")
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    form = next(
        f for f in post_forms(client.get(url).content.decode()) if "sections-TOTAL_FORMS" in str(f)
    )
    body = {f["name"]: f["value"] or "" for f in form["fields"]}
    body["sections-TOTAL_FORMS"] = "1000000"
    answer = client.post(url, body)
    assert answer.status_code == 200
    assert "Please submit at most" in answer.content.decode()

    # A read-only history inline builds its rows, not the count a forged POST claims.
    history = next(
        i
        for i in admin.site._registry[type(campaign)].get_inline_instances(request, campaign)
        if i.formset is ReadOnlyRowsFormSet
    )
    formset_class = history.get_formset(request, campaign)
    forged = {
        f"{formset_class.get_default_prefix()}-TOTAL_FORMS": "1000000",
        f"{formset_class.get_default_prefix()}-INITIAL_FORMS": "1000000",
    }
    shown = formset_class(forged, instance=campaign)
    assert shown.total_form_count() == history.model.objects.filter(campaign=campaign).count()
