"""Races on PostgreSQL: the same report sent at once from many connections counts once, and
the last places at an event go to exactly as many people as there are places."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from actions import services
from actions.models import ActionCompletion, CallOutcome
from tests.actions.factories import CallTargetFactory, event_action
from tests.factories import SupporterFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def runner(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the test asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_the_same_call_reported_eight_times_at_once_counts_once():
    target = CallTargetFactory()
    action = target.action
    supporter = SupporterFactory(campaign=action.campaign)
    results = run_at_once(
        8,
        lambda i: services.call_outcome_report(
            action=action, target_id=target.pk, supporter=supporter, outcome="talked_to_staff"
        ),
    )
    assert sorted(results) == ["recorded"] + ["unchanged"] * 7
    target.refresh_from_db()
    action.refresh_from_db()
    assert target.talked_count == 1
    assert action.outcome_count == 1
    assert action.completed_count == 1
    assert CallOutcome.objects.count() == 1
    assert ActionCompletion.objects.count() == 1


def test_ten_people_racing_for_three_places_get_three():
    action = event_action(event_capacity=3)
    people = [SupporterFactory(campaign=action.campaign) for _ in range(10)]

    def rsvp(i):
        try:
            return services.event_rsvp(action=action, supporter=people[i])
        except services.EventFull:
            return "full"

    results = run_at_once(10, rsvp)
    assert results.count(True) == 3
    assert results.count("full") == 7
    action.refresh_from_db()
    assert action.completed_count == 3
    assert ActionCompletion.objects.filter(action=action, counted_at__isnull=False).count() == 3
