"""A pledge's history can be queried by who made each line and what it records."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from pledges.models import Pledge, PledgeEvent
from pledges.services.pledging import pledge_cancel
from pledges.services.transitions import pledge_transition, pledges_transition_bulk
from tests.factories import CampaignFactory, PledgeFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Pledge.Status
Source, Kind = PledgeEvent.Source, PledgeEvent.Kind


def test_a_supporter_canceling_is_a_status_change_made_by_the_supporter():
    pledge = PledgeFactory(status=S.ACTIVE)
    Campaign.objects.filter(pk=pledge.campaign_id).update(  # as if counted when it was made
        pledged_cents=pledge.amount_cents, backer_count=1
    )
    pledge_cancel(pledge=pledge, actor=UserFactory())
    event = pledge.events.get(kind=Kind.STATUS_CHANGED)
    assert (event.source, event.from_status, event.to_status) == (
        Source.SUPPORTER,
        S.ACTIVE,
        S.CANCELED,
    )


def test_settlement_and_webhook_lines_are_told_apart_from_staff_decisions():
    campaign = CampaignFactory()
    due = PledgeFactory(campaign=campaign, status=S.ACTIVE)
    reviewed = PledgeFactory(campaign=campaign, status=S.NEEDS_REVIEW)
    pledges_transition_bulk(
        pledge_ids=[due.pk], expected=S.ACTIVE, to=S.CHARGE_DUE, actor_label="settlement"
    )
    pledge_transition(pledge=reviewed, to=S.UNPAID, actor_label="staff", actor=UserFactory())
    due.refresh_from_db()
    pledge_transition(pledge=due, to=S.PAID, actor_label="webhook")

    staff_decisions = PledgeEvent.objects.filter(source=Source.STAFF, kind=Kind.STATUS_CHANGED)
    assert [e.pledge_id for e in staff_decisions] == [reviewed.pk]
    assert list(due.events.values_list("source", flat=True)) == [
        Source.SETTLEMENT,
        Source.WEBHOOK,
    ]


def test_a_bulk_move_writes_one_whole_line_per_pledge():
    campaign = CampaignFactory()
    pledges = [PledgeFactory(campaign=campaign, status=S.ACTIVE) for _ in range(3)]
    staff = UserFactory()
    moved = pledges_transition_bulk(
        pledge_ids=[p.pk for p in pledges],
        expected=S.ACTIVE,
        to=S.RELEASED,
        actor=staff,
        actor_label="staff",
        note="Collection rejected by staff: test",
    )
    assert moved == sorted(p.pk for p in pledges)
    lines = PledgeEvent.objects.filter(pledge__campaign=campaign).order_by("pledge_id")
    assert [e.pledge_id for e in lines] == moved
    for event in lines:
        assert (event.source, event.kind, event.from_status, event.to_status) == (
            Source.STAFF,
            Kind.STATUS_CHANGED,
            S.ACTIVE,
            S.RELEASED,
        )
        assert (event.actor_id, event.actor_label, event.note) == (
            staff.pk,
            "staff",
            "Collection rejected by staff: test",
        )
        assert (event.code, event.stripe_object_id, event.amount_cents) == ("", "", None)
        assert event.created_at.tzinfo is not None


def test_a_note_says_what_it_records():
    from pledges.services.transitions import pledge_log

    pledge = PledgeFactory()
    pledge_log(
        pledge=pledge, note="Payment reminder sent.", actor_label="grace", kind=Kind.REMINDER
    )
    event = pledge.events.get()
    assert (event.source, event.kind) == (Source.GRACE, Kind.REMINDER)
