"""Organizers make an API key and a webhook endpoint in the admin, in Chromium at desktop and
phone widths (screenshots in var/screenshots/), and the key they were shown works once."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from api.models import ApiKey, WebhookEndpoint
from tests.conftest import screenshot
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.test_deadline_extension_admin import login_cookie
from tests.factories import CampaignFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def organizer():
    user = UserFactory(email="olga.organizer@example.org", is_staff=True)
    org = OrganizationFactory(name="Bay Climate Coalition")
    org.members.add(user)
    CampaignFactory(organization=org, title="Clean buses for Oakland")
    OrganizationFactory(name="Someone Else's Org")
    return user, org


def test_an_organizer_makes_a_key_shown_once_and_a_webhook_endpoint(
    live_server, page, phone_page, organizer
):
    user, org = organizer
    page.context.add_cookies([login_cookie(user)])
    page.goto(f"{live_server.url}/admin/api/apikey/add/")
    # Only their own organization is offered.
    options = page.locator("#id_organization option").all_inner_texts()
    assert "Someone Else's Org" not in options
    page.locator("#id_organization").select_option(label="Bay Climate Coalition")
    page.get_by_label("Name").fill("Our CRM sync")
    page.locator("#id_scope").select_option("read")
    screenshot(page, "api-key-add-desktop")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Copy this key now").wait_for()
    raw = page.get_by_test_id("secret").inner_text().strip()
    assert re.fullmatch(r"rr_[0-9a-f]{8}_\S+", raw)
    screenshot(page, "api-key-created-desktop")
    assert serious_violations(page) == []
    key = ApiKey.objects.get(organization=org)
    assert raw not in key.key_hash  # stored hashed
    request = urllib.request.Request(f"{live_server.url}/api/v1/", headers={"OSDI-API-Token": raw})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["osdi_version"] == "1.1"
    page.goto(f"{live_server.url}/admin/api/apikey/{key.pk}/change/")
    assert raw not in page.content()  # never shown again
    assert "GET /api/v1/" in page.content()  # the request log, with the key's name
    screenshot(page, "api-key-change-desktop")

    page.goto(f"{live_server.url}/admin/api/webhookendpoint/add/")
    page.locator("#id_organization").select_option(label="Bay Climate Coalition")
    page.get_by_label("URL").fill("https://crm.example.org/hooks/rallyround")
    page.get_by_label("Pledge paid").check()
    page.get_by_label("Supporter confirmed").check()
    screenshot(page, "api-webhook-add-desktop")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_text("Copy this signing secret now").wait_for()
    endpoint = WebhookEndpoint.objects.get(organization=org)
    assert endpoint.event_list == ["pledge.paid", "supporter.confirmed"]
    assert page.get_by_test_id("secret").inner_text().strip() == endpoint.secret
    screenshot(page, "api-webhook-secret-desktop")
    assert serious_violations(page) == []
    page.goto(f"{live_server.url}/admin/api/webhookendpoint/{endpoint.pk}/change/")
    page.get_by_text("Verify each delivery").wait_for()
    assert endpoint.secret not in page.content()  # shown once, then only a hint
    screenshot(page, "api-webhook-change-desktop")

    phone_page.context.add_cookies([login_cookie(user)])
    phone_page.goto(f"{live_server.url}/admin/api/apikey/")
    screenshot(phone_page, "api-key-list-phone")
    phone_page.goto(f"{live_server.url}/admin/api/webhookendpoint/{endpoint.pk}/change/")
    screenshot(phone_page, "api-webhook-change-phone")
    assert serious_violations(phone_page) == []
    # A new secret, by rotating from the list, shown once (at phone width here).
    phone_page.goto(f"{live_server.url}/admin/api/webhookendpoint/")
    phone_page.locator(f"input[name=_selected_action][value='{endpoint.pk}']").check()
    phone_page.locator("select[name=action]").select_option("rotate_secret")
    phone_page.locator("button[name=index]").click()  # "Go"
    phone_page.get_by_text("Copy each new secret now").wait_for()
    old_secret = endpoint.secret
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert phone_page.get_by_test_id("secret").inner_text().strip() == endpoint.secret
    screenshot(phone_page, "api-webhook-rotated-phone")
    assert serious_violations(phone_page) == []
