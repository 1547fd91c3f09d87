"""`make run`'s demo campaigns can be settled end to end (issue 13): once localstripe answers,
`manage.py demo_cards` saves a test card there for every demo pledge, so a demo campaign pushed
past its deadline and approved charges every pledge instead of sending them to staff review.

Real localstripe, started from scratch like `make run` starts it.
"""

from __future__ import annotations

import datetime as dt
import io
import urllib.request

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.models import Campaign
from pledges.models import Pledge
from pledges.services import settlement
from tests.factories import UserFactory
from tests.pledges.settlement_support import active_pledge

S = Pledge.Status
pytestmark = [pytest.mark.django_db, pytest.mark.stripe]
DEMO = "fix-the-14th-street-buildings"  # the demo campaign that meets its goal


@pytest.fixture
def seeded(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    return Campaign.objects.get(slug=DEMO)


def demo_cards() -> str:
    out = io.StringIO()
    call_command("demo_cards", stdout=out)
    return out.getvalue()


def test_demo_campaign_pushed_past_its_deadline_and_approved_charges_every_pledge(
    seeded, stripe_local, django_capture_on_commit_callbacks
):
    campaign = seeded
    assert campaign.pledges.filter(status=S.ACTIVE).count() == 137
    assert "for 201" in demo_cards()  # the live demo campaigns' pledges
    # As the newcomer did: one more supporter pledges $300 (a card saved the way the pledge
    # flow saves it), which takes the campaign past its $6,000 goal.
    active_pledge(campaign, amount_cents=30_000)

    staff = UserFactory(is_staff=True, is_superuser=True)
    with time_machine.travel(campaign.deadline + dt.timedelta(minutes=1), tick=True):
        assert settlement.campaign_freeze(campaign_id=campaign.pk) == "awaiting_approval"
        settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
        settlement.campaign_mark_pledges_due(campaign_id=campaign.pk)
        with django_capture_on_commit_callbacks(execute=False):
            run = settlement.settle_run(campaign=campaign)

    assert run.by_status == {S.PAID: 138}
    campaign.refresh_from_db()
    assert campaign.collected_cents == campaign.frozen_pledged_cents == 602_800
    assert campaign.paid_count == 138
    assert campaign.collecting_count == 0
    assert not campaign.pledges.filter(status=S.NEEDS_REVIEW).exists()


def test_demo_cards_is_idempotent_and_repairs_a_fresh_localstripe(
    seeded, stripe_local, localstripe_url
):
    assert "for 201" in demo_cards()  # the three live demo campaigns' pledges
    card = set(
        Pledge.objects.filter(supporter__source="demo", status=S.ACTIVE).values_list(
            "stripe_customer_id", "stripe_payment_method_id"
        )
    )
    assert len(card) == 1
    assert "already saved" in demo_cards()

    # `make run` again: localstripe starts from scratch and has forgotten the card.
    req = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()
    assert "for 201" in demo_cards()
    assert (
        set(
            Pledge.objects.filter(supporter__source="demo", status=S.ACTIVE).values_list(
                "stripe_customer_id", "stripe_payment_method_id"
            )
        )
        != card
    )
    # Released pledges of the failed demo campaign are never charged: they get no card.
    assert not Pledge.objects.filter(status=S.RELEASED).exclude(stripe_payment_method_id="")


def test_demo_cards_refuses_real_stripe(seeded, settings):
    settings.STRIPE_LOCAL_COMPAT = False
    with pytest.raises(CommandError, match="not a local Stripe"):
        call_command("demo_cards", stdout=io.StringIO())
