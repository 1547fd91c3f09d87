"""Counts that move and the milestones they pass: the ladder, recorded once, announced to the
people who asked for updates and nobody else."""

from __future__ import annotations

import pytest
from django.core import mail

from campaigns.models import Campaign
from supporters.milestones import next_supporter_milestone
from supporters.models import Milestone
from supporters.services import (
    MILESTONE_BATCH_SIZE,
    milestones_announce,
    milestones_record,
    supporter_confirm,
)
from supporters.tasks import check_milestones
from tests.factories import CampaignFactory, SupporterFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, 100),
        (1, 100),
        (99, 100),
        (100, 200),
        (499, 500),
        (500, 600),
        (600, 800),
        (999, 1_000),
        (1_000, 2_000),
        (9_999, 10_000),
        (10_000, 15_000),
        (49_999, 50_000),
        (50_000, 75_000),
        (99_999, 100_000),
        (100_000, 200_000),
        (250_000, 300_000),
    ],
)
def test_next_supporter_milestone_follows_the_ladder(count, expected):
    assert next_supporter_milestone(count) == expected


def test_reaching_100_supporters_records_the_milestone_once():
    campaign = CampaignFactory()
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    assert [(m.kind, m.threshold) for m in milestones_record(campaign_id=campaign.pk)] == [
        ("supporters", 100)
    ]
    assert milestones_record(campaign_id=campaign.pk) == []
    assert Milestone.objects.filter(campaign=campaign).count() == 1


def test_funding_milestones_are_recorded_at_quarter_steps():
    campaign = CampaignFactory(goal_cents=100_000)
    Campaign.objects.filter(pk=campaign.pk).update(pledged_cents=51_000)
    recorded = milestones_record(campaign_id=campaign.pk)
    assert sorted(m.threshold for m in recorded if m.kind == "funding") == [25, 50]


def test_milestone_email_goes_only_to_confirmed_consenting_supporters(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    yes = SupporterFactory(campaign=campaign, consent_updates=True, email="yes@example.org")
    SupporterFactory(campaign=campaign, consent_updates=False, email="no@example.org")
    SupporterFactory(
        campaign=campaign, consent_updates=True, confirmed_at=None, email="unconfirmed@example.org"
    )
    left = SupporterFactory(campaign=campaign, consent_updates=True, email="left@example.org")
    left.left_at = left.confirmed_at
    left.save()
    SupporterFactory(consent_updates=True, email="other-campaign@example.org")
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    with django_capture_on_commit_callbacks(execute=True):
        check_milestones(campaign_id=campaign.pk)
    assert [m.to for m in mail.outbox] == [[yes.email]]
    message = mail.outbox[0]
    assert "reached 100 supporters" in message.subject
    assert "Let’s get to <strong>200</strong>" in message.alternatives[0][0]
    assert f"/c/{campaign.slug}/unsubscribe/{yes.confirm_token}/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert Milestone.objects.get(campaign=campaign).notified_at is not None


def test_a_milestone_is_announced_once_even_if_the_task_runs_twice(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    SupporterFactory(campaign=campaign, consent_updates=True)
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    (milestone,) = milestones_record(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert milestones_announce(milestone=milestone) == 1
        assert milestones_announce(milestone=milestone) == 0
        check_milestones(campaign_id=campaign.pk)
    assert len(mail.outbox) == 1


def test_milestone_mail_is_sent_in_batches(django_capture_on_commit_callbacks, settings):
    campaign = CampaignFactory()
    SupporterFactory.create_batch(MILESTONE_BATCH_SIZE + 1, campaign=campaign, consent_updates=True)
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    (milestone,) = milestones_record(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        milestones_announce(milestone=milestone)
    assert len(callbacks) == 2  # two batch tasks, queued only after commit


def test_confirming_the_100th_supporter_announces_the_milestone(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=99)
    fan = SupporterFactory(campaign=campaign, consent_updates=True)
    newcomer = SupporterFactory(campaign=campaign, confirmed_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert supporter_confirm(supporter=newcomer)
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 100
    assert [m.to for m in mail.outbox] == [[fan.email]]


def test_passing_several_rungs_at_once_sends_only_the_highest(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    SupporterFactory(campaign=campaign, consent_updates=True)
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=1_234)
    with django_capture_on_commit_callbacks(execute=True):
        check_milestones(campaign_id=campaign.pk)
        check_milestones(campaign_id=campaign.pk)
    assert [m.subject for m in mail.outbox] == [
        f"[Rallyround] {campaign.title} reached 1,000 supporters"
    ]
    recorded = Milestone.objects.filter(campaign=campaign)
    assert recorded.count() == 8  # 100…500, 600, 800, 1,000: all recorded, one announced
    assert not recorded.filter(notified_at__isnull=True).exists()


def test_a_redelivered_milestone_batch_does_not_mail_anyone_twice():
    from supporters.services import milestone_send_batch

    campaign = CampaignFactory()
    fans = SupporterFactory.create_batch(3, campaign=campaign, consent_updates=True)
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    (milestone,) = milestones_record(campaign_id=campaign.pk)
    ids = [f.pk for f in fans]
    assert milestone_send_batch(milestone_id=milestone.pk, supporter_ids=ids) == 3
    assert milestone_send_batch(milestone_id=milestone.pk, supporter_ids=ids) == 0
    assert len(mail.outbox) == 3


def test_someone_who_unsubscribed_after_the_batch_was_queued_gets_nothing():
    from supporters.services import milestone_send_batch, supporter_unsubscribe

    campaign = CampaignFactory()
    stays, goes = SupporterFactory.create_batch(2, campaign=campaign, consent_updates=True)
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=100)
    (milestone,) = milestones_record(campaign_id=campaign.pk)
    supporter_unsubscribe(supporter=goes)
    milestone_send_batch(milestone_id=milestone.pk, supporter_ids=[stays.pk, goes.pk])
    assert [m.to for m in mail.outbox] == [[stays.email]]


def test_a_seeded_site_announces_no_milestone_it_started_past(
    django_capture_on_commit_callbacks, celery_eager, settings, tmp_path
):
    """The demo campaigns start with hundreds of supporters and some funding: the first real
    sign-on must not mail everyone about rungs passed before anyone was watching."""
    import io

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    mail.outbox.clear()
    campaign = Campaign.objects.filter(status=Campaign.Status.LIVE, supporter_count__gt=150)[0]
    assert Milestone.objects.filter(campaign=campaign, notified_at__isnull=True).count() == 0
    newcomer = SupporterFactory(campaign=campaign, confirmed_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert supporter_confirm(supporter=newcomer)
    assert mail.outbox == []
