"""Every public and supporter URL, for every role: what each may see, and that nobody reaches
another person's data by putting its id or token in a URL.

The routes come from the URL resolver (admin and allauth's accounts/ have their own tests): a
route added later fails `test_every_route_has_an_expectation` until CHECKS says who may use it.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import ROLES

pytestmark = pytest.mark.django_db

LOGIN = "login"  # redirected to the login page
EVERYONE = ROLES
# Who may not see a draft: the public, supporters and another organization's organizer.
OUTSIDERS = ("anonymous", "supporter_a", "supporter_b", "organizer_b")
EDITORS = ("organizer_a", "staff")  # organizer A and platform staff may preview A's drafts
NOT_SUPPORTER_A = ("supporter_b", "organizer_a", "organizer_b", "staff")


def _routes(patterns=None, prefix="", namespace=""):
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace]))
            yield from _routes(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            name = ":".join(filter(None, [namespace, p.name])) if p.name else route
            yield name, route


def public_routes() -> set[str]:
    return {
        name
        for name, route in _routes()
        if not route.startswith(("admin/", "^admin/", "accounts/", "^accounts/"))
    }


def answers(world, url, expected, *, method="get", data=None, roles=None, content=None):
    """Ask `url` as each role; return what differs from `expected` (a status, a set of
    statuses or LOGIN, for every role in `roles`)."""
    problems = []
    for role in roles or EVERYONE:
        response = getattr(world.client(role), method)(url, data or {})
        status = response.status_code
        if expected == LOGIN:
            ok = status == 302 and response["Location"].startswith(settings.LOGIN_URL)
        elif isinstance(expected, set):
            ok = status in expected
        else:
            ok = status == expected
        if not ok:
            problems.append(f"{method.upper()} {url} as {role}: {status}, expected {expected}")
        if content is not None:
            body = response.content.decode(errors="replace")
            problems += [f"{url} as {role} shows {text!r}" for text in content if text in body]
    return problems


def snapshot(*objs):
    return [{f.attname: getattr(o, f.attname) for f in o._meta.concrete_fields} for o in objs]


def unchanged(*objs):
    before = snapshot(*objs)
    for obj in objs:
        obj.refresh_from_db()
    return before == snapshot(*objs)


def _pledge_of_supporter_a(world):
    from pledges.models import Pledge

    return Pledge.objects.get(supporter=world.supporter_a_row)


# --- campaigns ------------------------------------------------------------------------------
def check_discover(w):
    drafts = [w.a.draft.title, w.b.draft.title, w.a.in_review.title]
    return answers(w, "/", 200, content=drafts)


def check_campaign_detail(w):
    return (
        answers(w, f"/c/{w.a.campaign.slug}/", 200)
        + answers(w, f"/c/{w.a.draft.slug}/", 404, roles=OUTSIDERS)
        + answers(w, f"/c/{w.a.draft.slug}/", 200, roles=EDITORS)
        + answers(w, f"/c/{w.b.draft.slug}/", 404, roles=["organizer_a"])
        + answers(w, "/c/no-such-campaign/", 404)
    )


def check_healthz(w):
    return answers(w, "/healthz", 200, roles=["anonymous"])


def check_language_switch(w):
    # Anyone may switch; the redirect stays on this site (tests/i18n/test_language_choice.py).
    problems = answers(w, "/language/es/?next=/", 302)
    response = w.client("anonymous").get("/language/es/?next=//evil.example/")
    if response["Location"] != "/es/":
        problems.append(f"language switch sent a visitor to {response['Location']}")
    return problems


def check_javascript_catalog(w):
    # The interface strings of static/js, for anyone, in English or Spanish.
    return answers(w, "/jsi18n/", 200) + answers(w, "/es/jsi18n/", 200, roles=["anonymous"])


def check_metrics(w):
    # Platform staff (or a scraper with METRICS_TOKEN, see tests/security/test_metrics.py).
    return answers(w, "/metrics", 404, roles=ROLES[:-1]) + answers(
        w, "/metrics", 200, roles=["staff"]
    )


def check_media(w):
    # Uploaded files only: no way out of MEDIA_ROOT.
    return answers(w, "/media/../config/settings.py", {400, 404}, roles=["anonymous"]) + answers(
        w, "/media/%2e%2e/config/settings.py", {400, 404}, roles=["anonymous"]
    )


# --- supporters -----------------------------------------------------------------------------
def _draft_pages(w, path: str):
    return answers(w, f"/c/{w.a.campaign.slug}/{path}", 200) + answers(
        w, f"/c/{w.a.draft.slug}/{path}", 404, roles=OUTSIDERS
    )


def check_ally(w):
    from supporters.models import Supporter

    problems = _draft_pages(w, "support/ally/")
    before = Supporter.objects.count()
    problems += answers(
        w,
        f"/c/{w.a.draft.slug}/support/ally/",
        404,
        method="post",
        data={"name": "Eve", "email": "eve@example.org", "postal_code": "94609"},
        roles=OUTSIDERS,
    )
    assert Supporter.objects.count() == before
    return problems


def check_ally_check_email(w):
    return _draft_pages(w, "support/ally/check-email/")


def check_ally_thanks(w):
    return _draft_pages(w, "support/ally/thanks/")


def _unconfirmed(w):
    from tests.factories import SupporterFactory

    return SupporterFactory(campaign=w.a.campaign, confirmed_at=None, email="new@people.example")


def check_ally_confirm(w):
    row = _unconfirmed(w)
    problems = answers(w, f"/c/{w.a.campaign.slug}/support/ally/confirm/not-a-token/", 404)
    # A token works only with its own campaign, and a GET (a mail scanner) confirms nothing.
    problems += answers(
        w, f"/c/{w.b.campaign.slug}/support/ally/confirm/{row.confirm_token}/", 404, method="post"
    )
    problems += answers(w, f"/c/{w.a.campaign.slug}/support/ally/confirm/{row.confirm_token}/", 200)
    row.refresh_from_db()
    assert row.confirmed_at is None
    return problems


def check_unsubscribe(w):
    row = w.supporter_a_row
    problems = answers(w, f"/c/{w.a.campaign.slug}/unsubscribe/not-a-token/", 404, method="post")
    problems += answers(
        w, f"/c/{w.b.campaign.slug}/unsubscribe/{row.confirm_token}/", 404, method="post"
    )
    problems += answers(w, f"/c/{w.a.campaign.slug}/unsubscribe/{row.confirm_token}/", 200)
    row.refresh_from_db()
    assert row.consent_updates is True
    return problems


def check_dashboard(w):
    mine = w.supporter_a_row.name
    return (
        answers(w, "/me/", LOGIN, roles=["anonymous"])
        + answers(w, "/me/", 200, roles=NOT_SUPPORTER_A, content=[mine])
        + answers(w, "/me/", 200, roles=["supporter_a"])
    )


def check_preferences(w):
    row = w.supporter_a_row
    url = f"/me/supporting/{row.pk}/preferences/"
    data = {f"s{row.pk}-display_name": "Hijacked", f"s{row.pk}-public_listing": "on"}
    problems = answers(w, url, LOGIN, method="post", data=data, roles=["anonymous"])
    problems += answers(w, url, 404, method="post", data=data, roles=NOT_SUPPORTER_A)
    assert unchanged(row)
    problems += answers(w, url, 302, method="post", data=data, roles=["supporter_a"])
    return problems


def check_leave(w):
    row = w.supporter_a_row
    url = f"/me/supporting/{row.pk}/leave/"
    problems = answers(w, url, LOGIN, method="post", roles=["anonymous"])
    problems += answers(w, url, 404, method="post", roles=NOT_SUPPORTER_A)
    assert unchanged(row)
    return problems


def check_export(w):
    return answers(w, "/me/my-data.json", LOGIN, roles=["anonymous"]) + answers(
        w,
        "/me/my-data.json",
        200,
        roles=NOT_SUPPORTER_A,
        content=[w.supporter_a_row.email, w.supporter_a_row.name],
    )


def check_delete_account(w):
    problems = answers(w, "/me/delete/", LOGIN, roles=["anonymous"])
    problems += answers(w, "/me/delete/", 200, roles=["supporter_b"])
    # Without the password nothing is deleted.
    problems += answers(w, "/me/delete/", 200, method="post", roles=["supporter_b"])
    assert unchanged(w.users["supporter_b"])
    return problems


# --- pledges --------------------------------------------------------------------------------
def check_pledge(w):
    return (
        answers(w, f"/c/{w.a.campaign.slug}/support/advocate/", 200)
        + answers(w, f"/c/{w.a.campaign.slug}/support/champion/", 200)
        + answers(w, f"/c/{w.a.draft.slug}/support/advocate/", 404, roles=OUTSIDERS)
        + answers(w, f"/c/{w.a.campaign.slug}/support/overlord/", 404)
    )


def _own_pledge_page(w, suffix: str, *, method="get", mine=None):
    """A supporter's own pledge page: login first, and another person's token is a 404 (for
    organizers and staff too: these pages are the supporter's, not the admin's)."""
    pledge = _pledge_of_supporter_a(w)
    url = f"/pledges/{pledge.token}/{suffix}"
    problems = answers(w, url, LOGIN, method=method, roles=["anonymous"])
    problems += answers(w, url, 404, method=method, roles=NOT_SUPPORTER_A)
    problems += answers(w, f"/pledges/not-a-token/{suffix}", 404, method=method, roles=ROLES[1:])
    assert unchanged(pledge)
    if mine is not None:
        problems += answers(w, url, mine, method=method, roles=["supporter_a"])
    return problems


def check_pledge_detail(w):
    return _own_pledge_page(w, "", mine=200)


def check_pledge_card(w):
    return _own_pledge_page(w, "card/")


def check_pledge_card_intent(w):
    return _own_pledge_page(w, "card/intent/", method="post")


def check_pledge_card_complete(w):
    return _own_pledge_page(w, "card/complete/", method="post")


def check_pledge_cancel(w):
    problems = _own_pledge_page(w, "cancel/", method="post", mine=302)
    assert _pledge_of_supporter_a(w).status == "canceled"  # only its owner could cancel it
    return problems


def _payment_page(w, suffix):
    # The emailed link's token is the credential; an unknown token is a 404 and changes nothing.
    pledge = _pledge_of_supporter_a(w)
    problems = answers(w, f"/pledges/not-a-token/{suffix}", 404)
    problems += answers(w, f"/pledges/not-a-token/{suffix}", 404, method="post")
    problems += answers(w, f"/pledges/{pledge.token}/{suffix}", 200, roles=["anonymous"])
    assert unchanged(pledge)
    return problems


def check_payment_confirm(w):
    return _payment_page(w, "confirm/")


def check_payment_new_card(w):
    return _payment_page(w, "new-card/")


def check_webhook(w):
    from pledges.models import StripeEvent

    before = StripeEvent.objects.count()
    body = '{"id": "evt_forged", "type": "setup_intent.succeeded", "data": {"object": {}}}'
    problems = answers(w, "/stripe/webhook/", 405, roles=["anonymous"])
    client = w.client("anonymous")
    for headers in ({}, {"HTTP_STRIPE_SIGNATURE": "t=1,v1=deadbeef"}):
        response = client.post("/stripe/webhook/", body, content_type="application/json", **headers)
        if response.status_code != 400:
            problems.append(f"webhook {headers or 'unsigned'}: {response.status_code}")
    assert StripeEvent.objects.count() == before
    return problems


# --- outreach -------------------------------------------------------------------------------
def check_updates(w):
    locked = [w.a.advocates_update.body, w.a.draft_update.title]
    return answers(
        w,
        f"/c/{w.a.campaign.slug}/updates/",
        200,
        roles=["anonymous", "supporter_b"],
        content=locked,
    ) + answers(w, f"/c/{w.a.draft.slug}/updates/", 404, roles=OUTSIDERS)


def check_update_detail(w):
    a = w.a
    base = f"/c/{a.campaign.slug}/updates"
    return (
        answers(w, f"{base}/{a.update.pk}/", 200)
        # Advocates-only: the body never reaches an Ally or a stranger.
        + answers(
            w,
            f"{base}/{a.advocates_update.pk}/",
            403,
            roles=["anonymous", "supporter_b"],
            content=[a.advocates_update.body],
        )
        + answers(w, f"{base}/{a.advocates_update.pk}/", 200, roles=["supporter_a"])
        + answers(w, f"{base}/{a.draft_update.pk}/", 404, roles=OUTSIDERS)
        + answers(w, f"{base}/{a.draft_update.pk}/", 200, roles=EDITORS)
        + answers(w, f"{base}/{w.b.update.pk}/", 404)
    )


def check_updates_unsubscribe(w):
    problems = answers(w, f"/c/{w.a.campaign.slug}/updates/unsubscribe/forged/", 400, method="post")
    assert unchanged(w.supporter_a_row)
    return problems


def check_share_image(w):
    return answers(w, f"/c/{w.a.campaign.slug}/share.png", 200, roles=["anonymous"]) + answers(
        w, f"/c/{w.a.draft.slug}/share.png", 404, roles=OUTSIDERS
    )


def check_embed(w):
    return answers(w, f"/c/{w.a.campaign.slug}/embed/", 200, roles=["anonymous"]) + answers(
        w, f"/c/{w.a.draft.slug}/embed/", 404, roles=OUTSIDERS
    )


def check_stats(w):
    return answers(w, f"/c/{w.a.campaign.slug}/stats.json", 200, roles=["anonymous"]) + answers(
        w, f"/c/{w.a.draft.slug}/stats.json", 404, roles=OUTSIDERS
    )


def check_share_kit(w):
    url = f"/me/share/{w.a.campaign.slug}/"
    return (
        answers(w, url, LOGIN, roles=["anonymous"])
        + answers(w, url, 200, roles=["supporter_a", "supporter_b"])
        + answers(w, url, 404, roles=["organizer_b"])
        + answers(w, f"/me/share/{w.a.draft.slug}/", 404, roles=["supporter_a"])
    )


def _premium(w, url):
    return (
        answers(w, url, LOGIN, roles=["anonymous"])
        + answers(w, url, 403, roles=["supporter_b", "organizer_b"])
        + answers(w, url, 200, roles=["supporter_a"])
    )


def check_share_graphic(w):
    return _premium(w, f"/me/share/{w.a.campaign.slug}/story.png")


def check_badge_png(w):
    return _premium(w, f"/me/badge/{w.a.campaign.slug}.png")


def check_badge(w):
    return _premium(w, f"/me/badge/{w.a.campaign.slug}/")


# --- take action ----------------------------------------------------------------------------
def check_action_list(w):
    return (
        answers(
            w,
            f"/c/{w.a.campaign.slug}/act/",
            200,
            roles=OUTSIDERS,
            content=[w.a.hidden_action.title],
        )
        + answers(w, f"/c/{w.a.draft.slug}/act/", 404, roles=OUTSIDERS)
        + answers(w, f"/c/{w.a.draft.slug}/act/", 200, roles=EDITORS)
    )


def check_action_detail(w):
    import datetime as dt

    from django.utils import timezone

    from actions.models import Action

    a = w.a
    # Issue 16: an advocates-first action not open yet is a teaser for everyone, never a 404.
    upcoming = Action.objects.create(
        campaign=a.campaign,
        kind=Action.Kind.LEARN,
        title="Opens next week",
        published=True,
        starts_at=timezone.now() + dt.timedelta(days=7),
        advocates_first_hours=24,
    )
    return (
        answers(w, f"/c/{a.campaign.slug}/act/{upcoming.pk}/", 200, content=[])
        + answers(w, f"/c/{a.campaign.slug}/act/{a.action.pk}/", 200)
        + answers(w, f"/c/{a.campaign.slug}/act/{a.hidden_action.pk}/", 404, roles=OUTSIDERS)
        + answers(w, f"/c/{a.campaign.slug}/act/{a.hidden_action.pk}/", 200, roles=EDITORS)
        + answers(w, f"/c/{a.campaign.slug}/act/{w.b.action.pk}/", 404)
    )


def check_action_identify(w):
    from supporters.models import Supporter

    before = Supporter.objects.count()
    data = {"name": "Eve", "email": "eve@example.org", "postal_code": "94609"}
    a = w.a
    problems = answers(
        w,
        f"/c/{a.campaign.slug}/act/{a.hidden_action.pk}/who/",
        404,
        method="post",
        data=data,
        roles=OUTSIDERS,
    )
    problems += answers(
        w, f"/c/{a.draft.slug}/act/{a.action.pk}/who/", 404, method="post", data=data
    )
    assert Supporter.objects.count() == before
    return problems


def check_actor_continue(w):
    """The take-action link (issue 12): only a token signed for that row and campaign works,
    and a GET (a mail scanner) proves nothing."""
    from actions.services import actor_link_token

    a = w.a
    row = _unconfirmed(w)
    token = actor_link_token(supporter=row)
    problems = answers(
        w, f"/c/{a.campaign.slug}/act/{a.action.pk}/continue/not-a-token/", 404, method="post"
    )
    problems += answers(
        w, f"/c/{w.b.campaign.slug}/act/{w.b.action.pk}/continue/{token}/", 404, method="post"
    )
    problems += answers(w, f"/c/{a.campaign.slug}/act/{a.action.pk}/continue/{token}/", 200)
    row.refresh_from_db()
    assert row.confirmed_at is None
    return problems


def check_action_forget(w):
    return answers(
        w, f"/c/{w.a.draft.slug}/act/{w.a.action.pk}/not-me/", 404, method="post", roles=OUTSIDERS
    )


def check_call_report(w):
    from actions.models import CallOutcome

    a = w.a
    url = f"/c/{a.campaign.slug}/act/{a.action.pk}/call/"
    b_target = w.b.action.targets.get()
    data = {"target": b_target.pk, "outcome": "talked_to_staff"}
    # A stranger is asked who they are first; nobody can report a call to another campaign's
    # target through this action.
    problems = answers(w, url, 302, method="post", data=data, roles=["anonymous"])
    problems += answers(w, url, 400, method="post", data=data, roles=["supporter_a"])
    problems += answers(
        w, f"/c/{a.campaign.slug}/act/{a.hidden_action.pk}/call/", 404, method="post"
    )
    assert not CallOutcome.objects.exists()
    return problems


def check_call_report_member(w):
    from actions.models import CallOutcome, CallTarget

    a = w.a
    url = f"/c/{a.campaign.slug}/act/{a.action.pk}/call/member/"
    data = {"member": "P000145", "zip": "94609", "outcome": "talked_to_staff"}
    # A stranger is asked who they are first; A's call action reaches no members of Congress,
    # so nobody can count a call to one through it; hidden actions and drafts are 404.
    problems = answers(w, url, 302, method="post", data=data, roles=["anonymous"])
    problems += answers(w, url, 400, method="post", data=data, roles=["supporter_a"])
    problems += answers(
        w, f"/c/{a.campaign.slug}/act/{a.hidden_action.pk}/call/member/", 404, method="post"
    )
    problems += answers(
        w,
        f"/c/{a.draft.slug}/act/{a.action.pk}/call/member/",
        404,
        method="post",
        data=data,
        roles=OUTSIDERS,
    )
    assert not CallOutcome.objects.exists()
    assert not CallTarget.objects.filter(legislator__isnull=False).exists()
    return problems


def check_campaign_resources(w):
    return (
        answers(w, f"/c/{w.a.campaign.slug}/resources/", 200)
        + answers(w, f"/c/{w.a.draft.slug}/resources/", 404, roles=OUTSIDERS)
        + answers(w, f"/c/{w.a.draft.slug}/resources/", 200, roles=EDITORS)
        + answers(w, f"/c/{w.a.campaign.slug}/resources/", 405, method="post")
    )


def _wrong_kind(w, suffix, method="post"):
    # The call action is not an email/event/petition: those endpoints are a 404 for it.
    a = w.a
    return answers(
        w, f"/c/{a.campaign.slug}/act/{a.action.pk}/{suffix}", 404, method=method
    ) + answers(
        w, f"/c/{a.draft.slug}/act/{a.action.pk}/{suffix}", 404, method=method, roles=OUTSIDERS
    )


def check_email_sent(w):
    from actions.models import ActionCompletion

    before = ActionCompletion.objects.count()
    problems = _wrong_kind(w, "sent/")
    problems += answers(
        w,
        f"/c/{w.a.campaign.slug}/act/{w.a.hidden_action.pk}/sent/",
        {302, 404},
        method="post",
        roles=OUTSIDERS,
    )
    assert ActionCompletion.objects.count() == before
    return problems


def check_rsvp(w):
    return _wrong_kind(w, "rsvp/")


def check_ics(w):
    return _wrong_kind(w, "event.ics", method="get")


def check_petition_sign(w):
    return _wrong_kind(w, "sign/")


def check_petition_check_email(w):
    return _wrong_kind(w, "check-email/", method="get")


def check_petition_confirm(w):
    return _wrong_kind(w, "confirm/not-a-token/", method="get")


# --- organizers ------------------------------------------------------------------------------
def check_start(w):
    from organizers.models import OrganizationApplication

    problems = answers(w, "/start/", 200)
    before = OrganizationApplication.objects.count()
    # Refused either way (one client address for every role, so the limit may answer first).
    problems += answers(w, "/start/", {400, 429}, method="post", data={"contact_email": "x"})
    assert OrganizationApplication.objects.count() == before
    return problems


def check_start_thanks(w):
    return answers(w, "/start/thanks/", 200)


def check_invitation(w):
    # An unknown or guessed token opens nothing and makes no account, whoever asks.
    from organizers.models import OrganizerInvitation

    url = "/organizers/invitation/not-a-real-token/"
    problems = answers(w, url, 404) + answers(
        w,
        url,
        404,
        method="post",
        data={"password1": "a long pw 123", "password2": "a long pw 123"},
    )
    assert not OrganizerInvitation.objects.filter(accepted_at__isnull=False).exists()
    return problems


# --- the organizers' API (/api/v1/): a key, never a session ---------------------------------
def _api_key(w, side="a", scope="read"):
    from api.services import api_key_create

    return api_key_create(organization=w.side(side).org, name=f"matrix {side}", scope=scope)[1]


def _api(w, path, own, *, method="get", scope="read", data=None):
    """Every signed-in role (even organizer A and staff) gets 401: the API takes keys only.
    With organization A's key the path answers `own`."""
    from django.test import Client

    problems = answers(w, path, 401, method=method, data=data)
    kwargs = {"HTTP_OSDI_API_TOKEN": _api_key(w, scope=scope)}
    if method == "post":
        kwargs["content_type"] = "application/json"
    status = getattr(Client(), method)(path, data or {}, **kwargs).status_code
    if status != own:
        problems.append(f"{method.upper()} {path} with key A: {status}, expected {own}")
    return problems


