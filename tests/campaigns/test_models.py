"""Campaign model rules and the small reads the pages rely on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from campaigns.models import Campaign, Tier
from campaigns.selectors import campaign_countdown, campaign_phase
from campaigns.services import (
    IllegalCampaignTransition,
    campaign_recount_supporters,
    campaign_send_back,
    campaign_submit_for_review,
    campaign_transition,
)
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db
C = Campaign.Status


def test_deadline_is_displayed_in_the_campaigns_time_zone():
    campaign = Campaign(
        deadline=dt.datetime(2019, 11, 23, 3, 59, tzinfo=dt.UTC), timezone="America/Los_Angeles"
    )
    assert campaign.deadline_display == "Friday, November 22 2019 7:59 PM PST"
    campaign.timezone = "Europe/Berlin"
    assert campaign.deadline_display == "Saturday, November 23 2019 4:59 AM CET"


def test_light_campaign_colour_falls_back_to_a_readable_one():
    assert Campaign(colour="#6a2f8a").accent_colour == "#6a2f8a"
    assert Campaign(colour="#ffee00").accent_colour == "#1f5f8b"


def test_goal_must_be_positive_in_the_database():
    campaign = CampaignFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(goal_cents=0)


def test_colour_must_be_six_hex_digits():
    campaign = CampaignFactory.build(colour="red")
    with pytest.raises(ValidationError, match="six hex digits"):
        campaign.full_clean(exclude=["organization"])


def test_one_tier_of_each_kind_per_campaign():
    campaign = CampaignFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Tier.objects.create(campaign=campaign, kind="ally", name="Second ally")


def test_percent_funded_uses_frozen_total_after_the_deadline_and_caps_at_100():
    campaign = Campaign(goal_cents=10_000, pledged_cents=2_500)
    assert campaign.percent_funded == 25
    campaign.frozen_pledged_cents = 30_000
    assert campaign.percent_funded == 100


def test_countdown_rounds_hours_up_in_the_last_day_and_ends_at_the_deadline():
    now = dt.datetime(2031, 1, 1, 12, tzinfo=dt.UTC)
    campaign = Campaign(deadline=now + dt.timedelta(hours=23, minutes=1))
    assert campaign_countdown(campaign=campaign, now=now).label == "hours to go"
    assert campaign_countdown(campaign=campaign, now=now).value == 24
    campaign.deadline = now
    assert campaign_countdown(campaign=campaign, now=now).ended


def test_phase_of_a_closed_campaign_follows_whether_it_collected():
    closed = Campaign(status=C.CLOSED, collected_cents=0)
    assert campaign_phase(campaign=closed) == "failed"
    closed.collected_cents = 100
    assert campaign_phase(campaign=closed) == "succeeded"


def test_send_back_needs_a_reason_and_platform_staff():
    campaign = CampaignFactory(status=C.IN_REVIEW)
    staff = UserFactory(is_staff=True, is_superuser=True)
    with pytest.raises(ValueError, match="Say why"):
        campaign_send_back(campaign=campaign, actor=staff, reason=" ")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        campaign_send_back(campaign=campaign, actor=UserFactory(is_staff=True), reason="No")
    campaign.refresh_from_db()
    assert campaign.status == C.IN_REVIEW


def test_a_live_campaign_is_not_submitted_for_review_again():
    campaign = CampaignFactory(status=C.LIVE)
    assert campaign_submit_for_review(campaign=campaign, actor=None) is False
    campaign.refresh_from_db()
    assert campaign.status == C.LIVE
    assert not campaign.events.exists()


def test_campaign_cannot_jump_from_draft_to_live():
    campaign = CampaignFactory(status=C.DRAFT)
    with pytest.raises(IllegalCampaignTransition):
        campaign_transition(campaign=campaign, to=C.LIVE)


def test_recount_counts_confirmed_supporters_who_have_not_left():
    campaign = CampaignFactory(supporter_count=99)
    SupporterFactory.create_batch(3, campaign=campaign)
    SupporterFactory(campaign=campaign, confirmed_at=None)
    assert campaign_recount_supporters(campaign=campaign) == 3
    campaign.refresh_from_db()
    assert campaign.supporter_count == 3
