"""Text that organizers and supporters type is shown on public pages as text: no script, event
handler or javascript: link they put in it ever reaches a visitor's browser as markup."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import CoalitionMember, Section
from tests.factories import CampaignFactory, SupporterFactory

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("xss")</script>'
HANDLER = "<img src=x onerror=alert(1)>"
LINK = "[click me](javascript:alert(1))"
PAYLOAD = f"{SCRIPT} {HANDLER} {LINK}"
# What would run if any of the payloads got through unescaped.
DANGEROUS = ['<script>alert("xss")', "<img src=x onerror", 'href="javascript:']


def test_typed_text_is_never_rendered_as_markup_on_public_pages():
    from actions.models import Action, CallTarget
    from outreach.models import CampaignUpdate

    campaign = CampaignFactory(title=f"Title {SCRIPT}", summary=f"Summary {PAYLOAD}")
    campaign.organization.about = f"About {PAYLOAD}"
    campaign.organization.save()
    Section.objects.filter(campaign=campaign).update(body=f"Body {PAYLOAD}")
    CoalitionMember.objects.create(
        campaign=campaign, name=f"Partner {SCRIPT}", title=HANDLER, listed_as_supporter=True
    )
    SupporterFactory(
        campaign=campaign,
        tier="champion",
        public_listing=True,
        display_name=f"Champ {SCRIPT}",
        name=HANDLER,
    )
    action = Action.objects.create(
        campaign=campaign,
        kind=Action.Kind.CALL,
        title=f"Call {SCRIPT}",
        why_it_matters=f"Why {PAYLOAD}",
        call_script=f"Say {PAYLOAD}",
        published=True,
    )
    CallTarget.objects.create(action=action, name=f"Target {SCRIPT}", office=HANDLER, phone="1")
    update = CampaignUpdate.objects.create(
        campaign=campaign,
        title=f"Update {SCRIPT}",
        body=f"News {PAYLOAD}",
        published_at=timezone.now(),
    )
    pages = [
        "/",
        f"/c/{campaign.slug}/",
        f"/c/{campaign.slug}/act/",
        f"/c/{campaign.slug}/act/{action.pk}/",
        f"/c/{campaign.slug}/updates/",
        f"/c/{campaign.slug}/updates/{update.pk}/",
        f"/c/{campaign.slug}/embed/",
        f"/c/{campaign.slug}/support/ally/",
        f"/c/{campaign.slug}/support/advocate/",
    ]
    client = Client()
    problems = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        problems += [f"{url}: {bad}" for bad in DANGEROUS if bad in html]
        if url == f"/c/{campaign.slug}/":
            assert "&lt;script&gt;" in html  # the text is there, shown as text
    assert not problems, "\n".join(problems)
