"""Organizers manage their own organization's keys and endpoints only."""

from __future__ import annotations

import pytest
from django.test import Client

from api.models import ApiKey, WebhookEndpoint
from api.services import api_key_create
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    organizer = UserFactory(email="a.organizer@example.org", is_staff=True)
    mine, theirs = OrganizationFactory(name="Mine"), OrganizationFactory(name="Theirs")
    mine.members.add(organizer)
    client = Client()
    client.force_login(organizer)
    return client, mine, theirs


def test_an_organizer_cannot_make_a_key_or_endpoint_for_another_organization(two_orgs):
    client, _mine, theirs = two_orgs
    response = client.post(
        "/admin/api/apikey/add/", {"organization": theirs.pk, "name": "Planted", "scope": "read"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert "Select a valid choice" in response.content.decode()
    response = client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "organization": theirs.pk,
            "url": "https://evil.example/hook",
            "event_types": ["pledge.paid"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    assert not WebhookEndpoint.objects.exists()


def test_an_organizer_cannot_revoke_another_organizations_key(two_orgs):
    client, _mine, theirs = two_orgs
    key, _raw = api_key_create(organization=theirs, name="Their CRM", scope="read")
    client.post(
        "/admin/api/apikey/",
        {"action": "revoke_selected", "_selected_action": [key.pk], "index": "0"},
    )
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_key_made_in_the_admin_is_stored_hashed_and_revocable(two_orgs):
    client, mine, _theirs = two_orgs
    response = client.post(
        "/admin/api/apikey/add/",
        {"organization": mine.pk, "name": "CRM", "scope": "read_write"},
        follow=True,
    )
    page = response.content.decode()
    key = ApiKey.objects.get()
    assert f"rr_{key.prefix}_" in page
    raw = page.split(f"rr_{key.prefix}_", 1)[1].split(" ", 1)[0]
    assert raw not in key.key_hash
    assert len(key.key_hash) == 64
    client.post(
        "/admin/api/apikey/",
        {"action": "revoke_selected", "_selected_action": [key.pk], "index": "0"},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_plain_http_endpoint_is_refused_in_production(two_orgs, settings):
    client, mine, _theirs = two_orgs
    settings.WEBHOOK_REQUIRE_HTTPS = True
    response = client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "organization": mine.pk,
            "url": "http://crm.example.org/hook",
            "event_types": ["pledge.paid"],
            "is_active": "on",
        },
    )
    assert "Webhook endpoints must use HTTPS." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_old_request_logs_and_webhook_records_are_pruned_but_pending_ones_kept(two_orgs):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from api.models import ApiRequestLog, WebhookDelivery, WebhookEvent
    from api.services import api_records_prune, api_request_log
    from api.webhooks import webhook_endpoint_save

    _client, mine, _theirs = two_orgs
    key, _raw = api_key_create(organization=mine, name="CRM", scope="read")
    endpoint = webhook_endpoint_save(
        organization=mine, url="https://crm.example.org/h", description="", events=[]
    )
    long_ago = timezone.now() - dt.timedelta(days=100)
    with time_machine.travel(long_ago, tick=False):
        api_request_log(key=key, method="GET", path="/api/v1/", status_code=200, duration_ms=3)
        for n, status in enumerate(("succeeded", "pending")):
            event = WebhookEvent.objects.create(
                event_id=f"msg_{n}", organization=mine, type="pledge.paid", payload={}
            )
            WebhookDelivery.objects.create(endpoint=endpoint, event=event, status=status)
    api_request_log(key=key, method="GET", path="/api/v1/people/", status_code=200, duration_ms=3)
    api_records_prune()
    assert list(ApiRequestLog.objects.values_list("path", flat=True)) == ["/api/v1/people/"]
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["msg_1"]


def test_a_new_key_is_shown_in_the_answer_itself_never_kept_in_a_message(two_orgs):
    client, mine, _theirs = two_orgs
    response = client.post(
        "/admin/api/apikey/add/", {"organization": mine.pk, "name": "CRM", "scope": "read"}
    )
    key = ApiKey.objects.get()
    assert response.status_code == 200  # the key's own page, not a redirect carrying a message
    assert response["Cache-Control"].startswith("no-store")
    page = response.content.decode()
    raw = page.split(f"rr_{key.prefix}_", 1)[1].split("<", 1)[0]
    raw = f"rr_{key.prefix}_{raw}"
    assert raw not in str(response.cookies)  # not in the (signed, not encrypted) cookie
    for url in ("/admin/api/apikey/", f"/admin/api/apikey/{key.pk}/change/"):
        assert raw not in client.get(url).content.decode()


def test_a_webhook_secret_is_shown_once_and_a_new_one_by_rotating(two_orgs, settings):
    client, mine, theirs = two_orgs
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # crm.example.org need not resolve here
    response = client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "organization": mine.pk,
            "url": "https://crm.example.org/hook",
            "event_types": ["pledge.paid"],
            "is_active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in str(response.cookies)
    change = client.get(f"/admin/api/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in change
    assert endpoint.secret[-4:] in change  # a hint to tell secrets apart
    old = endpoint.secret
    response = client.post(
        "/admin/api/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk], "index": "0"},
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"].startswith("no-store")
    change = client.get(f"/admin/api/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in change
    # Another organization's endpoint is not rotated (nor shown).
    from api.webhooks import webhook_endpoint_save

    their_endpoint = webhook_endpoint_save(
        organization=theirs, url="https://their.example.org/h", description="", events=[]
    )
    their_secret = their_endpoint.secret
    response = client.post(
        "/admin/api/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [their_endpoint.pk], "index": "0"},
    )
    their_endpoint.refresh_from_db()
    assert their_endpoint.secret == their_secret
