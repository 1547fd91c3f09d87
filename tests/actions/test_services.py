"""Take-action services: counts that replays cannot inflate, capacity, advocates first,
reminders, and the content helpers (script, mailto, tel, .ics)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from actions import services
from actions.content import event_ics, fill_placeholders, mailto_url, script_segments
from actions.models import Action, ActionCompletion, CallOutcome, CallTarget, phone_for_tel
from actions.selectors import State, action_state, actions_visible
from tests.actions.factories import (
    ActionFactory,
    CallTargetFactory,
    email_action,
    event_action,
)
from tests.factories import CampaignFactory, SupporterFactory

pytestmark = pytest.mark.django_db
OUT = CallOutcome.Outcome


def fresh(obj):
    obj.refresh_from_db()
    return obj


# --- calls ------------------------------------------------------------------------------------
def test_reporting_the_same_call_twice_counts_it_once():
    target = CallTargetFactory()
    action = target.action
    supporter = SupporterFactory(campaign=action.campaign)
    first = services.call_outcome_report(
        action=action, target_id=target.pk, supporter=supporter, outcome=OUT.VOICEMAIL
    )
    replay = services.call_outcome_report(
        action=action, target_id=target.pk, supporter=supporter, outcome=OUT.VOICEMAIL
    )
    assert (first, replay) == ("recorded", "unchanged")
    assert fresh(target).voicemail_count == 1
    assert fresh(action).outcome_count == 1
    assert action.completed_count == 1
    assert CallOutcome.objects.count() == 1


def test_calling_again_with_a_different_outcome_moves_the_count():
    target = CallTargetFactory()
    action = target.action
    supporter = SupporterFactory(campaign=action.campaign)
    services.call_outcome_report(
        action=action, target_id=target.pk, supporter=supporter, outcome=OUT.BUSY
    )
    result = services.call_outcome_report(
        action=action, target_id=target.pk, supporter=supporter, outcome=OUT.TALKED
    )
    assert result == "changed"
    target = fresh(target)
    assert (target.busy_count, target.talked_count, target.reported_count) == (0, 1, 1)
    assert fresh(action).outcome_count == 1


def test_calls_to_two_targets_count_two_calls_and_one_person():
    action = ActionFactory()
    a, b = CallTargetFactory(action=action), CallTargetFactory(action=action)
    supporter = SupporterFactory(campaign=action.campaign)
    for target in (a, b):
        services.call_outcome_report(
            action=action, target_id=target.pk, supporter=supporter, outcome=OUT.TALKED
        )
    action = fresh(action)
    assert action.outcome_count == 2
    assert action.completed_count == 1
    assert ActionCompletion.objects.filter(action=action, supporter=supporter).count() == 1


def test_a_target_of_another_action_is_refused_and_nothing_counts():
    action = ActionFactory()
    other = CallTargetFactory()
    supporter = SupporterFactory(campaign=action.campaign)
    with pytest.raises(CallTarget.DoesNotExist):
        services.call_outcome_report(
            action=action, target_id=other.pk, supporter=supporter, outcome=OUT.TALKED
        )
    assert fresh(other).reported_count == 0
    assert fresh(action).outcome_count == 0


def test_a_supporter_of_another_campaign_cannot_report():
    target = CallTargetFactory()
    stranger = SupporterFactory()
    with pytest.raises(services.ActionUnavailable):
        services.call_outcome_report(
            action=target.action, target_id=target.pk, supporter=stranger, outcome=OUT.TALKED
        )
    assert fresh(target).reported_count == 0


def test_reports_on_a_closed_action_change_nothing():
    target = CallTargetFactory(action__ends_at=timezone.now() - dt.timedelta(minutes=1))
    supporter = SupporterFactory(campaign=target.action.campaign)
    with pytest.raises(services.ActionUnavailable):
        services.call_outcome_report(
            action=target.action, target_id=target.pk, supporter=supporter, outcome=OUT.TALKED
        )
    assert not CallOutcome.objects.exists()


def test_rate_limit_stops_a_supporter_and_then_a_network(settings):
    settings.ACTION_RATE_LIMITS = {"supporter": 2, "ip": 3, "window_seconds": 600}
    services.report_throttle(supporter_id=1, ip="10.0.0.1")
    services.report_throttle(supporter_id=1, ip="10.0.0.1")
    with pytest.raises(services.RateLimited, match="supporter"):
        services.report_throttle(supporter_id=1, ip="10.0.0.1")
    # The network's budget is spent too now (3 hits); another supporter on it is stopped.
    with pytest.raises(services.RateLimited, match="ip"):
        services.report_throttle(supporter_id=2, ip="10.0.0.1")
    services.report_throttle(supporter_id=2, ip="10.0.0.2")


def test_rate_limit_window_passes(settings):
    settings.ACTION_RATE_LIMITS = {"supporter": 1, "ip": 100, "window_seconds": 60}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.report_throttle(supporter_id=7, ip="10.0.0.9")
        with pytest.raises(services.RateLimited):
            services.report_throttle(supporter_id=7, ip="10.0.0.9")
        traveller.shift(dt.timedelta(seconds=61))
        services.report_throttle(supporter_id=7, ip="10.0.0.9")


# --- "I sent it" and events ---------------------------------------------------------------------
def test_i_sent_it_counts_once_per_supporter():
    action = email_action()
    supporter = SupporterFactory(campaign=action.campaign)
    assert services.action_complete(action=action, supporter=supporter) is True
    assert services.action_complete(action=action, supporter=supporter) is False
    assert fresh(action).completed_count == 1


def test_rsvp_stops_at_capacity_and_a_cancel_frees_the_place():
    action = event_action(event_capacity=1)
    alice = SupporterFactory(campaign=action.campaign)
    bob = SupporterFactory(campaign=action.campaign)
    assert services.event_rsvp(action=action, supporter=alice) is True
    assert services.event_rsvp(action=action, supporter=alice) is False
    with pytest.raises(services.EventFull):
        services.event_rsvp(action=action, supporter=bob)
    assert not ActionCompletion.objects.filter(supporter=bob).exists()
    assert fresh(action).completed_count == 1
    assert services.event_rsvp_cancel(action=action, supporter=alice) is True
    assert services.event_rsvp_cancel(action=action, supporter=alice) is False
    assert services.event_rsvp(action=action, supporter=bob) is True
    assert fresh(action).completed_count == 1


# --- advocates first ----------------------------------------------------------------------------
NOON = dt.datetime(2030, 6, 1, 19, 0, tzinfo=dt.UTC)


def early_action(**kwargs):
    return ActionFactory(starts_at=NOON, advocates_first_hours=24, **kwargs)


@pytest.mark.parametrize(
    ("when", "tier", "expected"),
    [
        (NOON - dt.timedelta(hours=25), "champion", State.HIDDEN),  # before the window: nobody
        (NOON - dt.timedelta(hours=25), "ally", State.HIDDEN),
        (NOON - dt.timedelta(hours=23), "advocate", State.EARLY),
        (NOON - dt.timedelta(hours=23), "champion", State.EARLY),
        (NOON - dt.timedelta(hours=23), "ally", State.HIDDEN),
        (NOON - dt.timedelta(seconds=1), "ally", State.HIDDEN),
        (NOON, "ally", State.OPEN),
        (NOON, "advocate", State.OPEN),
    ],
)
def test_advocates_first_visibility_by_tier_and_time(when, tier, expected):
    campaign = CampaignFactory(deadline=NOON + dt.timedelta(days=30))
    action = early_action(campaign=campaign)
    supporter = SupporterFactory(campaign=campaign, tier=tier)
    from actions.selectors import supporter_has_early_access

    with time_machine.travel(when, tick=False):
        early = supporter_has_early_access(supporter)
        assert action_state(action, now=timezone.now(), early_access=early) == expected
        visible = actions_visible(campaign=campaign, now=timezone.now(), early_access=early)
        assert (action in visible) == (expected != State.HIDDEN)


def test_an_advocate_who_left_gets_no_early_access():
    from actions.selectors import supporter_has_early_access

    supporter = SupporterFactory(tier="advocate", left_at=timezone.now())
    assert supporter_has_early_access(supporter) is False
    assert supporter_has_early_access(SupporterFactory(tier="champion", confirmed_at=None)) is False


def test_ally_cannot_report_before_the_action_opens_to_everyone():
    campaign = CampaignFactory(deadline=NOON + dt.timedelta(days=30))
    action = early_action(campaign=campaign)
    target = CallTargetFactory(action=action)
    ally = SupporterFactory(campaign=campaign, tier="ally")
    advocate = SupporterFactory(campaign=campaign, tier="advocate")
    with time_machine.travel(NOON - dt.timedelta(hours=2), tick=False):
        with pytest.raises(services.ActionUnavailable):
            services.call_outcome_report(
                action=action, target_id=target.pk, supporter=ally, outcome=OUT.TALKED
            )
        services.call_outcome_report(
            action=action,
            target_id=target.pk,
            supporter=advocate,
            outcome=OUT.TALKED,
            early_access=True,
        )
    assert fresh(target).talked_count == 1


def test_open_advocates_first_emails_advocates_and_champions_once(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(deadline=NOON + dt.timedelta(days=30))
    action = early_action(campaign=campaign, title="Call Senator Feinstein")
    advocate = SupporterFactory(campaign=campaign, tier="advocate", consent_updates=True)
    champion = SupporterFactory(campaign=campaign, tier="champion", consent_updates=True)
    SupporterFactory(campaign=campaign, tier="ally", consent_updates=True)
    SupporterFactory(campaign=campaign, tier="advocate", consent_updates=False)
    SupporterFactory(campaign=campaign, tier="advocate", consent_updates=True, left_at=NOON)
    SupporterFactory(tier="advocate", consent_updates=True)  # another campaign

    with (
        time_machine.travel(NOON - dt.timedelta(hours=25), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.advocates_first_open_due() == 0
    assert mail.outbox == []
    with time_machine.travel(NOON - dt.timedelta(hours=23, minutes=58), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.advocates_first_open_due() == 2
        with django_capture_on_commit_callbacks(execute=True):
            assert services.advocates_first_open_due() == 0  # the next beat: already claimed
    assert sorted(m.to[0] for m in mail.outbox) == sorted([advocate.email, champion.email])
    message = mail.outbox[0]
    assert "Call Senator Feinstein" in message.subject
    assert f"/c/{campaign.slug}/act/{action.pk}/" in message.body
    assert "June 1 2030 12:00 PM PDT" in message.body  # opens to everyone, campaign time
    assert fresh(action).advocates_notified_at is not None


def test_open_advocates_first_skips_mail_once_the_action_is_open_to_everyone(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(deadline=NOON + dt.timedelta(days=30))
    action = early_action(campaign=campaign)
    SupporterFactory(campaign=campaign, tier="advocate", consent_updates=True)
    with (
        time_machine.travel(NOON + dt.timedelta(hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.advocates_first_open_due() == 0
    assert mail.outbox == []
    assert fresh(action).advocates_notified_at is not None


def test_the_beat_task_is_scheduled_every_five_minutes(settings):
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "actions.tasks.open_advocates_first"
    )
    assert entry["schedule"] == 300.0


# --- event reminders ---------------------------------------------------------------------------
def test_event_reminders_go_once_to_people_going(django_capture_on_commit_callbacks, celery_eager):
    start = timezone.now() + dt.timedelta(days=3)
    action = event_action(
        event_starts_at=start, event_ends_at=start + dt.timedelta(hours=2), reminder_hours=24
    )
    going = SupporterFactory(campaign=action.campaign)
    cancelled = SupporterFactory(campaign=action.campaign)
    services.event_rsvp(action=action, supporter=going)
    services.event_rsvp(action=action, supporter=cancelled)
    services.event_rsvp_cancel(action=action, supporter=cancelled)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.event_reminders_send_due() == 0  # three days out: too early
    with time_machine.travel(start - dt.timedelta(hours=23), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.event_reminders_send_due() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert services.event_reminders_send_due() == 0
    assert [m.to for m in mail.outbox] == [[going.email]]
    assert "Families Belong Together rally" in mail.outbox[0].subject
    assert "Oakland City Hall" in mail.outbox[0].body
    assert f"/act/{action.pk}/event.ics" in mail.outbox[0].body


# --- validation and content --------------------------------------------------------------------
@pytest.mark.parametrize("phone", ["(202) 224-3553", "+1 202 224 3553", "202.224.3553"])
def test_good_phone_numbers_pass(phone):
    CallTargetFactory.build(action=ActionFactory(), phone=phone).full_clean()


@pytest.mark.parametrize(
    "phone", ["call me", "12345", "202-224-3553 ext 5", "+1 (202) 224-355399999"]
)
def test_bad_phone_numbers_are_refused_with_a_sentence(phone):
    target = CallTargetFactory.build(action=ActionFactory(), phone=phone)
    with pytest.raises(ValidationError, match="Enter a phone number"):
        target.full_clean()


def test_tel_link_keeps_digits_and_the_plus():
    assert phone_for_tel("(202) 224-3553") == "2022243553"
    assert phone_for_tel("+1 202.224.3553") == "+12022243553"


def test_email_action_needs_a_valid_address_subject_and_letter():
    action = email_action(email_to="not-an-address", email_subject=" ", email_body="")
    with pytest.raises(ValidationError) as caught:
        action.full_clean()
    assert set(caught.value.message_dict) >= {"email_to", "email_subject", "email_body"}


def test_advocates_first_needs_a_start_time():
    action = ActionFactory.build(
        campaign=CampaignFactory(), advocates_first_hours=12, starts_at=None
    )
    with pytest.raises(ValidationError, match="opens to everyone"):
        action.full_clean()


def test_event_must_end_after_it_starts_and_have_a_place():
    start = timezone.now()
    action = event_action(event_ends_at=start + dt.timedelta(days=5), event_place="")
    action.event_address = ""
    action.event_ends_at = action.event_starts_at - dt.timedelta(hours=1)
    with pytest.raises(ValidationError) as caught:
        action.full_clean()
    assert {"event_ends_at", "event_place"} <= set(caught.value.message_dict)


def test_script_fills_name_and_zip_and_never_formats_other_braces():
    segments = script_segments(
        "My name is {name}, zip {zip}. {name.__class__} {0} {{name}}",
        name="Rosa <b>Parks</b>",
        zip_code="94609",
    )
    assert [s.text for s in segments if s.filled] == [
        "Rosa <b>Parks</b>",
        "94609",
        "Rosa <b>Parks</b>",
    ]
    text = "".join(s.text for s in segments)
    assert "{name.__class__}" in text
    assert "{0}" in text


def test_script_without_a_known_caller_asks_them_to_say_it():
    assert fill_placeholders("I am {name} from {zip}") == "I am [your name] from [your ZIP code]"


def test_mailto_link_encodes_subject_and_body_with_crlf_line_breaks():
    url = mailto_url(
        to="ceo@example.com", subject="Reunite families & children", body="Dear CEO,\n\nPlease act."
    )
    parts = urlsplit(url)
    assert parts.scheme == "mailto"
    assert parts.path == "ceo@example.com"
    query = parse_qs(parts.query)
    assert query["subject"] == ["Reunite families & children"]
    assert query["body"] == ["Dear CEO,\r\n\r\nPlease act."]
    assert "%0D%0A" in url
    assert " " not in url
    assert unquote(url).startswith("mailto:ceo@example.com?subject=Reunite families")


def test_ics_is_a_valid_calendar_that_parses_back():
    from icalendar import Calendar

    start = dt.datetime(2030, 6, 30, 17, 0, tzinfo=dt.UTC)
    action = event_action(
        title="Families Belong Together; Oakland, CA",
        event_starts_at=start,
        event_ends_at=start + dt.timedelta(hours=2, minutes=30),
        why_it_matters="A long description " * 20,
    )
    body = event_ics(action, url="http://testserver/c/x/act/1/")
    text = body.decode()
    lines = text.split("\r\n")
    assert text.endswith("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines), "lines must be folded at 75 octets"
    assert "\n" not in text.replace("\r\n", "")
    cal = Calendar.from_ical(body)
    assert str(cal["VERSION"]) == "2.0"
    assert cal["PRODID"]
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Families Belong Together; Oakland, CA"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + dt.timedelta(hours=2, minutes=30)
    assert str(event["UID"]) == f"action-{action.pk}@127.0.0.1"
    assert "Oakland City Hall" in str(event["LOCATION"])
    assert event["DTSTAMP"]
    assert "SUMMARY:Families Belong Together\\; Oakland\\, CA" in text


def test_counted_kinds_and_labels():
    from actions.selectors import action_total_label
    from tests.actions.factories import petition_action

    call = ActionFactory(outcome_count=1204)
    assert action_total_label(call) == "1,204 calls made"
    assert action_total_label(email_action(completed_count=5)) == "5 emails sent"
    assert action_total_label(email_action(completed_count=4)) == "Be among the first to write"
    assert action_total_label(petition_action(completed_count=0)) == "Be among the first to sign"
    # Staff screens report the real figure.
    assert action_total_label(email_action(completed_count=1), invite=False) == "1 email sent"
    assert Action.Kind.LEARN not in Action.COUNTED_KINDS


def test_demo_actions_are_valid_and_seeded_once():
    from django.core.management import call_command

    from actions.demo import demo_actions_seed

    campaign = CampaignFactory(slug="end-child-detention")
    call_command("seed_demo_actions")
    kinds = set(Action.objects.filter(campaign=campaign).values_list("kind", flat=True))
    assert kinds == set(Action.Kind.values)
    assert demo_actions_seed() == []
    assert Action.objects.filter(campaign=campaign).count() == 8
    briefing = Action.objects.get(campaign=campaign, advocates_first_hours__gt=0)
    assert action_state(briefing, now=timezone.now(), early_access=True) == State.EARLY


def test_a_closed_petition_changes_nobodys_details():
    from tests.actions.factories import petition_action

    action = petition_action(ends_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(services.ActionUnavailable):
        services.petition_sign(
            action=action, name="Late Larry", email="larry@example.org", postal_code="94609"
        )
    assert not ActionCompletion.objects.exists()
    from supporters.models import Supporter

    assert not Supporter.objects.filter(email="larry@example.org").exists()


def test_the_beat_task_runs_the_service_and_reports_how_many_it_queued(
    django_capture_on_commit_callbacks, celery_eager
):
    from actions.tasks import advocates_first_open_due

    campaign = CampaignFactory(deadline=NOON + dt.timedelta(days=30))
    early_action(campaign=campaign)
    SupporterFactory(campaign=campaign, tier="champion", consent_updates=True)
    with (
        time_machine.travel(NOON - dt.timedelta(hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert advocates_first_open_due.apply().get() == 1
        assert advocates_first_open_due.apply().get() == 0
    assert len(mail.outbox) == 1
    assert "As an Advocate or Champion" in mail.outbox[0].body
