"""Staff screens say which time zone their times are in (issue 16: one time zone rule)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_admin_screen_names_its_time_zone():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in ("/admin/", "/admin/campaigns/campaign/", "/admin/pledges/pledge/"):
        body = client.get(url).content.decode()
        assert 'data-testid="admin-time-zone"' in body, url
        assert "Times on these screens are in UTC" in body, url
