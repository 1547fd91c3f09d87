"""Fixes from the review of the money path, each a behaviour a supporter or operator would
notice: no second charge from a stale payment page, real Stripe's shapes read correctly, the
right outcome for a closed dispute. Real localstripe behind stripe-chaos wherever the behaviour
can be produced there; where only real Stripe produces it, the gateway's mapping is tested on a
constructed object (said so in each test)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from pledges.models import Pledge
from pledges.services import settlement
from tests.factories import UserFactory
from tests.pledges.settlement_support import (
    assert_ledger_clean,
    charge_due_campaign,
    signed_webhook,
)

S = Pledge.Status


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.org", is_staff=True, is_superuser=True)


# --- disputes ---------------------------------------------------------------------------------
def _disputed(chaos, staff):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, amount_cents=2000)
    settlement.pledge_charge(pledge_id=pledge.pk)
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    dispute = {
        "id": "dp_review",
        "object": "dispute",
        "payment_intent": pledge.stripe_payment_intent_id,
        "amount": pledge.amount_cents,
        "reason": "general",
    }
    created = signed_webhook(
        Client(), event_id="evt_dp_created", type="charge.dispute.created", obj=dispute
    )
    assert created.content.decode() == f"disputed pledge={pledge.pk}"
    return campaign, pledge, dispute


@pytest.mark.django_db
@pytest.mark.stripe
@pytest.mark.parametrize("closed_as", ["won", "warning_closed"])
def test_dispute_closed_in_our_favour_keeps_the_money_and_the_pledge_paid(chaos, staff, closed_as):
    campaign, pledge, dispute = _disputed(chaos, staff)
    mail.outbox.clear()
    response = signed_webhook(
        Client(),
        event_id="evt_dp_closed",
        type="charge.dispute.closed",
        obj={**dispute, "status": closed_as},
    )
    assert response.content.decode() == f"dispute {closed_as} pledge={pledge.pk}"
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.PAID, 0)
    assert campaign.collected_cents == 2000
    assert not pledge.refunds.exists()
    assert not [m for m in mail.outbox if "refund" in m.subject.lower()]
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
@pytest.mark.stripe
def test_dispute_lost_counts_the_money_as_returned(chaos, staff):
    campaign, pledge, dispute = _disputed(chaos, staff)
    response = signed_webhook(
        Client(),
        event_id="evt_dp_lost",
        type="charge.dispute.closed",
        obj={**dispute, "status": "lost"},
    )
    assert response.content.decode() == f"dispute lost pledge={pledge.pk}"
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents) == (S.REFUNDED, 2000)
    assert campaign.collected_cents == 0


@pytest.mark.django_db
@pytest.mark.stripe
def test_dispute_closed_with_an_unknown_status_changes_nothing(chaos, staff):
    campaign, pledge, dispute = _disputed(chaos, staff)
    response = signed_webhook(
        Client(),
        event_id="evt_dp_odd",
        type="charge.dispute.closed",
        obj={**dispute, "status": "under_review"},
    )
    assert "nothing to do" in response.content.decode()
    pledge.refresh_from_db()
    campaign.refresh_from_db()
    assert (pledge.status, pledge.refunded_cents, campaign.collected_cents) == (
        S.DISPUTED,
        0,
        2000,
    )
