"""Card testing: the new-card page (linked from the "your card was declined" email) saves and
charges whatever card is typed, so without a limit a stranger holding one link, or many, could
try card after card against it. It is throttled per pledge and per client address; once limited
it answers 429 with a sentence, hands out no new card form and calls Stripe for nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from pledges.models import PaymentAttempt, Pledge
from tests.factories import PledgeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.stripe]
LIMITED = "You have tried several cards in a short time"


@pytest.fixture
def limits(settings):
    settings.NEW_CARD_RATE_LIMITS = {"pledge": 3, "ip": 5, "window_seconds": 3600}
    return settings.NEW_CARD_RATE_LIMITS


def _url(pledge):
    return reverse("pledges:payment_new_card", kwargs={"token": pledge.token})


def _needs_card(**kwargs):
    return PledgeFactory(status=Pledge.Status.NEEDS_NEW_METHOD, **kwargs)


def test_one_pledge_takes_only_a_few_cards_even_from_many_addresses(stripe_local, limits):
    pledge = _needs_card()
    answers = [
        Client(REMOTE_ADDR=f"198.51.100.{i}").post(_url(pledge), {"setup_intent": f"seti_x{i}"})
        for i in range(limits["pledge"] + 1)
    ]
    assert 429 not in {r.status_code for r in answers[:-1]}
    assert answers[-1].status_code == 429
    assert LIMITED in answers[-1].content.decode()
    # The page itself hands out no new card form either.
    page = Client(REMOTE_ADDR="198.51.100.200").get(_url(pledge))
    assert page.status_code == 429
    assert "data-client-secret" not in page.content.decode()
    assert not PaymentAttempt.objects.filter(pledge=pledge).exists()


def test_one_address_tries_only_a_few_cards_across_pledges(stripe_local, limits):
    pledges = [_needs_card() for _ in range(limits["ip"] + 1)]
    client = Client(REMOTE_ADDR="203.0.113.50")
    answers = [client.post(_url(p), {"setup_intent": "seti_x"}) for p in pledges]
    assert 429 not in {r.status_code for r in answers[:-1]}
    assert answers[-1].status_code == 429
    # Another address is not held up by this one.
    other = Client(REMOTE_ADDR="203.0.113.51").post(_url(pledges[-1]), {"setup_intent": "x"})
    assert other.status_code != 429