def _api_action(w, side, kind):
    from actions.models import Action, ActionCompletion

    action = Action.objects.create(
        campaign=w.side(side).campaign, kind=kind, title=f"{side} {kind}", published=True
    )
    done = ActionCompletion.objects.create(
        action=action, supporter=w.side(side).supporter, counted_at=action.created_at
    )
    return action, done


def check_api_entry(w):
    return _api(w, "/api/v1/", 200)


def check_api_people(w):
    return _api(w, "/api/v1/people/", 200)


def check_api_person(w):
    return (
        _api(w, f"/api/v1/people/{w.a.supporter.pk}/", 200)
        + _api(w, f"/api/v1/people/{w.b.supporter.pk}/", 403)
        + _api(w, f"/api/v1/people/{w.supporter_b_row.pk}/", 403)  # no consent to the org
    )


def check_api_pages(w):
    return _api(w, "/api/v1/fundraising_pages/", 200)


def check_api_page(w):
    return (
        _api(w, f"/api/v1/fundraising_pages/{w.a.campaign.pk}/", 200)
        + _api(w, f"/api/v1/fundraising_pages/{w.a.draft.pk}/", 403)
        + _api(w, f"/api/v1/fundraising_pages/{w.b.campaign.pk}/", 403)
    )


def check_api_page_donations(w):
    return _api(w, f"/api/v1/fundraising_pages/{w.a.campaign.pk}/donations/", 200) + _api(
        w, f"/api/v1/fundraising_pages/{w.b.campaign.pk}/donations/", 403
    )


