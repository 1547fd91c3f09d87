"""Batch emails survive a broker that fails mid-fan-out: every recipient gets exactly one email.

Each kind of batch email (milestone, campaign update, deadline extended, advocates-first,
event reminder) is claimed in a transaction and fanned out in batches after commit. Here the
broker accepts the first message and refuses every later one (the exception kombu raises when
Redis goes away); the batches it refuses must still be sent, and nobody mailed twice.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from celery.app.task import Task
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError

import actions.services
import campaigns.services
import outreach.services
import supporters.services
from actions.services import advocates_first_open_due, event_reminders_send_due, event_rsvp
from campaigns.models import Campaign
from campaigns.services import campaign_extend_deadline
from outreach.models import CampaignUpdate
from outreach.services import update_publish
from supporters.services import milestones_announce, milestones_record
from tests.actions.factories import ActionFactory, event_action
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = 5  # in batches of 2: three batches, the broker fails from the second message on
NOON = dt.datetime(2030, 6, 1, 19, 0, tzinfo=dt.UTC)


@pytest.fixture
def broker_fails_after_first_message(monkeypatch):
    original = Task.apply_async
    published = []

    def apply_async(self, *args, **kwargs):
        published.append(self.name)
        if len(published) > 1:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return published


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(supporters.services, "MILESTONE_BATCH_SIZE", 2)
    monkeypatch.setattr(outreach.services, "UPDATE_BATCH_SIZE", 2)
    monkeypatch.setattr(campaigns.services, "DEADLINE_EMAIL_BATCH_SIZE", 2)
    monkeypatch.setattr(actions.services, "EMAIL_BATCH_SIZE", 2)


def _people(campaign, **kwargs):
    return SupporterFactory.create_batch(PEOPLE, campaign=campaign, consent_updates=True, **kwargs)


def milestone():
    campaign = CampaignFactory()
    people = _people(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    (reached,) = milestones_record(campaign_id=campaign.pk)
    return people, lambda: milestones_announce(milestone=reached)


def campaign_update():
    campaign = CampaignFactory()
    people = _people(campaign, tier="advocate")
    update = CampaignUpdate.objects.create(
        campaign=campaign, audience=CampaignUpdate.Audience.EVERYONE, title="News", body="Hi"
    )
    return people, lambda: update_publish(update=update)


def deadline_extended():
    campaign = CampaignFactory()
    people = _people(campaign)
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Platform staff"))
    return people, lambda: campaign_extend_deadline(
        campaign=campaign,
        new_deadline=campaign.deadline + dt.timedelta(days=7),
        actor=staff,
        reason="Council vote moved",
    )


def advocates_first():
    campaign = CampaignFactory(deadline=NOON + dt.timedelta(days=30))
    ActionFactory(campaign=campaign, starts_at=NOON, advocates_first_hours=24)
    people = _people(campaign, tier="advocate")

    def run():
        with time_machine.travel(NOON - dt.timedelta(hours=23), tick=False):
            return advocates_first_open_due()

    return people, run


def event_reminder():
    start = timezone.now() + dt.timedelta(hours=12)
    action = event_action(event_starts_at=start, event_capacity=None, reminder_hours=24)
    people = _people(action.campaign)
    for person in people:
        event_rsvp(action=action, supporter=person)
    mail.outbox.clear()  # the RSVP confirmations
    return people, event_reminders_send_due


@pytest.mark.parametrize(
    "kind", [milestone, campaign_update, deadline_extended, advocates_first, event_reminder]
)
def test_a_broker_failing_mid_fan_out_still_mails_everyone_exactly_once(
    kind, celery_eager, broker_fails_after_first_message, django_capture_on_commit_callbacks
):
    people, run = kind()
    with django_capture_on_commit_callbacks(execute=True):
        run()
    assert len(broker_fails_after_first_message) > 1  # the broker really did refuse some
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        p.email for p in people
    )
