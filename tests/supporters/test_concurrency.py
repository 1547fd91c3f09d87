"""Races a person causes on the Ally sign-on: a double-clicked form, a confirm link opened in
two tabs. PostgreSQL only (real row locks and unique constraints under concurrency)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from campaigns.models import Campaign
from supporters.models import Supporter
from supporters.services import supporter_confirm_by_token, supporter_sign_on
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int, job):
        try:
            barrier.wait(10)
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def sign_on(campaign, email):
    return supporter_sign_on(campaign=campaign, email=email, name="Rosa", postal_code="94609")


def test_a_double_submitted_sign_on_makes_one_supporter(celery_eager):
    campaign = CampaignFactory()
    results = race(*[lambda: sign_on(campaign, "Rosa@example.org") for _ in range(4)])
    assert Supporter.objects.filter(campaign=campaign).count() == 1
    assert {supporter.pk for supporter, _ in results} == {Supporter.objects.get().pk}


def test_a_confirm_button_pressed_in_two_tabs_at_once_counts_once(celery_eager):
    campaign = CampaignFactory()
    supporter, _ = sign_on(campaign, "rosa@example.org")
    results = race(
        *[
            lambda: supporter_confirm_by_token(campaign=campaign, token=supporter.confirm_token)
            for _ in range(4)
        ]
    )
    assert sum(counted for _, counted in results) == 1
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 1
