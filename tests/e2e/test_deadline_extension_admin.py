"""Staff extend a deadline from the campaign's admin page in Chromium, at desktop and phone
widths (screenshots in var/screenshots/)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from campaigns.models import Campaign, CampaignEvent
from campaigns.roles import roles_ensure
from tests.conftest import screenshot
from tests.factories import CampaignFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login_cookie(user) -> dict:
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "domain": "localhost",
        "path": "/",
    }


def test_staff_extend_a_deadline_from_the_campaign_page(live_server, page, phone_page):
    from django.contrib.auth.models import Permission

    roles_ensure(Group, Permission)  # transactional tests flush the migration's groups
    staff = UserFactory(email="pat.platform@example.org", is_staff=True)
    staff.groups.add(Group.objects.get(name="Platform staff"))
    campaign = CampaignFactory(title="Fix the Bus", timezone="America/Chicago")
    wall = (campaign.deadline + dt.timedelta(days=14)).astimezone(campaign.tz)

    phone_page.context.add_cookies([login_cookie(staff)])
    phone_page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/extend-deadline/")
    assert phone_page.get_by_label("New deadline").is_visible()
    screenshot(phone_page, "campaigns-extend-deadline-phone")

    page.context.add_cookies([login_cookie(staff)])
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    page.get_by_role("link", name="Extend deadline…").click()
    page.get_by_label("New deadline").fill(f"{wall:%Y-%m-%d}T19:00")
    page.get_by_label("Why is the deadline being extended?").fill("Hearing moved")
    screenshot(page, "campaigns-extend-deadline-desktop")
    page.get_by_role("button", name="Extend the deadline and tell supporters").click()
    page.get_by_text("Deadline extended to").wait_for()
    screenshot(page, "campaigns-extend-deadline-done-desktop")
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (campaign.deadline_local.date(), campaign.deadline_local.hour) == (wall.date(), 19)
    assert CampaignEvent.objects.filter(campaign=campaign, note__contains="Hearing moved").exists()
