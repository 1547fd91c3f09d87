""" "Is this campaign open to pledges and sign-ons" is one rule, for one campaign and for a
queryset alike: LIVE and before its deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import campaign_is_open
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
C = Campaign.Status


@pytest.mark.parametrize(
    ("status", "deadline_in", "is_open"),
    [
        (C.LIVE, dt.timedelta(days=1), True),
        (C.LIVE, -dt.timedelta(seconds=1), False),  # past its deadline, not yet frozen
        (C.DRAFT, dt.timedelta(days=1), False),
        (C.IN_REVIEW, dt.timedelta(days=1), False),
        (C.SETTLING, dt.timedelta(days=1), False),  # settled early: frozen
        (C.SUCCEEDED, -dt.timedelta(days=1), False),
    ],
)
def test_open_means_live_and_before_the_deadline(status, deadline_in, is_open):
    campaign = CampaignFactory(status=status, deadline=timezone.now() + deadline_in)
    assert campaign_is_open(campaign) is is_open
    assert Campaign.objects.open().filter(pk=campaign.pk).exists() is is_open
