"""The claim of a CHARGE_DUE pledge without reading it first (issue 14) under real row locks:
workers claiming the same pledge at once make one attempt between them, and the claim of a
pledge in any other state still takes the path that reads it. PostgreSQL only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from pledges.models import PaymentAttempt, Pledge
from pledges.services.charging import pledge_claim
from tests.concurrency import race
from tests.factories import PledgeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = Pledge.Status


def test_workers_claiming_one_due_pledge_at_once_make_one_attempt():
    pledge = PledgeFactory(status=S.CHARGE_DUE, amount_cents=4_200)
    now = timezone.now()
    results = race(*[lambda: pledge_claim(pledge.pk, now=now)] * 4)
    won = [r for r in results if r is not None]
    assert len(won) == 1
    claimed, attempt, resumed = won[0]
    assert not resumed
    assert (claimed.status, claimed.attempt_count, claimed.amount_cents) == (S.CHARGING, 1, 4_200)
    assert attempt.amount_cents == 4_200
    numbers = PaymentAttempt.objects.filter(pledge=pledge).values_list("number", flat=True)
    assert list(numbers) == [1]
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempt_count) == (S.CHARGING, 1)