def check_api_signup(w):
    from supporters.models import Supporter

    before = Supporter.objects.count()
    body = {"person": {"given_name": "Eve", "email_addresses": [{"address": "eve@example.org"}]}}
    body["consent"] = {"organization": True, "wording": "ok"}
    problems = _api(
        w,
        f"/api/v1/fundraising_pages/{w.b.campaign.pk}/person_signup/",
        403,
        method="post",
        scope="read_write",
        data=body,
    )
    problems += _api(
        w,
        f"/api/v1/fundraising_pages/{w.a.campaign.pk}/person_signup/",
        403,
        method="post",
        data=body,
    )
    assert Supporter.objects.count() == before
    return problems


def check_api_donations(w):
    return _api(w, "/api/v1/donations/", 200)


def check_api_donation(w):
    return _api(w, f"/api/v1/donations/{w.a.pledge.pk}/", 200) + _api(
        w, f"/api/v1/donations/{w.b.pledge.pk}/", 403
    )


def _api_kind(w, kind, collection, records):
    mine, mine_done = _api_action(w, "a", kind)
    theirs, theirs_done = _api_action(w, "b", kind)
    base = f"/api/v1/{collection}"
    return {
        "list": lambda: _api(w, f"{base}/", 200),
        # A call action is not a petition or an event: 403 under those.
        "detail": lambda: (
            _api(w, f"{base}/{mine.pk}/", 200)
            + _api(w, f"{base}/{theirs.pk}/", 403)
            + _api(w, f"{base}/{w.a.action.pk}/", 403)
        ),
        "records": lambda: (
            _api(w, f"{base}/{mine.pk}/{records}/", 200)
            + _api(w, f"{base}/{theirs.pk}/{records}/", 403)
        ),
        "record": lambda: (
            _api(w, f"{base}/{mine.pk}/{records}/{mine_done.pk}/", 200)
            + _api(w, f"{base}/{theirs.pk}/{records}/{theirs_done.pk}/", 403)
            + _api(w, f"{base}/{mine.pk}/{records}/{theirs_done.pk}/", 403)
        ),
    }


