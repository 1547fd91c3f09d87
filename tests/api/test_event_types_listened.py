"""The event types some active endpoint listens to are kept per process for a few seconds
(api/events.py, issue 14), so a charge asks the database nothing about webhooks. An endpoint
saved in another process (an organizer's page in a web worker) must still get the events that
happen after its save commits: before that cache, each hand-over asked the database, and an
event dropped there is never recorded, retried or shown in the delivery log."""

from __future__ import annotations

import pytest

from api import events
from api.webhooks import webhook_endpoint_save
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handed_over(monkeypatch) -> list[tuple[str, int]]:
    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(
        events.webhook_event_fan_out,
        "delay",
        lambda **kwargs: sent.append((kwargs["event_type"], kwargs["object_id"])),
    )
    return sent


def test_an_endpoint_saved_in_another_process_gets_the_next_event(
    handed_over, django_capture_on_commit_callbacks
):
    events.event_types_forget()  # a list left by another test
    assert "pledge.paid" not in events.event_types_listened()  # this worker: nobody listens
    this_process = events._listened
    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_save(
            organization=OrganizationFactory(),
            url="https://crm.example.org/hooks",
            description="CRM",
            events=["pledge.paid"],
        )
    events._listened = this_process  # the save happened in a web worker, not here
    with django_capture_on_commit_callbacks(execute=True):
        events.event_emit("pledge.paid", 41)
    assert handed_over == [("pledge.paid", 41)]


def test_nobody_listening_still_costs_no_database_query(
    handed_over, django_capture_on_commit_callbacks, django_assert_num_queries
):
    events.event_types_forget()  # a list left by another test
    assert "pledge.paid" not in events.event_types_listened()
    with django_assert_num_queries(0), django_capture_on_commit_callbacks(execute=True):
        events.event_emit("pledge.paid", 41)
    assert handed_over == []
