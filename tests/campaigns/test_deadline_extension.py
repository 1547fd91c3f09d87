"""Staff extend a live campaign's deadline before it passes, and every supporter is told."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignEvent
from campaigns.services import (
    DeadlineNotExtendable,
    campaign_extend_deadline,
    deadline_extended_send_batch,
)
from pledges.models import Pledge
from pledges.services.settlement import campaign_freeze
from supporters.emails import task_hand_over
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    PledgeFactory,
    SupporterFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
C = Campaign.Status
LA = zoneinfo.ZoneInfo("America/Los_Angeles")


@pytest.fixture
def platform_staff():
    """Platform staff by group membership (not a superuser)."""
    user = UserFactory(email="pat.platform@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name="Platform staff"))
    return user


@pytest.fixture
def organizer_and_campaign():
    org = OrganizationFactory()
    organizer = UserFactory(email="olga.organizer@example.org", is_staff=True)
    organizer.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(organizer)
    return organizer, CampaignFactory(organization=org)


def _later(campaign, days=7):
    return campaign.deadline + dt.timedelta(days=days)


def _unchanged(campaign):
    deadline = campaign.deadline
    campaign.refresh_from_db()
    assert campaign.deadline == deadline
    assert not CampaignEvent.objects.filter(campaign=campaign, note__contains="extended").exists()


# --- the service ----------------------------------------------------------------------------
def test_staff_extend_the_deadline_and_every_confirmed_supporter_is_told(
    platform_staff, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(title="Fix the Bus", timezone="America/Los_Angeles")
    pledger = SupporterFactory(campaign=campaign, name="Rosa Pledger", tier="advocate")
    pledge = PledgeFactory(campaign=campaign, supporter=pledger, amount_cents=2500)
    ally = SupporterFactory(campaign=campaign, name="Al Ally")
    SupporterFactory(campaign=campaign, confirmed_at=None, email="waiting@example.org")
    SupporterFactory(campaign=campaign, left_at=timezone.now(), email="gone@example.org")
    old_display = campaign.deadline_display
    new = dt.datetime(2027, 3, 1, 18, 0, tzinfo=LA)
    with django_capture_on_commit_callbacks(execute=True):
        told = campaign_extend_deadline(
            campaign=campaign, new_deadline=new, actor=platform_staff, reason="Council vote moved"
        )
    assert told == 2
    campaign.refresh_from_db()
    assert campaign.deadline == new
    event = CampaignEvent.objects.filter(campaign=campaign).latest("pk")
    assert event.actor == platform_staff
    assert (event.from_status, event.to_status) == (C.LIVE, C.LIVE)
    assert old_display in event.note
    assert "Monday, March 1 2027 6:00 PM PST" in event.note
    assert "Council vote moved" in event.note

    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {pledger.email, ally.email}
    to_pledger = by_recipient[pledger.email]
    assert "Monday, March 1 2027 6:00 PM PST" in to_pledger.subject
    assert f"/pledges/{pledge.token}/" in to_pledger.body
    assert "cancel it at any time before Monday, March 1 2027 6:00 PM PST" in to_pledger.body
    assert "$25" in to_pledger.body
    assert f"/pledges/{pledge.token}/" in to_pledger.alternatives[0][0]
    to_ally = by_recipient[ally.email]
    assert "/pledges/" not in to_ally.body
    assert "Council vote moved" not in to_ally.body  # the reason is for the record only


def test_deadline_emails_are_queued_in_batches_after_commit(platform_staff, monkeypatch):
    """Under the campaign lock nothing is read but a count; after commit one task reads the
    supporters a keyset step at a time and queues their batches (a million supporters' ids are
    never held in memory, nor the campaign row locked while they are read)."""
    monkeypatch.setattr(services, "DEADLINE_EMAIL_BATCH_SIZE", 2)
    monkeypatch.setattr(services, "DEADLINE_FAN_OUT_CHUNK", 4)
    campaign = CampaignFactory()
    SupporterFactory.create_batch(5, campaign=campaign)
    with transaction.atomic():
        captured = []
        monkeypatch.setattr(transaction, "on_commit", lambda fn, **kw: captured.append(fn))
        assert (
            campaign_extend_deadline(
                campaign=campaign, new_deadline=_later(campaign), actor=platform_staff, reason="x"
            )
            == 5
        )
    handed_over = [fn for fn in captured if getattr(fn, "func", None) is task_hand_over]
    assert len(handed_over) == 1  # the fan-out task, handed over after commit
    assert handed_over[0].args[0].name == "campaigns.tasks.send_deadline_extended_fan_out"
    event = CampaignEvent.objects.filter(campaign=campaign).latest("pk")
    step = {"event_id": event.pk, "old_deadline": "then", "new_deadline": "later"}
    captured.clear()
    resume = services.deadline_extended_fan_out(**step)
    assert len(captured) == 2  # four supporters in batches of two
    assert resume is not None
    captured.clear()
    assert services.deadline_extended_fan_out(**step, after_id=resume) is None
    assert len(captured) == 1  # the fifth


def test_a_redelivered_batch_mails_nobody_twice_and_skips_who_left(
    platform_staff, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    stays, leaves = SupporterFactory.create_batch(2, campaign=campaign)
    with django_capture_on_commit_callbacks(execute=False):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign), actor=platform_staff, reason="x"
        )
    event = CampaignEvent.objects.filter(campaign=campaign).latest("pk")
    leaves.left_at = timezone.now()
    leaves.save(update_fields=["left_at"])
    args = {"event_id": event.pk, "old_deadline": "then", "new_deadline": "later"}
    with django_capture_on_commit_callbacks(execute=True):
        assert deadline_extended_send_batch(supporter_ids=[stays.pk, leaves.pk], **args) == 1
        assert deadline_extended_send_batch(supporter_ids=[stays.pk, leaves.pk], **args) == 0
    assert [m.to for m in mail.outbox] == [[stays.email]]


def test_an_organizer_cannot_extend_their_own_campaigns_deadline(organizer_and_campaign):
    organizer, campaign = organizer_and_campaign
    with pytest.raises(PermissionDenied):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign), actor=organizer, reason="More time"
        )
    _unchanged(campaign)


def test_a_deadline_that_already_passed_cannot_be_extended(platform_staff):
    campaign = CampaignFactory(deadline=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(DeadlineNotExtendable, match="already passed"):
        campaign_extend_deadline(
            campaign=campaign,
            new_deadline=timezone.now() + dt.timedelta(days=7),
            actor=platform_staff,
            reason="Too late",
        )
    _unchanged(campaign)


@pytest.mark.parametrize("days", [0, -1])
def test_the_new_deadline_must_be_later_than_the_current_one(platform_staff, days):
    campaign = CampaignFactory()
    with pytest.raises(DeadlineNotExtendable, match="later than the current"):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign, days), actor=platform_staff, reason="x"
        )
    _unchanged(campaign)


def test_a_deadline_is_not_moved_years_ahead_by_a_typo(platform_staff):
    campaign = CampaignFactory()
    with pytest.raises(DeadlineNotExtendable, match="within a year"):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign, 800), actor=platform_staff, reason="x"
        )
    _unchanged(campaign)


def test_an_extension_needs_a_reason(platform_staff):
    campaign = CampaignFactory()
    with pytest.raises(DeadlineNotExtendable, match="Say why"):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign), actor=platform_staff, reason="  "
        )
    _unchanged(campaign)


@pytest.mark.parametrize("status", [C.DRAFT, C.IN_REVIEW, C.SETTLING, C.SUCCEEDED, C.FAILED])
def test_only_a_live_campaigns_deadline_can_be_extended(platform_staff, status):
    campaign = CampaignFactory(status=status)
    with pytest.raises(DeadlineNotExtendable, match="only a live"):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign), actor=platform_staff, reason="x"
        )
    _unchanged(campaign)


def test_a_frozen_campaign_cannot_be_unfrozen_by_an_extension(platform_staff):
    campaign = CampaignFactory(goal_cents=1000)
    PledgeFactory(campaign=campaign, amount_cents=5000)
    deadline = campaign.deadline
    assert campaign_freeze(campaign_id=campaign.pk, now=deadline) == "awaiting_approval"
    with pytest.raises(DeadlineNotExtendable, match="settling"):
        campaign_extend_deadline(
            campaign=campaign, new_deadline=_later(campaign), actor=platform_staff, reason="x"
        )
    campaign.refresh_from_db()
    assert (campaign.status, campaign.deadline) == (C.SETTLING, deadline)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_extension_waits_for_a_freeze_in_progress_and_is_then_refused():
    """The freeze holds the campaign row; the extension queues behind it and, once the freeze
    commits, finds the campaign settling instead of extending a deadline that just passed."""
    staff = UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    campaign = CampaignFactory(goal_cents=1000)
    PledgeFactory(campaign=campaign, amount_cents=5000)
    deadline = campaign.deadline
    frozen = threading.Event()
    outcome: dict[str, object] = {}

    def freeze():
        try:
            with transaction.atomic():
                outcome["freeze"] = campaign_freeze(campaign_id=campaign.pk, now=deadline)
                frozen.set()
                threading.Event().wait(0.5)  # hold the row lock while the extension arrives
        finally:
            frozen.set()
            connection.close()

    def extend():
        frozen.wait(10)
        try:
            campaign_extend_deadline(
                campaign=Campaign.objects.get(pk=campaign.pk),
                new_deadline=deadline + dt.timedelta(days=7),
                actor=staff,
                reason="Racing the freeze",
            )
        except DeadlineNotExtendable as exc:
            outcome["extend"] = str(exc)
        else:
            outcome["extend"] = "extended"
        finally:
            connection.close()

    threads = [threading.Thread(target=freeze), threading.Thread(target=extend)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    close_old_connections()
    assert outcome["freeze"] == "awaiting_approval"
    assert "settling" in str(outcome["extend"])
    campaign.refresh_from_db()
    assert (campaign.status, campaign.deadline) == (C.SETTLING, deadline)
    assert Pledge.objects.get(campaign=campaign).status == Pledge.Status.ACTIVE


# --- the admin ------------------------------------------------------------------------------
def _extend_url(campaign):
    return f"/admin/campaigns/campaign/{campaign.pk}/extend-deadline/"


def test_staff_see_the_extend_button_and_extend_in_the_campaigns_time_zone(
    client, platform_staff, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(timezone="America/New_York")
    supporter = SupporterFactory(campaign=campaign)
    client.force_login(platform_staff)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Extend deadline…" in page
    form = client.get(_extend_url(campaign))
    assert form.status_code == 200
    assert campaign.deadline_display in form.content.decode()
    assert "America/New_York" in form.content.decode()
    wall = (campaign.deadline + dt.timedelta(days=10)).astimezone(campaign.tz)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _extend_url(campaign),
            {"new_deadline": f"{wall:%Y-%m-%d}T17:30", "reason": "Hearing postponed"},
        )
    assert response.status_code == 302
    campaign.refresh_from_db()
    local = campaign.deadline_local
    assert (local.date(), local.hour, local.minute) == (wall.date(), 17, 30)
    assert local.tzinfo.key == "America/New_York"
    assert [m.to for m in mail.outbox] == [[supporter.email]]
    followed = client.get(response["Location"]).content.decode()
    assert "Deadline extended to" in followed


def test_the_admin_form_refuses_an_earlier_deadline_with_a_clear_message(client, platform_staff):
    campaign = CampaignFactory()
    client.force_login(platform_staff)
    wall = (campaign.deadline - dt.timedelta(days=1)).astimezone(campaign.tz)
    response = client.post(
        _extend_url(campaign), {"new_deadline": f"{wall:%Y-%m-%dT%H:%M}", "reason": "Oops"}
    )
    assert response.status_code == 200
    assert "Choose a time later than the current deadline" in response.content.decode()
    _unchanged(campaign)
    response = client.post(_extend_url(campaign), {"new_deadline": "next week", "reason": "x"})
    assert "Enter a valid date/time." in response.content.decode()
    _unchanged(campaign)


def test_the_admin_page_explains_when_a_deadline_can_no_longer_be_extended(client, platform_staff):
    campaign = CampaignFactory(deadline=timezone.now() - dt.timedelta(hours=1))
    client.force_login(platform_staff)
    assert (
        "Extend deadline…"
        not in client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    )
    wall = timezone.now().astimezone(campaign.tz) + dt.timedelta(days=3)
    response = client.post(
        _extend_url(campaign), {"new_deadline": f"{wall:%Y-%m-%dT%H:%M}", "reason": "Late"}
    )
    assert response.status_code == 200
    assert "The deadline already passed" in response.content.decode()
    _unchanged(campaign)


def test_organizers_neither_see_nor_use_the_extend_deadline_page(client, organizer_and_campaign):
    organizer, campaign = organizer_and_campaign
    client.force_login(organizer)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Extend deadline" not in page
    assert client.get(_extend_url(campaign)).status_code == 403
    wall = _later(campaign).astimezone(campaign.tz)
    response = client.post(
        _extend_url(campaign), {"new_deadline": f"{wall:%Y-%m-%dT%H:%M}", "reason": "Mine"}
    )
    assert response.status_code == 403
    _unchanged(campaign)


def test_the_public_page_shows_the_new_deadline_at_once(client, platform_staff):
    campaign = CampaignFactory()
    page = client.get(campaign.get_absolute_url())  # an anonymous visitor: cached copy stored
    assert campaign.deadline_display in page.content.decode()
    new = _later(campaign, 9)
    campaign_extend_deadline(
        campaign=campaign, new_deadline=new, actor=platform_staff, reason="More hearings"
    )
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert campaign.local_display(new) in html