def check_api_advocacy(w):
    return _api(w, "/api/v1/advocacy_campaigns/", 200)


def check_api_advocacy_detail(w):
    return _api(w, f"/api/v1/advocacy_campaigns/{w.a.action.pk}/", 200) + _api(
        w, f"/api/v1/advocacy_campaigns/{w.b.action.pk}/", 403
    )


def check_api_outreaches(w):
    return _api(w, f"/api/v1/advocacy_campaigns/{w.a.action.pk}/outreaches/", 200) + _api(
        w, f"/api/v1/advocacy_campaigns/{w.b.action.pk}/outreaches/", 403
    )


def check_api_docs(w):
    # The API's description is public (it holds no data).
    return answers(w, "/api/docs/", 200) + answers(w, "/api/schema/", 200, roles=["anonymous"])


def _petition(part):
    return lambda w: _api_kind(w, "petition", "petitions", "signatures")[part]()


def _event(part):
    return lambda w: _api_kind(w, "event", "events", "attendances")[part]()


API_CHECKS = {
    "api:entry": check_api_entry,
    "api:person-list": check_api_people,
    "api:person-detail": check_api_person,
    "api:fundraising_page-list": check_api_pages,
    "api:fundraising_page-detail": check_api_page,
    "api:fundraising_page-donations": check_api_page_donations,
    "api:fundraising_page-person-signup": check_api_signup,
    "api:donation-list": check_api_donations,
    "api:donation-detail": check_api_donation,
    "api:petition-list": _petition("list"),
    "api:petition-detail": _petition("detail"),
    "api:petition-signatures": _petition("records"),
    "api:petition-signature": _petition("record"),
    "api:event-list": _event("list"),
    "api:event-detail": _event("detail"),
    "api:event-attendances": _event("records"),
    "api:event-attendance": _event("record"),
    "api:advocacy_campaign-list": check_api_advocacy,
    "api:advocacy_campaign-detail": check_api_advocacy_detail,
    "api:advocacy_campaign-outreaches": check_api_outreaches,
    "api:schema": check_api_docs,
    "api:docs": check_api_docs,
}


