"""Campaign content in two languages: each text field has an English and a Spanish column,
a page falls back field by field to the campaign's main language and says so discreetly, and
the campaign page's query count does not change."""

from __future__ import annotations

import pytest
from django.utils import translation

from campaigns.models import Campaign, Section
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_a_campaign_written_in_both_languages_shows_each_in_its_own(client):
    campaign = CampaignFactory(title="Free the children", summary="English lede.")
    Campaign.objects.filter(pk=campaign.pk).update(
        title_es="Liberen a los niños", summary_es="Entrada en español."
    )
    english = client.get(f"/c/{campaign.slug}/").content.decode()
    spanish = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert "Free the children" in english
    assert "Liberen a los niños" not in english
    assert "Liberen a los niños" in spanish
    assert "Entrada en español." in spanish
    assert "Free the children" not in spanish
    assert "Esta campaña está escrita en inglés" not in spanish


def test_an_untranslated_field_falls_back_to_the_main_language_and_the_page_says_so(client):
    campaign = CampaignFactory(title="Free the children", summary="English lede.")
    Campaign.objects.filter(pk=campaign.pk).update(title_es="Liberen a los niños")
    Section.objects.create(campaign=campaign, heading="The problem", body="Kids in cages.")
    spanish = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert "Liberen a los niños" in spanish  # translated
    assert "English lede." in spanish  # not translated: the main language
    assert "The problem" in spanish
    assert "Partes de esta campaña solo están en inglés" in spanish
    with translation.override("es"):
        campaign = Campaign.objects.get(pk=campaign.pk)
        assert campaign.title == "Liberen a los niños"
        assert campaign.summary == "English lede."


def test_a_spanish_first_campaign_falls_back_to_spanish_on_the_english_page(client):
    campaign = CampaignFactory(language="es")
    Campaign.objects.filter(pk=campaign.pk).update(
        title_en="", title_es="Liberen a los niños", summary_en="", summary_es="Entrada."
    )
    english = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "Liberen a los niños" in english
    assert "Parts of this campaign are only in Spanish" in english


def test_the_spanish_campaign_page_runs_as_many_queries_as_the_english_one(
    client, django_assert_max_num_queries, settings
):
    settings.PAGE_CACHE_SECONDS = 0
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = CampaignFactory()
    client.get(f"/c/{campaign.slug}/")
    with CaptureQueriesContext(connection) as english:
        client.get(f"/c/{campaign.slug}/")
    with CaptureQueriesContext(connection) as spanish:
        client.get(f"/es/c/{campaign.slug}/")
    assert len(spanish) == len(english)


def test_the_demo_has_a_campaign_written_in_both_languages(client, settings, tmp_path):
    import io

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    spanish = client.get("/es/c/end-child-detention/").content.decode()
    assert "Que no se detenga más a niños migrantes" in spanish
    assert "El problema de los centros de detención" in spanish
    assert "Nuestra misión es cambiar eso" in spanish  # the organization's About
    assert "Partes de esta campaña solo están en" not in spanish
    english = client.get("/c/end-child-detention/").content.decode()
    assert "Stop holding migrant children at detention centers" in english


def test_the_admin_edits_both_languages_without_fallback(admin_client):
    campaign = CampaignFactory(title="Free the children")
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert 'name="title_es"' in page
    assert 'name="summary_es"' in page
    assert 'name="sections-0-heading_es"' in page or "heading_es" in page
    assert 'name="tiers-0-name_es"' in page or "name_es" in page
    # The Spanish title is empty here, not the English one it falls back to on the page.
    assert 'name="title_es" value="Free the children"' not in page


def test_discover_search_finds_a_campaign_in_either_language(client):
    campaign = CampaignFactory(title="Free the children")
    Campaign.objects.filter(pk=campaign.pk).update(title_es="Liberen a los niños")
    other = CampaignFactory(title="Clean air near schools")  # English only
    spanish = client.get("/es/?q=Liberen").content.decode()
    assert f"/es/c/{campaign.slug}/" in spanish
    assert f"/es/c/{other.slug}/" in client.get("/es/?q=Clean").content.decode()
    assert f"/c/{campaign.slug}/" in client.get("/?q=niños").content.decode()
