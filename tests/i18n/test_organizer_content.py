"""The rest of what organizers write, in two languages (issue 18): a campaign's resources, what
its bills would do, and its organization's "About". Each shows in the page's language when it
is written, falls back field by field to the other one with the discreet note when it is not,
and the pages run as many queries in Spanish as in English. A bill's number, official title and
sponsors are Congress's record: they stay in English, and Spanish pages say so."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Organization
from congress.models import Bill, CampaignResource
from tests.factories import CampaignFactory, OrganizationFactory, organizer_of

pytestmark = pytest.mark.django_db

NOTE_ES = "Partes de esta campaña solo están en inglés"
RESOURCES_NOTE_ES = "Algunos de estos recursos solo están en inglés"


def resource(campaign, **fields) -> CampaignResource:
    defaults = {
        "title": "Detention hotline",
        "description": "Legal help for people in detention.",
        "phone": "1-888-272-1913",
        "phone_note": "From inside a detention center, dial 566#",
    }
    return CampaignResource.objects.create(campaign=campaign, **{**defaults, **fields})


def bill(campaign, **fields) -> Bill:
    return Bill.objects.create(
        campaign=campaign,
        number="H.R. 6128",
        title="Help Separated Families Act",
        chamber=Bill.Chamber.HOUSE,
        status_date=dt.date(2026, 1, 5),
        what_it_would_do="Keep families together.",
        **fields,
    )


def test_a_resource_written_in_spanish_shows_in_spanish_on_the_spanish_pages(client):
    campaign = CampaignFactory()
    resource(
        campaign,
        title_es="Línea de ayuda para personas detenidas",
        description_es="Ayuda legal para personas detenidas.",
        phone_note_es="Desde un centro de detención, marque 566#",
    )
    for url in (f"/es/c/{campaign.slug}/resources/", f"/es/c/{campaign.slug}/"):
        page = client.get(url).content.decode()
        assert "Línea de ayuda para personas detenidas" in page
        assert "Ayuda legal para personas detenidas." in page
        assert "marque 566#" in page
        assert "Detention hotline" not in page
        assert RESOURCES_NOTE_ES not in page
    english = client.get(f"/c/{campaign.slug}/resources/").content.decode()
    assert "Detention hotline" in english
    assert "Línea de ayuda" not in english


def test_an_untranslated_resource_field_falls_back_to_english_and_the_page_says_so(client):
    campaign = CampaignFactory()
    resource(campaign, title_es="Línea de ayuda para personas detenidas")
    page = client.get(f"/es/c/{campaign.slug}/resources/").content.decode()
    assert "Línea de ayuda para personas detenidas" in page  # written in Spanish
    assert "Legal help for people in detention." in page  # not: the English one
    assert NOTE_ES in page
    campaign_page = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert "Legal help for people in detention." in campaign_page
    assert RESOURCES_NOTE_ES in campaign_page
    # The English pages have nothing to fall back to.
    assert "only in" not in client.get(f"/c/{campaign.slug}/resources/").content.decode()


def spanish_everywhere(campaign) -> None:
    """Give every text of the campaign, its sections and tiers a Spanish version, so that only
    what a test leaves in English falls back."""
    from modeltranslation.translator import translator

    rows = [campaign, *campaign.sections.all(), *campaign.tiers.all()]
    for row in rows:
        names = translator.get_options_for_model(type(row)).fields
        values = {f"{n}_es": f"{getattr(row, f'{n}_en')} (es)" for n in names}
        type(row).objects.filter(pk=row.pk).update(
            **{k: v for k, v in values.items() if v != "None (es)" and v != " (es)"}
        )


def test_the_organizations_about_shows_in_spanish_when_written(client):
    organization = OrganizationFactory(about="We are doctors.")
    Organization.objects.filter(pk=organization.pk).update(about_es="Somos médicos.")
    campaign = CampaignFactory(organization=organization)
    spanish_everywhere(campaign)
    spanish = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert "Somos médicos." in spanish
    assert "We are doctors." not in spanish
    assert NOTE_ES not in spanish
    english = client.get(f"/c/{campaign.slug}/").content.decode()
    assert "We are doctors." in english
    assert "Somos médicos." not in english


def test_an_untranslated_about_falls_back_to_english_and_the_campaign_page_says_so(client):
    campaign = CampaignFactory(organization=OrganizationFactory(about="We are doctors."))
    spanish_everywhere(campaign)
    spanish = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert "We are doctors." in spanish
    assert NOTE_ES in spanish  # the campaign's own texts are all in Spanish: the About is not


def test_a_bills_description_is_translated_and_its_official_record_stays_in_english(client):
    campaign = CampaignFactory()
    bill(campaign, what_it_would_do_es="Mantener unidas a las familias.")
    spanish = client.get(f"/es/c/{campaign.slug}/resources/").content.decode()
    assert "Mantener unidas a las familias." in spanish
    assert "Keep families together." not in spanish
    assert "Help Separated Families Act" in spanish  # the official title, as Congress has it
    assert 'data-testid="official-record-note"' in spanish
    assert "Algunos de estos proyectos de ley" not in spanish
    english = client.get(f"/c/{campaign.slug}/resources/").content.decode()
    assert 'data-testid="official-record-note"' not in english

    Bill.objects.update(what_it_would_do_es=None)
    spanish = client.get(f"/es/c/{campaign.slug}/").content.decode()
    assert "Keep families together." in spanish
    assert "Algunos de estos proyectos de ley solo se describen en inglés" in spanish


@pytest.mark.parametrize("path", ["/c/{slug}/resources/", "/c/{slug}/"])
def test_the_spanish_pages_run_as_many_queries_as_the_english_ones(client, settings, path):
    settings.PAGE_CACHE_SECONDS = 0
    organization = OrganizationFactory(about="We are doctors.")
    campaign = CampaignFactory(organization=organization)
    for i in range(3):
        resource(campaign, title=f"Hotline {i}", position=i, title_es=f"Línea {i}")
    bill(campaign)
    url = path.format(slug=campaign.slug)
    client.get(url)
    with CaptureQueriesContext(connection) as english:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as spanish:
        assert client.get(f"/es{url}").status_code == 200
    assert len(spanish) == len(english)


def test_the_admin_shows_the_spanish_fields_to_an_organizer(client):
    campaign = CampaignFactory()
    client.force_login(organizer_of(campaign.organization))
    item = resource(campaign)
    followed = bill(campaign)
    pages = {
        f"/admin/congress/campaignresource/{item.pk}/change/": [
            "title_es",
            "description_es",
            "phone_note_es",
        ],
        "/admin/congress/campaignresource/add/": ["title_es", "description_es"],
        f"/admin/congress/bill/{followed.pk}/change/": ["what_it_would_do_es"],
        f"/admin/campaigns/organization/{campaign.organization.pk}/change/": ["about_es"],
    }
    for url, names in pages.items():
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "In Spanish (en español)" in html, url
        for name in names:
            assert f'name="{name}"' in html, (url, name)
    # The Spanish column is empty in the form, not filled with the English text it falls back to.
    html = client.get(f"/admin/congress/campaignresource/{item.pk}/change/").content.decode()
    assert 'name="title_es" value="Detention hotline"' not in html


def test_an_organizer_saves_the_spanish_texts_from_the_admin(client):
    campaign = CampaignFactory()
    organization = campaign.organization
    client.force_login(organizer_of(organization))
    item = resource(campaign)
    response = client.post(
        f"/admin/congress/campaignresource/{item.pk}/change/",
        {
            "campaign": campaign.pk,
            "kind": "hotline",
            "title": "Detention hotline",
            "title_es": "Línea de ayuda",
            "description": "Legal help for people in detention.",
            "description_es": "",
            "phone": "1-888-272-1913",
            "phone_note": "",
            "phone_note_es": "",
            "url": "",
            "position": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert (item.title_en, item.title_es) == ("Detention hotline", "Línea de ayuda")
    assert item.description_en == "Legal help for people in detention."
    assert not item.description_es  # empty: falls back
    response = client.post(
        f"/admin/campaigns/organization/{organization.pk}/change/",
        {
            "name": organization.name,
            "website": "",
            "address": "",
            "phone": "",
            "about": "We are doctors.",
            "about_es": "Somos médicos.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    organization.refresh_from_db()
    assert (organization.about_en, organization.about_es) == ("We are doctors.", "Somos médicos.")
