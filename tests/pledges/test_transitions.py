"""The state machines: every move the maps allow is taken once and recorded, every other move
raises and changes nothing, and campaign totals follow the pledge."""

from __future__ import annotations

import itertools

import pytest

from campaigns.models import Campaign
from campaigns.services import IllegalCampaignTransition, campaign_transition
from pledges.models import Pledge
from pledges.services.transitions import (
    ALLOWED_TRANSITIONS,
    COLLECTION_COUNTERS,
    COUNTED,
    IllegalTransition,
    pledge_transition,
)
from tests.factories import CampaignFactory, PledgeFactory

pytestmark = pytest.mark.django_db
S = Pledge.Status

ALLOWED = [(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in sorted(targets)]
FORBIDDEN = [
    (a, b) for a, b in itertools.product(S.values, S.values) if b not in ALLOWED_TRANSITIONS[a]
]


def pledge_in(status: str, amount_cents: int = 2500) -> Pledge:
    """A pledge already in `status`, with its campaign's totals and counters as the state
    machine would have left them on the way there."""
    pledge = PledgeFactory(status=status, amount_cents=amount_cents)
    totals = {column: 1 for column, states in COLLECTION_COUNTERS.items() if status in states}
    if status in COUNTED:
        totals.update(pledged_cents=amount_cents, backer_count=1)
    Campaign.objects.filter(pk=pledge.campaign_id).update(**totals)
    return pledge


def test_the_map_covers_every_status():
    assert set(ALLOWED_TRANSITIONS) == set(S.values)


@pytest.mark.parametrize(("expected", "to"), ALLOWED)
def test_every_allowed_move_is_taken_once(expected, to):
    pledge = pledge_in(expected)
    assert pledge_transition(pledge=pledge, to=to, actor_label="test")
    assert Pledge.objects.get(pk=pledge.pk).status == to
    event = pledge.events.get()
    assert (event.from_status, event.to_status) == (expected, to)

    if expected != to:  # a second worker still holding the old row loses and writes nothing
        stale = Pledge.objects.get(pk=pledge.pk)
        stale.status = expected
        assert not pledge_transition(pledge=stale, to=to, actor_label="test")
        assert pledge.events.count() == 1

    campaign = Campaign.objects.get(pk=pledge.campaign_id)
    counted = to in COUNTED
    assert (campaign.pledged_cents, campaign.backer_count) == (2500 * counted, int(counted))
    for column, states in COLLECTION_COUNTERS.items():
        assert getattr(campaign, column) == int(to in states), column


@pytest.mark.parametrize(("expected", "to"), FORBIDDEN)
def test_every_other_move_raises_and_changes_nothing(expected, to):
    pledge = pledge_in(expected)
    with pytest.raises(IllegalTransition):
        pledge_transition(pledge=pledge, to=to)
    assert Pledge.objects.get(pk=pledge.pk).status == expected
    assert not pledge.events.exists()


def test_pledge_activation_moves_campaign_totals_once():
    pledge = PledgeFactory(status=S.PENDING_SETUP, amount_cents=2500)
    assert pledge_transition(pledge=pledge, to=S.ACTIVE, actor_label="test")
    stale = Pledge.objects.get(pk=pledge.pk)
    stale.status = S.PENDING_SETUP  # a second worker still holding the old row
    assert not pledge_transition(pledge=stale, to=S.ACTIVE, actor_label="test")
    campaign = Campaign.objects.get(pk=pledge.campaign_id)
    assert (campaign.pledged_cents, campaign.backer_count) == (2500, 1)
    assert pledge.events.count() == 1


def test_canceling_an_active_pledge_takes_it_out_of_the_totals():
    pledge = PledgeFactory(status=S.PENDING_SETUP, amount_cents=2500)
    pledge_transition(pledge=pledge, to=S.ACTIVE)
    pledge_transition(pledge=pledge, to=S.CANCELED)
    campaign = Campaign.objects.get(pk=pledge.campaign_id)
    assert (campaign.pledged_cents, campaign.backer_count) == (0, 0)


def test_campaign_cannot_skip_review():
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    with pytest.raises(IllegalCampaignTransition):
        campaign_transition(campaign=campaign, to=Campaign.Status.LIVE)
    assert campaign_transition(campaign=campaign, to=Campaign.Status.IN_REVIEW)
    assert campaign.events.get().to_status == Campaign.Status.IN_REVIEW
