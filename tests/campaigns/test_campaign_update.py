"""`Campaign.objects…update()` behaves as Django's QuerySet.update did before it became one
`UPDATE … RETURNING slug` on PostgreSQL (issue 14): the translated field names
django-modeltranslation rewrites (`title` → `title_<language>`), an empty queryset (0 rows, no
error), a combined queryset (refused, not half done)."""

from __future__ import annotations

import pytest
from django.db import NotSupportedError
from django.utils import timezone, translation

from campaigns.models import Campaign
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_an_update_of_a_translated_field_writes_the_page_languages_column():
    campaign = CampaignFactory(title_en="Fix the bus lines", title_es="")
    with translation.override("es"):
        assert Campaign.objects.filter(pk=campaign.pk).update(title="Arreglar los buses") == 1
        assert Campaign.objects.filter(title="Arreglar los buses").count() == 1
    campaign.refresh_from_db()
    assert campaign.title_es == "Arreglar los buses"
    assert campaign.title_en == "Fix the bus lines"


def test_an_update_of_nothing_updates_nothing_without_an_error():
    CampaignFactory()
    now = timezone.now()
    assert Campaign.objects.none().update(updated_at=now) == 0
    assert Campaign.objects.filter(pk__in=[]).update(updated_at=now) == 0


def test_an_update_of_a_combined_queryset_is_refused():
    first, second = CampaignFactory(), CampaignFactory()
    combined = Campaign.objects.filter(pk=first.pk).union(Campaign.objects.filter(pk=second.pk))
    with pytest.raises(NotSupportedError):
        combined.update(backer_count=7)
    assert set(Campaign.objects.values_list("backer_count", flat=True)) == {0}
