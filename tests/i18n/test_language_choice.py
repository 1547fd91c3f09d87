"""Which language a visitor is served in: the /es/ prefix, the first visit's Accept-Language,
the remembered switch, hreflang alternates, and a page cache that never mixes the two."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_english_urls_stay_as_they_are_and_es_prefix_serves_spanish(client):
    campaign = CampaignFactory()
    english = client.get(f"/c/{campaign.slug}/")
    assert english.status_code == 200
    assert '<html lang="en">' in english.content.decode()
    spanish = client.get(f"/es/c/{campaign.slug}/")
    assert spanish.status_code == 200
    body = spanish.content.decode()
    assert '<html lang="es">' in body
    assert "Descubrir" in body
    assert spanish["Content-Language"] == "es"


def test_a_first_visit_from_a_spanish_browser_is_sent_to_the_spanish_page():
    campaign = CampaignFactory()
    client = Client(HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    response = client.get(f"/c/{campaign.slug}/?source=radio")
    assert response.status_code == 302
    assert response["Location"] == f"/es/c/{campaign.slug}/?source=radio"
    assert "Accept-Language" in response["Vary"]


def test_the_switch_is_remembered_over_the_browser_language():
    campaign = CampaignFactory()
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    page = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert f"/language/en/?next=%2Fes%2Fc%2F{campaign.slug}%2F" in page
    switched = client.get(f"/language/en/?next=/es/c/{campaign.slug}/")
    assert switched.status_code == 302
    assert switched["Location"] == f"/c/{campaign.slug}/"
    assert switched.cookies["rr_lang"].value == "en"
    # Remembered: the English URL is no longer redirected for this Spanish browser.
    assert client.get(f"/c/{campaign.slug}/").status_code == 200
    # And back to Spanish: the unprefixed page now redirects.
    client.get(f"/language/es/?next=/c/{campaign.slug}/")
    assert client.get(f"/c/{campaign.slug}/")["Location"] == f"/es/c/{campaign.slug}/"


def test_the_switch_never_sends_anyone_off_site(client):
    response = client.get("/language/es/?next=https://evil.example/")
    assert response["Location"] == "/es/"


def test_public_pages_carry_hreflang_alternates(client, settings):
    campaign = CampaignFactory()
    page = client.get(f"/es/c/{campaign.slug}/").content.decode()
    site = settings.SITE_URL
    assert f'hreflang="en" href="{site}/c/{campaign.slug}/"' in page
    assert f'hreflang="es" href="{site}/es/c/{campaign.slug}/"' in page
    assert f'hreflang="x-default" href="{site}/c/{campaign.slug}/"' in page


def test_machine_routes_are_never_prefixed(client):
    assert client.get("/es/healthz").status_code == 404
    assert client.get("/es/api/v1/").status_code == 404
    assert client.get("/es/admin/").status_code == 404
    # A Spanish browser reaching the API or the admin is not redirected.
    spanish = Client(HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.get("/api/v1/").status_code == 401
    assert spanish.get("/admin/login/").status_code == 200


def test_the_page_cache_keys_on_the_language(settings):
    settings.PAGE_CACHE_SECONDS = 30
    campaign = CampaignFactory()
    english, spanish = Client(), Client()
    first_en = english.get(f"/c/{campaign.slug}/")
    assert english.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"
    first_es = spanish.get(f"/es/c/{campaign.slug}/")
    assert "X-Page-Cache" not in first_es  # not the English copy
    assert '<html lang="es">' in first_es.content.decode()
    second_es = spanish.get(f"/es/c/{campaign.slug}/")
    assert second_es["X-Page-Cache"] == "hit"
    assert '<html lang="es">' in second_es.content.decode()
    again_en = english.get(f"/c/{campaign.slug}/")
    assert again_en["X-Page-Cache"] == "hit"
    assert again_en.content == first_en.content


def test_a_spanish_browser_never_gets_the_cached_english_copy(settings):
    settings.PAGE_CACHE_SECONDS = 30
    campaign = CampaignFactory()
    Client().get(f"/c/{campaign.slug}/")
    assert Client().get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"
    response = Client(HTTP_ACCEPT_LANGUAGE="es").get(f"/c/{campaign.slug}/")
    assert response.status_code == 302
    # A visitor who chose Spanish (cookie) gets a cached Spanish copy, not the English one.
    chooser = Client()
    chooser.cookies["rr_lang"] = "es"
    assert chooser.get(f"/c/{campaign.slug}/").status_code == 302
    chooser.get(f"/es/c/{campaign.slug}/")
    hit = chooser.get(f"/es/c/{campaign.slug}/")
    assert hit["X-Page-Cache"] == "hit"
    assert '<html lang="es">' in hit.content.decode()


def test_the_javascript_strings_come_in_the_pages_language(client):
    spanish = client.get("/es/jsi18n/").content.decode()
    assert "Guardando tu tarjeta" in spanish
    assert "Guardando tu tarjeta" not in client.get("/jsi18n/").content.decode()
    campaign = CampaignFactory()
    page = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert '<script src="/es/jsi18n/"></script>' in page


def test_the_share_card_is_drawn_in_the_pages_language(client):
    campaign = CampaignFactory()
    english = client.get(f"/c/{campaign.slug}/share.png")
    spanish = client.get(f"/es/c/{campaign.slug}/share.png")
    assert english.status_code == spanish.status_code == 200
    assert english.content != spanish.content  # "pledged of" / "prometidos de"