CHECKS = {
    **API_CHECKS,
    "healthz": check_healthz,
    "metrics": check_metrics,
    "language_switch": check_language_switch,
    "javascript-catalog": check_javascript_catalog,
    "media/<path:path>": check_media,
    "campaigns:discover": check_discover,
    "campaigns:detail": check_campaign_detail,
    "supporters:ally": check_ally,
    "supporters:ally_check_email": check_ally_check_email,
    "supporters:ally_confirm": check_ally_confirm,
    "supporters:ally_thanks": check_ally_thanks,
    "supporters:unsubscribe": check_unsubscribe,
    "supporters:dashboard": check_dashboard,
    "supporters:preferences": check_preferences,
    "supporters:leave": check_leave,
    "supporters:export": check_export,
    "supporters:delete_account": check_delete_account,
    "pledges:pledge": check_pledge,
    "pledges:detail": check_pledge_detail,
    "pledges:card": check_pledge_card,
    "pledges:card_intent": check_pledge_card_intent,
    "pledges:card_complete": check_pledge_card_complete,
    "pledges:cancel": check_pledge_cancel,
    "pledges:payment_confirm": check_payment_confirm,
    "pledges:payment_new_card": check_payment_new_card,
    "pledges:webhook": check_webhook,
    "outreach:updates": check_updates,
    "outreach:update_detail": check_update_detail,
    "outreach:unsubscribe": check_updates_unsubscribe,
    "outreach:share_image": check_share_image,
    "outreach:embed": check_embed,
    "outreach:stats": check_stats,
    "outreach:share_kit": check_share_kit,
    "outreach:share_graphic": check_share_graphic,
    "outreach:badge_png": check_badge_png,
    "outreach:badge": check_badge,
    "actions:list": check_action_list,
    "actions:detail": check_action_detail,
    "actions:identify": check_action_identify,
    "actions:forget": check_action_forget,
    "actions:call_report": check_call_report,
    "actions:call_report_member": check_call_report_member,
    "congress:resources": check_campaign_resources,
    "actions:email_sent": check_email_sent,
    "actions:rsvp": check_rsvp,
    "actions:ics": check_ics,
    "actions:petition_sign": check_petition_sign,
    "actions:petition_check_email": check_petition_check_email,
    "actions:petition_confirm": check_petition_confirm,
    "actions:actor_continue": check_actor_continue,
    "organizers:start": check_start,
    "organizers:start_thanks": check_start_thanks,
    "organizers:invitation": check_invitation,
}


