"""Races a person causes on the Ally sign-on: a double-clicked form, a confirm link opened in
two tabs. PostgreSQL only (real row locks and unique constraints under concurrency)."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from supporters.models import Supporter
from supporters.services import supporter_confirm_by_token, supporter_sign_on
from tests.concurrency import race
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
