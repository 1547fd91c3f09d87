"""Supporters keep their language: stored when they sign on or pledge, and every email to them
is written in it — links to the /es/ pages, the deadline in Spanish in the campaign's zone,
money for the locale (the English forms unchanged)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import translation

from campaigns.templatetags.rallyround import money
from pledges.models import Pledge
from pledges.services.pledging import _email
from supporters.models import Supporter
from tests.factories import CampaignFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def test_money_and_dates_are_written_for_the_active_language():
    campaign = CampaignFactory(timezone="America/Los_Angeles")
    moment = dt.datetime(2026, 12, 16, 1, 30, tzinfo=dt.UTC)
    assert money(150000, "usd") == "$1,500"
    assert money(1234567, "usd") == "$12,345.67"
    assert campaign.local_display(moment) == "Tuesday, December 15 2026 5:30 PM PST"
    with translation.override("es"):
        assert money(150000, "usd") == "$1,500"
        assert money(1234567, "usd") == "$12,345.67"
        assert campaign.local_display(moment) == "martes, 15 de diciembre de 2026, 5:30 p.m. PST"


def test_a_spanish_sign_on_is_remembered_and_confirmed_in_spanish(
    client, django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/es/c/{campaign.slug}/support/ally/",
            {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": "94609"},
        )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/es/c/{campaign.slug}/")
    supporter = Supporter.objects.get()
    assert supporter.language == "es"
    message = mail.outbox[-1]
    assert message.subject == f"[Rallyround] Confirma tu apoyo a {campaign.title}"
    assert "Hola, Rosa Parks:" in message.body
    assert re.search(rf"http://\S+/es/c/{campaign.slug}/support/ally/confirm/\S+/", message.body)
    html = message.alternatives[0][0]
    assert '<html lang="es">' in html
    assert "Confirmar mi apoyo" in html


def test_an_english_sign_on_stays_english(client, django_capture_on_commit_callbacks, celery_eager):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/c/{campaign.slug}/support/ally/",
            {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": "94609"},
        )
    assert Supporter.objects.get().language == "en"
    assert mail.outbox[-1].subject == f"[Rallyround] Confirm your support for {campaign.title}"


def test_the_receipt_carries_the_deadline_in_spanish_in_the_campaigns_zone(
    django_capture_on_commit_callbacks, celery_eager
):
    campaign = CampaignFactory(
        timezone="America/Los_Angeles",
        deadline=dt.datetime(2030, 3, 2, 7, 59, tzinfo=dt.UTC),
    )
    pledge = PledgeFactory(
        campaign=campaign,
        status=Pledge.Status.ACTIVE,
        amount_cents=150000,
        card_brand="visa",
        card_last4="4242",
    )
    Supporter.objects.filter(pk=pledge.supporter_id).update(language="es")
    pledge.supporter.language = "es"
    with django_capture_on_commit_callbacks(execute=True):
        _email(pledge, "pledge_confirmed")
    message = mail.outbox[-1]
    assert "Tu promesa de donación de $1,500" in message.subject
    assert "viernes, 1 de marzo de 2030, 11:59 p.m. PST" in message.body
    assert "Visa terminada en 4242" in message.body
    assert "/es/pledges/" in message.body
    # The sentence that makes the promise.
    assert "Se te cobrarán $1,500 solo si esta campaña alcanza su meta" in message.body


def test_counts_are_grouped_as_in_us_spanish():
    from django.contrib.humanize.templatetags.humanize import intcomma

    with translation.override("es"):
        assert intcomma(1234567) == "1,234,567"
    assert intcomma(1234567) == "1,234,567"