def test_every_route_has_an_expectation():
    routes = public_routes()
    assert not sorted(routes - CHECKS.keys()), (
        f"routes with no permission expectation (add them to CHECKS): "
        f"{sorted(routes - CHECKS.keys())}"
    )
    assert not sorted(CHECKS.keys() - routes), f"stale: {sorted(CHECKS.keys() - routes)}"


@pytest.mark.parametrize("route", sorted(CHECKS))
def test_route_answers_each_role_as_expected(world, route):
    problems = CHECKS[route](world)
    assert not problems, "\n".join(problems)


# Views that take POSTs without a CSRF token, and why: Stripe signs its webhooks; mail clients'
# one-click unsubscribe carries a signed token and no cookie.
# The API authenticates each request by its key header, never by a cookie, so a forged
# cross-site request carries no credential (DRF views are CSRF-exempt for that reason).
CSRF_EXEMPT = {"pledges:webhook", "outreach:unsubscribe", *API_CHECKS}


def test_only_the_signed_endpoints_skip_csrf_protection():
    resolver = get_resolver()

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, ":".join(filter(None, [namespace, p.namespace])))
            elif p.name and getattr(p.callback, "csrf_exempt", False):
                yield ":".join(filter(None, [namespace, p.name]))

    exempt = {name for name in walk(resolver.url_patterns) if not name.startswith("admin:")}
    assert exempt == CSRF_EXEMPT, f"views without CSRF protection: {sorted(exempt)}"


