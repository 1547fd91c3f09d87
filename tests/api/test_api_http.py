"""The OSDI API driven over real HTTP (live server + urllib), as a CRM would call it."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from api.models import ApiKey, ApiRequestLog
from api.services import api_key_revoke
from supporters.models import Supporter
from tests.api.conftest import call

pytestmark = pytest.mark.django_db(transaction=True)

CARD_MARKERS = ("4242", "visa", "pm_test", "cus_test", "seti_", "last4", "brand", "stripe")


def _walk(live_server, first_url, key):
    """Every item of a collection, following `next` links; returns (items, pages seen)."""
    items, pages, url = [], 0, first_url
    while url:
        status, _h, body = call(url, key=key)
        assert status == 200, body
        pages += 1
        (embedded,) = body["_embedded"].values()
        items += embedded
        url = body["_links"].get("next", {}).get("href")
    return items, pages


def test_without_a_key_every_route_is_401(live_server, orgs):
    a, _b = orgs
    for path in ("/api/v1/", "/api/v1/people/", f"/api/v1/fundraising_pages/{a.campaign.pk}/"):
        status, headers, _body = call(live_server.url + path)
        assert status == 401, path
        assert headers.get("WWW-Authenticate", "").startswith("Bearer")
    status, _h, _b = call(live_server.url + "/api/v1/people/", key="rr_nope_forged")
    assert status == 401


def test_a_revoked_key_stops_working_at_once(live_server, orgs):
    a, _b = orgs
    assert call(live_server.url + "/api/v1/people/", key=a.read_key)[0] == 200
    key = ApiKey.objects.get(organization=a.org, scope=ApiKey.Scope.READ)
    api_key_revoke(key=key)
    assert call(live_server.url + "/api/v1/people/", key=a.read_key)[0] == 401


def test_people_are_only_the_consented_paginated_with_next_links_that_resolve(live_server, orgs):
    a, b = orgs
    items, pages = _walk(live_server, f"{live_server.url}/api/v1/people/?per_page=2", a.read_key)
    assert pages == 3
    emails = sorted(p["email_addresses"][0]["address"] for p in items)
    assert emails == sorted(s.email for s in a.consented)
    # Nobody unconsented, unconfirmed, left, or of the other organization: ever.
    text = json.dumps(items)
    for person in a.hidden + b.consented + b.hidden:
        assert person.email not in text
    # Each person's HAL self link resolves to that person.
    for person in items:
        status, _h, body = call(person["_links"]["self"]["href"], key=a.read_key)
        assert status == 200
        assert body["identifiers"] == person["identifiers"]
        page = person["_links"]["osdi:fundraising_page"]["href"]
        assert call(page, key=a.read_key)[0] == 200
    first = call(f"{live_server.url}/api/v1/people/?per_page=2", key=a.read_key)[2]
    assert first["total_records"] == 5
    assert first["total_pages"] == 3
    assert first["_links"]["curies"][0]["name"] == "osdi"
    second = call(first["_links"]["next"]["href"], key=a.read_key)[2]
    assert call(second["_links"]["previous"]["href"], key=a.read_key)[2] == first


def test_an_unconsented_person_is_refused_even_by_id(live_server, orgs):
    a, _b = orgs
    for hidden in a.hidden:
        status, _h, _body = call(f"{live_server.url}/api/v1/people/{hidden.pk}/", key=a.read_key)
        assert status == 403


def test_modified_date_filters_sync_incrementally(live_server, orgs):
    a, _b = orgs
    later = timezone.now() + dt.timedelta(hours=1)
    with time_machine.travel(later, tick=True):
        changed = a.consented[2]
        Supporter.objects.filter(pk=changed.pk).update(name="Renamed", updated_at=timezone.now())
    cut = (later - dt.timedelta(minutes=1)).isoformat()
    base = f"{live_server.url}/api/v1/people/"
    odata = quote(f"modified_date gt '{cut}'")
    for url in (f"{base}?filter={odata}", f"{base}?modified_since={quote(cut)}"):
        status, _h, body = call(url, key=a.read_key)
        assert status == 200, body
        assert [p["given_name"] for p in body["_embedded"]["osdi:people"]] == ["Renamed"]
    before = quote(f"modified_date lt '{cut}'")
    status, _h, body = call(f"{base}?filter={before}", key=a.read_key)
    assert body["total_records"] == 4
    window = quote(f"modified_date ge '2000-01-01T00:00:00Z' AND modified_date le '{cut}'")
    status, _h, body = call(f"{base}?filter={window}", key=a.read_key)
    assert status == 200
    assert body["total_records"] == 4
    status, _h, body = call(f"{base}?filter={quote('name eq x')}", key=a.read_key)
    assert status == 400
    assert "modified_date" in json.dumps(body)
    status, _h, body = call(f"{base}?modified_since=yesterday", key=a.read_key)
    assert status == 400


def test_another_organizations_resources_are_403_and_say_nothing_of_existence(live_server, orgs):
    a, b = orgs
    urls = [
        f"/api/v1/people/{b.consented[0].pk}/",
        f"/api/v1/fundraising_pages/{b.campaign.pk}/",
        f"/api/v1/fundraising_pages/{b.campaign.pk}/donations/",
        f"/api/v1/donations/{b.pledge.pk}/",
        f"/api/v1/petitions/{b.petition.pk}/signatures/",
        f"/api/v1/events/{b.event.pk}/attendances/",
        f"/api/v1/advocacy_campaigns/{b.call.pk}/outreaches/",
    ]
    refusals = set()
    for path in urls:
        status, _h, body = call(live_server.url + path, key=a.read_key)
        assert status == 403, path
        refusals.add(json.dumps(body))
    # An id that exists nowhere gets the very same answer: a 403 confirms nothing.
    status, _h, body = call(f"{live_server.url}/api/v1/people/987654321/", key=a.read_key)
    assert status == 403
    refusals.add(json.dumps(body))
    assert len(refusals) == 1, refusals
    status, _h, _body = call(
        f"{live_server.url}/api/v1/fundraising_pages/{b.campaign.pk}/person_signup/",
        key=a.write_key,
        method="POST",
        body={"person": {}, "consent": {}},
    )
    assert status == 403
    # Lists hold only the key's organization.
    body = call(f"{live_server.url}/api/v1/donations/", key=a.read_key)[2]
    assert [d["identifiers"][0] for d in body["_embedded"]["osdi:donations"]] == [
        f"rallyround:donation-{a.pledge.pk}"
    ]


def test_donations_carry_amount_tier_status_and_no_card_data(live_server, orgs):
    a, _b = orgs
    status, _h, body = call(
        f"{live_server.url}/api/v1/fundraising_pages/{a.campaign.pk}/donations/", key=a.read_key
    )
    assert status == 200
    (donation,) = body["_embedded"]["osdi:donations"]
    assert donation["amount"] == 35.0
    assert donation["amount_cents"] == 3500
    assert donation["tier"] == "champion"
    assert donation["status"] == "pledged"
    # The donor did not consent to the organization: no link to them.
    assert "osdi:person" not in donation["_links"]
    text = json.dumps(body).lower()
    for marker in CARD_MARKERS:
        assert marker not in text, marker


def test_petitions_events_and_outreaches_link_only_consented_people(live_server, orgs):
    a, _b = orgs
    root = call(f"{live_server.url}/api/v1/", key=a.read_key)[2]
    petitions = call(root["_links"]["osdi:petitions"]["href"], key=a.read_key)[2]
    (petition,) = petitions["_embedded"]["osdi:petitions"]
    signatures = call(petition["_links"]["osdi:signatures"]["href"], key=a.read_key)[2]
    assert signatures["total_records"] == 2
    linked = [s for s in signatures["_embedded"]["osdi:signatures"] if "osdi:person" in s["_links"]]
    assert len(linked) == 1
    assert call(linked[0]["_links"]["osdi:person"]["href"], key=a.read_key)[0] == 200
    assert call(linked[0]["_links"]["self"]["href"], key=a.read_key)[0] == 200
    events = call(root["_links"]["osdi:events"]["href"], key=a.read_key)[2]
    (event,) = events["_embedded"]["osdi:events"]
    attendances = call(event["_links"]["osdi:attendances"]["href"], key=a.read_key)[2]
    assert attendances["total_records"] == 1
    campaigns = call(root["_links"]["osdi:advocacy_campaigns"]["href"], key=a.read_key)[2]
    (advocacy,) = campaigns["_embedded"]["osdi:advocacy_campaigns"]
    assert advocacy["type"] == "phone"
    assert advocacy["targets"][0]["title"] == "U.S. Senator (CA)"
    assert call(advocacy["_links"]["osdi:outreaches"]["href"], key=a.read_key)[0] == 200


def test_rate_limit_answers_429_with_retry_after(live_server, orgs, settings):
    a, b = orgs
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    url = f"{live_server.url}/api/v1/people/"
    statuses = [call(url, key=a.read_key)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    status, headers, _body = call(url, key=a.read_key)
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 60
    # The limit is per key: the other organization's key still works.
    assert call(url, key=b.read_key)[0] == 200


def test_every_request_is_logged_with_the_keys_name(live_server, orgs):
    a, _b = orgs
    call(f"{live_server.url}/api/v1/people/?per_page=1", key=a.read_key)
    log = ApiRequestLog.objects.get()
    assert (log.key_name, log.method, log.status_code) == ("Alpha CRM", "GET", 200)
    assert log.path == "/api/v1/people/?per_page=1"
    assert ApiKey.objects.get(name="Alpha CRM").last_used_at is not None


def _signup(live_server, a, key, email, name="Rosa", consent=True):
    return call(
        f"{live_server.url}/api/v1/fundraising_pages/{a.campaign.pk}/person_signup/",
        key=key,
        method="POST",
        body={
            "person": {
                "given_name": name,
                "family_name": "Parks",
                "email_addresses": [{"address": email}],
                "postal_addresses": [{"postal_code": "94609"}],
            },
            "consent": {"organization": consent, "updates": True, "wording": "Yes, contact me."},
        },
    )


def test_person_signup_invites_an_ally_who_appears_only_after_confirming(
    live_server, orgs, celery_eager
):
    a, _b = orgs
    status, _h, body = _signup(live_server, a, a.write_key, "New@Example.org")
    assert status == 202, body
    supporter = Supporter.objects.get(campaign=a.campaign, email="new@example.org")
    assert supporter.confirmed_at is None
    assert supporter.consent_org
    assert supporter.consent_org_text == "Yes, contact me."
    assert supporter.source == "api:Alpha site"
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    people = call(f"{live_server.url}/api/v1/people/", key=a.read_key)[2]
    assert "new@example.org" not in json.dumps(people)


def test_person_signup_never_alters_an_existing_record(live_server, orgs, celery_eager):
    a, _b = orgs
    confirmed, unconfirmed, left = a.hidden[0], a.hidden[1], a.hidden[2]
    targets = [confirmed, unconfirmed, left, a.consented[1]]
    before = [
        {f.attname: getattr(s, f.attname) for f in Supporter._meta.concrete_fields} for s in targets
    ]
    for supporter in targets:
        status, _h, _body = _signup(live_server, a, a.write_key, supporter.email, name="Mallory")
        assert status == 202
    for supporter, was in zip(targets, before, strict=True):
        supporter.refresh_from_db()
        now = {f.attname: getattr(supporter, f.attname) for f in Supporter._meta.concrete_fields}
        assert now == was
    # The same answer whether or not the address was known: nothing to enumerate.
    assert (
        _signup(live_server, a, a.write_key, "fresh@example.org")[2]
        == _signup(live_server, a, a.write_key, confirmed.email)[2]
    )


def test_a_read_key_cannot_write_and_bad_input_is_a_clear_400(live_server, orgs):
    a, _b = orgs
    assert _signup(live_server, a, a.read_key, "x@example.org")[0] == 403
    status, _h, body = call(
        f"{live_server.url}/api/v1/fundraising_pages/{a.campaign.pk}/person_signup/",
        key=a.write_key,
        method="POST",
        body={"person": {"given_name": "X", "email_addresses": [{"address": "not-an-email"}]}},
    )
    assert status == 400
    assert "consent" in body
    assert "person" in body
    assert not Supporter.objects.filter(email="x@example.org").exists()


def test_openapi_docs_are_served_without_any_external_host(live_server):
    status, headers, schema = call(f"{live_server.url}/api/schema/")
    assert status == 200
    assert "/api/v1/people/" in schema["paths"]
    assert "/api/v1/fundraising_pages/{id}/person_signup/" in schema["paths"]
    status, _h, page = call(f"{live_server.url}/api/docs/")
    assert status == 200
    assert "swagger-ui" in page
    for line in page.splitlines():
        if "src=" in line or "href=" in line:
            assert "//cdn" not in line, line
            assert "https://" not in line, line


def test_person_signup_shares_the_sign_on_forms_email_budget(
    live_server, orgs, celery_eager, settings
):
    a, _b = orgs
    settings.SIGN_ON_RATE_LIMITS = {**settings.SIGN_ON_RATE_LIMITS, "email": 2}
    confirmed = a.consented[0]
    for _ in range(5):
        assert _signup(live_server, a, a.write_key, confirmed.email)[0] == 202
    assert len(mail.outbox) == 2  # the "you are already signed on" note, twice at most
