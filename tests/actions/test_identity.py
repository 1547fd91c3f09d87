"""Take action as someone else (issue 12, section 2): a typed address is never an identity.

Typing an address that is already on the campaign never hands its record to the browser (their
RSVP, call outcomes and completions stay out of reach); its owner is emailed a link instead.
A new address acts at once, but what it reports counts, takes an event place or gets a
reminder only after the emailed link is opened.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from actions.models import ActionCompletion, CallOutcome
from actions.services import call_outcome_report, event_reminders_send_due, event_rsvp
from tests.actions.factories import CallTargetFactory, email_action, event_action
from tests.factories import SupporterFactory

pytestmark = pytest.mark.django_db


VICTIM = "ana@example.org"


def detail(action) -> str:
    return f"/c/{action.campaign.slug}/act/{action.pk}/"


@pytest.fixture
def identify(django_capture_on_commit_callbacks, celery_eager):
    """Tell an action page who you are, and send the email it queues (Celery, after commit)."""

    def post(client, action, email, name="Mallory", postal_code="10001"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                detail(action) + "who/", {"name": name, "email": email, "postal_code": postal_code}
            )

    return post


def emailed_link(to: str) -> str:
    for message in reversed(mail.outbox):
        if to in message.to:
            found = re.search(r"https?://[^\s]+(/c/[^\s]+/act/\d+/continue/[^\s/]+/)", message.body)
            if found:
                return found.group(1)
    raise AssertionError(f"no take-action link sent to {to}")


def test_typing_an_existing_supporters_address_shows_and_cancels_none_of_their_rsvp(identify):
    action = event_action(event_capacity=5)
    owner = SupporterFactory(campaign=action.campaign, email=VICTIM, name="Ana Real")
    event_rsvp(action=action, supporter=owner)
    stranger = Client()
    identify(stranger, action, VICTIM)

    html = stranger.get(detail(action)).content.decode()
    assert "You’re going" not in html
    stranger.post(detail(action) + "rsvp/", {"cancel": "1"})
    assert ActionCompletion.objects.filter(
        action=action, supporter=owner, counted_at__isnull=False
    ).exists()
    action.refresh_from_db()
    assert action.completed_count == 1
    # The owner is emailed a link instead; the stranger is told to check that inbox.
    assert emailed_link(VICTIM)


def test_typing_an_existing_address_reports_nothing_as_them(identify):
    target = CallTargetFactory()
    action = target.action
    owner = SupporterFactory(campaign=action.campaign, email=VICTIM)
    call_outcome_report(
        action=action, target_id=target.pk, supporter=owner, outcome="busy_no_answer"
    )
    stranger = Client()
    identify(stranger, action, VICTIM)
    html = stranger.get(detail(action)).content.decode()
    assert "You reported" not in html
    stranger.post(detail(action) + "call/", {"target": target.pk, "outcome": "talked_to_staff"})
    assert CallOutcome.objects.get(supporter=owner).outcome == "busy_no_answer"
    target.refresh_from_db()
    assert (target.busy_count, target.talked_count) == (1, 0)


def test_the_emailed_link_lets_the_owner_continue_as_themselves(identify):
    action = event_action(event_capacity=5)
    owner = SupporterFactory(campaign=action.campaign, email=VICTIM, name="Ana Real")
    event_rsvp(action=action, supporter=owner)
    browser = Client()
    identify(browser, action, VICTIM, name="Ana")
    link = emailed_link(VICTIM)
    assert browser.get(link).status_code == 200  # a button: mail scanners only follow links
    browser.post(link)
    html = browser.get(detail(action)).content.decode()
    assert "You’re going" in html


def test_unconfirmed_rsvps_take_no_place_and_get_no_reminder(identify):
    action = event_action(event_capacity=1)
    for n in range(3):
        flood = Client()
        identify(flood, action, f"fake{n}@example.org")
        flood.post(detail(action) + "rsvp/")
    action.refresh_from_db()
    assert action.completed_count == 0
    assert action.event_spots_left == 1
    assert event_reminders_send_due(now=action.event_starts_at) == 0

    # A confirmed supporter still gets the place.
    real = SupporterFactory(campaign=action.campaign)
    assert event_rsvp(action=action, supporter=real) is True
    action.refresh_from_db()
    assert action.completed_count == 1


def test_a_new_address_counts_once_its_owner_opens_the_link(identify):
    action = email_action()
    newcomer = Client()
    identify(newcomer, action, "new@example.org", name="Rosa Parks", postal_code="94609")
    newcomer.post(detail(action) + "sent/")
    action.refresh_from_db()
    assert action.completed_count == 0
    assert "counts once you open the link" in newcomer.get(detail(action)).content.decode()

    newcomer.post(emailed_link("new@example.org"))
    action.refresh_from_db()
    assert action.completed_count == 1


def test_a_stranger_who_typed_an_address_first_loses_it_once_the_owner_confirms(identify):
    action = email_action()
    stranger = Client()
    identify(stranger, action, VICTIM)
    owner = Client()
    owner.post(emailed_link(VICTIM))
    # The stranger's browser no longer acts as that (now proven) record.
    html = stranger.get(detail(action)).content.decode()
    assert f'action="{detail(action)}who/"' in html  # asked who they are again
    assert stranger.post(detail(action) + "sent/").status_code == 302
    action.refresh_from_db()
    assert action.completed_count == 0


def test_a_stranger_s_reports_do_not_count_when_the_owner_confirms_in_their_own_browser(
    identify,
):
    """Review finding 3: what a stranger reported with a typed address waits; the owner opening
    the emailed link elsewhere proves the address, not those reports: they are dropped."""
    event = event_action(event_capacity=1)
    stranger = Client()
    identify(stranger, event, VICTIM, name="Mallory")
    stranger.post(detail(event) + "rsvp/")
    owner = Client()
    owner.post(emailed_link(VICTIM))

    event.refresh_from_db()
    assert event.completed_count == 0
    assert event.event_spots_left == 1
    assert not ActionCompletion.objects.filter(action=event).exists()


def test_logging_in_with_the_verified_address_does_not_count_a_stranger_s_reports(identify):
    from allauth.account.models import EmailAddress

    from supporters.models import Supporter
    from supporters.services import supporters_link_user
    from tests.factories import UserFactory

    target = CallTargetFactory()
    action = target.action
    stranger = Client()
    identify(stranger, action, VICTIM, name="Mallory")
    stranger.post(detail(action) + "call/", {"target": target.pk, "outcome": "talked_to_staff"})
    owner = UserFactory(email=VICTIM, first_name="Ana", last_name="Real")
    EmailAddress.objects.create(user=owner, email=VICTIM, primary=True, verified=True)

    supporters_link_user(user=owner)  # login: a verified address confirms the waiting row

    row = Supporter.objects.get(campaign=action.campaign, email=VICTIM)
    assert row.is_confirmed
    assert row.name == "Ana Real"  # the proven account's name, not the typed one
    action.refresh_from_db()
    target.refresh_from_db()
    assert (action.completed_count, action.outcome_count, target.talked_count) == (0, 0, 0)
    assert not CallOutcome.objects.filter(action=action).exists()