@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_login_never_redirects_to_another_site(login_url, settings):
    from django.test import Client

    from tests.factories import UserFactory

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(email="rosa@example.org", password="pw-long-enough-1", is_staff=True)
    field = "login" if login_url.startswith("/accounts") else "username"
    response = Client().post(
        f"{login_url}?next=https://evil.example/steal",
        {field: "rosa@example.org", "password": "pw-long-enough-1"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


UNPROVEN_ACCOUNT_PAGES = (
    ("get", "/me/"),
    ("get", "/me/my-data.json"),
    ("post", "/me/supporting/{pk}/preferences/"),
    ("post", "/me/supporting/{pk}/leave/"),
    ("post", "/me/delete/"),
    ("get", "/me/share/{slug}/"),
    ("get", "/me/badge/{slug}/"),
    ("get", "/pledges/{token}/"),
    ("get", "/pledges/{token}/card/"),
    ("post", "/pledges/{token}/cancel/"),
)


def test_an_account_that_has_not_proven_an_address_reaches_no_record_of_it(world):
    """Issue 12: `Supporter.user` alone is never trusted. An account whose address is not
    verified (a stranger's sign-up with supporter A's address, linked by any path) sees,
    changes and deletes nothing of supporter A's, on every /me/ and pledge page."""
    from allauth.account.models import EmailAddress

    from pledges.models import Pledge
    from supporters.models import Supporter

    row = world.supporter_a_row
    pledge = Pledge.objects.filter(supporter=row).first()
    stranger = world.users["supporter_a"]
    EmailAddress.objects.filter(user=stranger).update(verified=False)
    Supporter.objects.filter(pk=row.pk).update(user=stranger)
    client = Client()
    client.force_login(stranger)
    problems = []
    for method, template in UNPROVEN_ACCOUNT_PAGES:
        url = template.format(pk=row.pk, slug=row.campaign.slug, token=pledge.token)
        response = getattr(client, method)(url, {"confirm_email": row.email})
        body = response.content.decode(errors="replace")
        if response.status_code == 200 and row.name in body:
            problems.append(f"{method.upper()} {url}: shows supporter A's record")
    assert not problems
    assert unchanged(row, pledge)
