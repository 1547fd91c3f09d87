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
