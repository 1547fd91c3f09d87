"""Settlement end to end against localstripe behind stripe-chaos: freeze at the deadline, fail
or await approval, approve, charge, and the decline paths. Time moves with time-machine."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from campaigns.models import Campaign
from pledges import gateway, tasks
from pledges.gateway import ChargeOutcome, ChargeResult
from pledges.models import PaymentAttempt, Pledge
from pledges.services import attempts, charging, settlement
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    THREE_DS_CARD,
    active_pledge,
    assert_ledger_clean,
    campaign_ending,
    charge_due_campaign,
    saved_card,
)

S = Pledge.Status
pytestmark = [pytest.mark.django_db, pytest.mark.stripe]


def _after_deadline(campaign, minutes=1):
    return time_machine.travel(campaign.deadline + dt.timedelta(minutes=minutes), tick=True)


def test_campaign_short_of_goal_fails_releases_everyone_and_charges_nobody(
    chaos, celery_eager, django_capture_on_commit_callbacks
):
    campaign = campaign_ending(goal_cents=10_000)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=2000) for _ in range(3)]

    with _after_deadline(campaign), django_capture_on_commit_callbacks(execute=True):
        summary = settlement.settle_due()

    assert summary["failed"] == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert campaign.frozen_pledged_cents == 6000
    assert campaign.frozen_backer_count == 3
    for pledge in pledges:
        pledge.refresh_from_db()
        assert pledge.status == S.RELEASED
        assert not pledge.attempts.exists()
    told = [m for m in mail.outbox if "you will not be charged" in m.subject]
    assert sorted(m.to[0] for m in told) == sorted(p.supporter.email for p in pledges)
    assert "Nobody was charged" in told[0].body
    assert any("did not reach its goal" in m.subject for m in mail.outbox if "ana@" in m.to[0])
    ledger = assert_ledger_clean(chaos, campaign)
    assert ledger["payment_intents"] == {}


def test_goal_met_waits_for_approval_then_every_pledge_is_charged_once(
    chaos, celery_eager, staff, django_capture_on_commit_callbacks
):
    campaign = campaign_ending(goal_cents=5000)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=a) for a in (1500, 2800, 4000)]

    with _after_deadline(campaign):
        with django_capture_on_commit_callbacks(execute=True):
            assert settlement.settle_due()["awaiting_approval"] == 1
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SETTLING
        assert campaign.frozen_pledged_cents == 8300
        # Nothing is charged before staff approve.
        assert settlement.settle_run().by_status == {}
        assert chaos.ledger()["payment_intents"] == {}
        assert any("awaiting approval" in m.subject for m in mail.outbox)

        due = settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
        assert due == 3
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SUCCEEDED
        assert campaign.approved_for_collection_by == staff

        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            run = settlement.settle_run()
        # A second run finds nothing left to do.
        assert settlement.settle_run().by_status == {}

    assert run.by_status == {S.PAID: 3}
    assert run.charged_cents == 8300
    campaign.refresh_from_db()
    assert campaign.collected_cents == 8300
    for pledge in pledges:
        pledge.refresh_from_db()
        assert pledge.status == S.PAID
        attempt = pledge.attempts.get()
        assert attempt.idempotency_key == f"pledge-{pledge.pk}-attempt-1"
        assert attempt.outcome == PaymentAttempt.Outcome.SUCCEEDED
    receipts = [m for m in mail.outbox if "is paid" in m.subject]
    assert len(receipts) == 3
    assert_ledger_clean(chaos, campaign)


def test_approval_is_refused_for_a_campaign_that_missed_its_goal(chaos, staff):
    campaign = campaign_ending(goal_cents=10_000)
    active_pledge(campaign, amount_cents=2000)
    with _after_deadline(campaign):
        settlement.settle_due()
    campaign.refresh_from_db()
    with pytest.raises(attempts.SettlementError, match="not awaiting approval"):
        settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)


def test_staff_rejection_fails_the_campaign_and_releases_pledges(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign = campaign_ending(goal_cents=1000)
    pledge = active_pledge(campaign, amount_cents=2000)
    with _after_deadline(campaign):
        settlement.settle_due()
        campaign.refresh_from_db()
        with pytest.raises(attempts.SettlementError, match="reason"):
            settlement.campaign_reject_collection(campaign=campaign, actor=staff, reason=" ")
        with django_capture_on_commit_callbacks(execute=True):
            released = settlement.campaign_reject_collection(
                campaign=campaign, actor=staff, reason="The organization was dissolved."
            )
    assert released == 1
    campaign.refresh_from_db()
    pledge.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert pledge.status == S.RELEASED
    rejected = [m for m in mail.outbox if "collection not approved" in m.subject]
    assert "The organization was dissolved." in rejected[0].body
    assert_ledger_clean(chaos, campaign)


def test_running_the_beat_twice_freezes_once_and_charges_once(chaos, staff):
    campaign = campaign_ending(goal_cents=1000)
    pledge = active_pledge(campaign, amount_cents=2000)
    with _after_deadline(campaign):
        settlement.settle_due()
        settlement.settle_due()
        assert campaign.events.filter(to_status=Campaign.Status.SETTLING).count() == 1
        settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
        settlement.settle_run()
        settlement.settle_run()
        settlement.settle_due()
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.attempts.count() == 1
    assert_ledger_clean(chaos, campaign)


def _succeeded_campaign(staff, *cards_and_amounts):
    campaign = campaign_ending(goal_cents=100)
    pledges = [active_pledge(campaign, number=n, amount_cents=a) for n, a in cards_and_amounts]
    with _after_deadline(campaign):
        settlement.settle_due()
        campaign.refresh_from_db()
        settlement.campaign_approve_for_collection(campaign=campaign, actor=staff)
        tasks.campaign_collect_step(campaign_id=campaign.pk)  # what the queued task does
    return campaign, pledges


def test_soft_declines_retry_after_one_then_three_days_then_ask_for_a_new_card(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, (pledge,) = _succeeded_campaign(staff, (DECLINE_CARD, 2000))
    start = campaign.deadline + dt.timedelta(minutes=2)
    with time_machine.travel(start, tick=False):
        settlement.settle_run()
    pledge.refresh_from_db()
    assert pledge.status == S.RETRY_DUE
    assert pledge.next_attempt_at == start + dt.timedelta(days=1)
    first = pledge.attempts.get(number=1)
    assert first.outcome == PaymentAttempt.Outcome.SOFT_DECLINE
    assert first.error_code == "card_declined"
    assert first.message

    # Not due yet: an hour later nothing happens.
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert settlement.settle_run().by_status == {}
    with time_machine.travel(start + dt.timedelta(days=1, minutes=1), tick=False):
        settlement.settle_run()
    pledge.refresh_from_db()
    assert pledge.status == S.RETRY_DUE
    assert pledge.next_attempt_at == start + dt.timedelta(days=4, minutes=1)

    third_at = start + dt.timedelta(days=4, minutes=2)
    with (
        time_machine.travel(third_at, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        settlement.settle_run()
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    assert pledge.attempt_count == 3
    assert pledge.grace_ends_at == third_at + dt.timedelta(days=7)
    assert [a.idempotency_key for a in pledge.attempts.all()] == [
        f"pledge-{pledge.pk}-attempt-{n}" for n in (1, 2, 3)
    ]
    (email,) = [m for m in mail.outbox if "declined" in m.subject]
    assert f"/pledges/{pledge.token}/new-card/" in email.body
    assert_ledger_clean(chaos, campaign)


def test_card_needing_3d_secure_asks_the_supporter_to_confirm(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    campaign, (pledge,) = _succeeded_campaign(staff, (THREE_DS_CARD, 2000))
    with _after_deadline(campaign, 2), django_capture_on_commit_callbacks(execute=True):
        settlement.settle_run()
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert pledge.stripe_payment_intent_id.startswith("pi_")
    assert pledge.grace_ends_at is not None
    attempt = pledge.attempts.get()
    assert attempt.outcome == PaymentAttempt.Outcome.REQUIRES_ACTION
    (email,) = [m for m in mail.outbox if "confirm" in m.subject]
    assert f"/pledges/{pledge.token}/confirm/" in email.body
    assert_ledger_clean(chaos, campaign)


def test_hard_decline_asks_for_a_new_card_at_once(chaos, staff):
    """localstripe has no hard-decline card, so the answer Stripe gives for a lost card is
    recorded through the same function the charge path uses."""
    campaign, (pledge,) = _succeeded_campaign(staff, ("4242424242424242", 2000))
    with _after_deadline(campaign, 2):
        claim = charging.pledge_claim(pledge.pk, now=timezone.now())
        assert claim is not None
        _, attempt, _ = claim
        status = attempts.attempt_record(
            attempt_id=attempt.pk,
            result=ChargeResult(
                outcome=ChargeOutcome.HARD_DECLINE,
                payment_intent_id="pi_lost",
                code="card_declined",
                decline_code="lost_card",
                message="Your card was declined.",
            ),
            source="settlement",
        )
    assert status == S.NEEDS_NEW_METHOD
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.decline_code) == ("hard_decline", "lost_card")
    assert_ledger_clean(chaos, campaign)


@pytest.mark.django_db
def test_a_pledge_activated_a_moment_before_the_freeze_is_charged_not_released_as_late(staff):
    """Issue 13 (suspected, confirmed): the beat reads its clock, a card is saved a moment
    later, then the freeze takes the campaign lock and counts that pledge in the frozen total.
    It must be charged with the others, never released as "saved after the deadline"."""
    from campaigns.services import campaign_transition
    from pledges.models import PledgeEvent
    from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory

    campaign = CampaignFactory(
        goal_cents=100,
        deadline=timezone.now() - dt.timedelta(seconds=5),
        status=Campaign.Status.LIVE,
    )
    beat_read_its_clock = timezone.now()
    pledge = PledgeFactory(
        campaign=campaign,
        supporter=SupporterFactory(campaign=campaign),
        amount_cents=2000,
        status=Pledge.Status.ACTIVE,
    )
    PledgeEvent.objects.create(
        pledge=pledge, from_status=Pledge.Status.PENDING_SETUP, to_status=Pledge.Status.ACTIVE
    )
    assert settlement.campaign_freeze(campaign_id=campaign.pk, now=beat_read_its_clock)
    campaign.refresh_from_db()
    assert (campaign.frozen_backer_count, campaign.frozen_pledged_cents) == (1, 2000)
    campaign_transition(
        campaign=campaign, to=Campaign.Status.SUCCEEDED, expected=Campaign.Status.SETTLING
    )
    settlement.campaign_mark_pledges_due(campaign_id=campaign.pk)
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.CHARGE_DUE


@pytest.mark.django_db
def test_a_deleted_account_is_still_reached_about_payments_until_they_are_settled(
    celery_eager, django_capture_on_commit_callbacks
):
    """Issue 13 (suspected, confirmed): deleting an account replaced the supporter's address by
    deleted-N@deleted.invalid at once, so a pledge still being collected (a card to replace, a
    3-D Secure request) could only end unpaid. The address is kept for payment notices until
    every payment of that supporter is settled, then erased; everything else goes at once."""
    from allauth.account.models import EmailAddress

    from pledges.services.account_deletion import account_delete
    from pledges.services.grace import payments_remind_and_expire
    from supporters.models import Supporter
    from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, UserFactory

    user = UserFactory(email="rosa@example.org")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    campaign = CampaignFactory(status=Campaign.Status.SUCCEEDED)
    supporter = SupporterFactory(campaign=campaign, email=user.email, user=user, name="Rosa Parks")
    pledge = PledgeFactory(
        campaign=campaign,
        supporter=supporter,
        status=Pledge.Status.NEEDS_NEW_METHOD,
        grace_ends_at=timezone.now() + dt.timedelta(days=5),
        last_reminder_at=timezone.now() - dt.timedelta(days=3),
    )
    account_delete(user=user)
    supporter.refresh_from_db()
    assert supporter.name == "Deleted supporter"
    assert supporter.email == "rosa@example.org"  # still reachable about the payment
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        payments_remind_and_expire()
    assert [m.to for m in mail.outbox] == [["rosa@example.org"]]

    Pledge.objects.filter(pk=pledge.pk).update(status=Pledge.Status.UNPAID)
    payments_remind_and_expire()
    supporter.refresh_from_db()
    assert supporter.email == f"deleted-{supporter.pk}@deleted.invalid"
    assert not Supporter.objects.filter(email="rosa@example.org").exists()


# --- moved from the review of the money path (issue 13) ---------------------------------
# --- the end of the grace period closes the payment request -----------------------------------
@pytest.mark.django_db
@pytest.mark.stripe
def test_marking_a_pledge_unpaid_first_cancels_its_3d_secure_request(
    chaos, staff, celery_eager, django_capture_on_commit_callbacks
):
    """After the "unpaid" email the supporter cannot pay from the old link; while Stripe will
    not confirm the cancel, the pledge is not marked unpaid (nor emailed) — next hour it is."""
    import time_machine

    from pledges.services.grace import payments_remind_and_expire
    from tests.pledges.settlement_support import THREE_DS_CARD

    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    intent = pledge.stripe_payment_intent_id
    assert pledge.status == S.ACTION_REQUIRED
    after_grace = pledge.grace_ends_at + dt.timedelta(minutes=1)

    chaos.rules({"match": {"method": "POST", "path_regex": "/cancel$"}, "fault": "http_503"})
    mail.outbox.clear()
    with time_machine.travel(after_grace), django_capture_on_commit_callbacks(execute=True):
        assert payments_remind_and_expire()["unpaid"] == 0
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    assert gateway.payment_intent_retrieve(intent).status == "requires_action"
    assert not mail.outbox

    chaos.clear_rules()
    with (
        time_machine.travel(after_grace + dt.timedelta(hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert payments_remind_and_expire()["unpaid"] == 1
    pledge.refresh_from_db()
    assert pledge.status == S.UNPAID
    assert gateway.payment_intent_retrieve(intent).status == "canceled"
    assert len(mail.outbox) == 1
    assert_ledger_clean(chaos, campaign)
