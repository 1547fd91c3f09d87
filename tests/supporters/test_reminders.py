"""Momentum to the deadline: reminders 72 and 24 hours before (once each, consent-aware, at most
one a day per person across campaigns) and card-health warnings before a card lapses."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from supporters.models import Reminder
from supporters.tasks import deadline_reminders_due, warn_expiring_cards
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory

pytestmark = pytest.mark.django_db


def _run(task, capture):
    with capture(execute=True):
        task()


def test_72_hours_before_the_deadline_allies_are_asked_to_upgrade_and_pledgers_to_share(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(deadline=timezone.now() + dt.timedelta(hours=60))
    ally = SupporterFactory(campaign=campaign, consent_updates=True, email="ally@example.org")
    pledger = SupporterFactory(
        campaign=campaign, consent_updates=True, tier="advocate", email="pledger@example.org"
    )
    SupporterFactory(campaign=campaign, consent_updates=False, email="no@example.org")
    SupporterFactory(
        campaign=campaign, consent_updates=True, confirmed_at=None, email="unconf@example.org"
    )
    _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    by_to = {m.to[0]: m for m in mail.outbox}
    assert set(by_to) == {ally.email, pledger.email}
    assert "72 hours left" in by_to[ally.email].subject
    assert f"/c/{campaign.slug}/support/advocate/" in by_to[ally.email].body
    pledger.refresh_from_db()
    assert f"?source={pledger.share_code}" in by_to[pledger.email].body
    assert "PST" in by_to[ally.email].body or "PDT" in by_to[ally.email].body  # zone named
    assert Reminder.objects.filter(sent_at__isnull=False).count() == 2


def test_each_reminder_is_sent_once_and_the_24_hour_one_follows(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(deadline=timezone.now() + dt.timedelta(hours=70))
    SupporterFactory(campaign=campaign, consent_updates=True)
    _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    with time_machine.travel(timezone.now() + dt.timedelta(hours=50)):
        _run(deadline_reminders_due, django_capture_on_commit_callbacks)
        _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert "24 hours left" in mail.outbox[1].subject
    with time_machine.travel(timezone.now() + dt.timedelta(hours=80)):
        _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2


def test_a_person_gets_at_most_one_reminder_a_day_across_campaigns(
    django_capture_on_commit_callbacks, celery_eager
):
    first = CampaignFactory(deadline=timezone.now() + dt.timedelta(hours=60))
    second = CampaignFactory(deadline=timezone.now() + dt.timedelta(hours=65))
    for campaign in (first, second):
        SupporterFactory(campaign=campaign, consent_updates=True, email="both@example.org")
    _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    # The next day the other campaign's 72-hour reminder goes out.
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert {m.subject for m in mail.outbox} == {
        f"[Rallyround] 72 hours left for {first.title}",
        f"[Rallyround] 72 hours left for {second.title}",
    }


def test_withdrawing_consent_after_the_claim_stops_the_reminder(
    django_capture_on_commit_callbacks, celery_eager
):
    from supporters.services import supporter_unsubscribe

    campaign = CampaignFactory(deadline=timezone.now() + dt.timedelta(hours=60))
    supporter = SupporterFactory(campaign=campaign, consent_updates=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deadline_reminders_due()
    supporter_unsubscribe(supporter=supporter)
    for callback in callbacks:
        callback()
    assert mail.outbox == []


def test_no_reminder_far_from_the_deadline_or_on_a_closed_campaign(
    django_capture_on_commit_callbacks, celery_eager
):
    far = CampaignFactory(deadline=timezone.now() + dt.timedelta(days=5))
    SupporterFactory(campaign=far, consent_updates=True)
    closed = CampaignFactory(deadline=timezone.now() + dt.timedelta(hours=10), status="settling")
    SupporterFactory(campaign=closed, consent_updates=True)
    _run(deadline_reminders_due, django_capture_on_commit_callbacks)
    assert mail.outbox == []


# --- card health ----------------------------------------------------------------------------
def test_a_card_that_lapses_before_the_deadline_gets_one_warning_with_the_pledge_link(
    django_capture_on_commit_callbacks, celery_eager
):
    with time_machine.travel(dt.datetime(2027, 1, 10, 12, tzinfo=dt.UTC)):
        campaign = CampaignFactory(
            deadline=dt.datetime(2027, 3, 5, 12, tzinfo=dt.UTC), status="live"
        )
        expiring = PledgeFactory(
            campaign=campaign,
            card_exp_month=2,
            card_exp_year=2027,
            supporter=SupporterFactory(campaign=campaign, consent_updates=False),
        )
        PledgeFactory(campaign=campaign, card_exp_month=3, card_exp_year=2027)  # good in March
        PledgeFactory(campaign=campaign, card_exp_month=1, card_exp_year=2027, status="canceled")
        _run(warn_expiring_cards, django_capture_on_commit_callbacks)
        _run(warn_expiring_cards, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[expiring.supporter.email]]  # consent not needed
    body = mail.outbox[0].body
    assert f"/pledges/{expiring.token}/" in body
    assert "02/2027" in body
    assert "$20" in body
    assert Reminder.objects.get(pledge=expiring).kind == "card_expiry"


def test_the_card_warning_comes_when_time_reaches_a_campaign_it_now_outlives(
    django_capture_on_commit_callbacks, celery_eager
):
    """A card valid through December is fine for a campaign ending in December; nothing is
    sent until the deadline is extended past it."""
    with time_machine.travel(dt.datetime(2027, 11, 1, 12, tzinfo=dt.UTC)):
        campaign = CampaignFactory(deadline=dt.datetime(2027, 12, 20, 12, tzinfo=dt.UTC))
        PledgeFactory(campaign=campaign, card_exp_month=12, card_exp_year=2027)
        _run(warn_expiring_cards, django_capture_on_commit_callbacks)
        assert mail.outbox == []
        type(campaign).objects.filter(pk=campaign.pk).update(
            deadline=dt.datetime(2028, 1, 15, 12, tzinfo=dt.UTC)
        )
    with time_machine.travel(dt.datetime(2027, 12, 1, 12, tzinfo=dt.UTC)):
        _run(warn_expiring_cards, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
