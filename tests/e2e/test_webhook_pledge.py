"""A pledge made in Chromium (against localstripe) reaches the organization's CRM: a real HTTP
receiver on loopback gets it signed, verifies it, and gets it once although it answered 500
twice (the retries run from the beat sweep as time moves on)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.utils import timezone

from api.models import WebhookAttempt
from api.tasks import webhook_deliveries_due
from api.webhooks import webhook_endpoint_save
from tests.api.test_webhooks import Receiver
from tests.e2e.test_pledge_flow import fill_card, fill_pledge_form, login_cookie
from tests.factories import CampaignFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_pledge_made_in_the_browser_arrives_signed_once(
    live_server, page, stripe_local, celery_eager, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # the CRM's receiver listens on loopback
    campaign = CampaignFactory(title="Clean air near every school", slug="clean-air")
    holder: dict = {}
    crm = Receiver(holder, [500, 500])
    try:
        endpoint = webhook_endpoint_save(
            organization=campaign.organization,
            url=crm.url,
            description="CRM",
            events=["pledge.created"],
        )
        holder["secret"] = endpoint.secret
        # A signed-in supporter whose address is verified pledges $20 as an Advocate.
        rosa = UserFactory(email="rosa@example.org")
        EmailAddress.objects.create(user=rosa, email=rosa.email, verified=True, primary=True)
        page.context.add_cookies([login_cookie(rosa)])
        page.goto(f"{live_server.url}/c/{campaign.slug}/support/advocate/")
        fill_pledge_form(page, "20")
        page.get_by_role("button", name="Continue to card details").click()
        page.wait_for_url(re.compile(r"/pledges/[^/]+/card/$"))
        page.locator("#card-element input[placeholder=number]").wait_for()
        fill_card(page, "4242424242424242")
        page.get_by_role("button", name="Save card and pledge $20").click()
        page.get_by_text("Thank you! Your pledge is active.").wait_for()
        assert len(crm.received) == 1  # sent as soon as the pledge committed: answered 500
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=10), tick=False) as clock:
            webhook_deliveries_due.delay()  # the beat sweep
            clock.shift(dt.timedelta(minutes=6))
            webhook_deliveries_due.delay()
            clock.shift(dt.timedelta(hours=3))
            webhook_deliveries_due.delay()
    finally:
        crm.close()
    assert len(crm.received) == 3
    assert len({r["headers"]["webhook-id"] for r in crm.received}) == 1
    assert all(r["verified"] for r in crm.received)
    body = crm.received[-1]["body"]
    assert body["type"] == "pledge.created"
    assert body["data"]["amount_cents"] == 2000
    assert body["data"]["tier"] == "advocate"
    text = json.dumps(body).lower()
    assert "4242" not in text
    assert "visa" not in text
    codes = list(WebhookAttempt.objects.order_by("number").values_list("status_code", flat=True))
    assert codes == [500, 500, 200]
