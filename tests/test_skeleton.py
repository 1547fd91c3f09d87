"""The platform's plumbing: health check, state machines."""

import pytest

from campaigns.models import Campaign
from campaigns.services import IllegalCampaignTransition, campaign_transition
from pledges.models import Pledge
from pledges.services.transitions import IllegalTransition, pledge_transition
from tests.factories import CampaignFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"] is True
    assert set(body) == {"ok", "database", "broker"}


def test_pledge_activation_moves_campaign_totals_once():
    pledge = PledgeFactory(status=Pledge.Status.PENDING_SETUP, amount_cents=2500)
    assert pledge_transition(pledge=pledge, to=Pledge.Status.ACTIVE, actor_label="test")
    stale = Pledge.objects.get(pk=pledge.pk)
    stale.status = Pledge.Status.PENDING_SETUP  # a second worker still holding the old row
    assert not pledge_transition(pledge=stale, to=Pledge.Status.ACTIVE, actor_label="test")
    campaign = Campaign.objects.get(pk=pledge.campaign_id)
    assert (campaign.pledged_cents, campaign.backer_count) == (2500, 1)
    assert pledge.events.count() == 1


def test_canceling_an_active_pledge_takes_it_out_of_the_totals():
    pledge = PledgeFactory(status=Pledge.Status.PENDING_SETUP, amount_cents=2500)
    pledge_transition(pledge=pledge, to=Pledge.Status.ACTIVE)
    pledge_transition(pledge=pledge, to=Pledge.Status.CANCELED)
    campaign = Campaign.objects.get(pk=pledge.campaign_id)
    assert (campaign.pledged_cents, campaign.backer_count) == (0, 0)


def test_illegal_pledge_transition_raises_and_changes_nothing():
    pledge = PledgeFactory(status=Pledge.Status.ACTIVE)
    with pytest.raises(IllegalTransition):
        pledge_transition(pledge=pledge, to=Pledge.Status.PAID)
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ACTIVE
    assert not pledge.events.exists()


def test_campaign_cannot_skip_review():
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    with pytest.raises(IllegalCampaignTransition):
        campaign_transition(campaign=campaign, to=Campaign.Status.LIVE)
    assert campaign_transition(campaign=campaign, to=Campaign.Status.IN_REVIEW)
    assert campaign.events.get().to_status == Campaign.Status.IN_REVIEW
