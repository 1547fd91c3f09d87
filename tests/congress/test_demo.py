"""The demo campaign, modelled on the reference pages, carries bills, key messages and
resources, and its call action reaches each supporter's own members of Congress."""

from __future__ import annotations

import pytest

from actions.demo import DEMO_CAMPAIGN, demo_actions_seed
from actions.models import Action, CongressTargets
from congress.models import Bill, CampaignResource
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_carries_bills_key_messages_and_resources():
    campaign = CampaignFactory(slug=DEMO_CAMPAIGN)
    created = demo_actions_seed(slug=DEMO_CAMPAIGN)
    assert "bill H.R. 6128" in created
    call = Action.objects.get(campaign=campaign, kind=Action.Kind.CALL)
    assert call.congress_targets == CongressTargets.BOTH
    assert "{target}" in call.call_script
    assert len(call.key_messages.splitlines()) >= 3
    bills = list(Bill.objects.filter(campaign=campaign).order_by("position"))
    assert [b.number for b in bills] == ["H.R. 6128", "H.R. 1932"]
    assert list(bills[0].actions.all()) == [call]
    assert all(b.status_changes.count() == 1 for b in bills)
    hotline = CampaignResource.objects.filter(campaign=campaign).first()
    assert hotline.phone == "1-888-272-1913"
    # Written in both languages (issue 18); the bills' official titles stay in English.
    assert all(r.title_es and r.description_es for r in CampaignResource.objects.all())
    assert all(b.what_it_would_do_es for b in bills)
    # Seeding again changes nothing.
    assert demo_actions_seed(slug=DEMO_CAMPAIGN) == []
    assert Bill.objects.filter(campaign=campaign).count() == 2
