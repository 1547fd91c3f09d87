"""The campaign page and discover card while an approved campaign's pledges are collected, in
Chromium at desktop and phone widths (issue 13): collecting, partly collected and collected are
told apart, and the page never claims more than was collected. Screenshots for a person to look
at; axe on each state."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from tests.conftest import screenshot
from tests.e2e.test_accessibility import WIDTHS, serious_violations
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Counters as the pledge state machine leaves them (138 pledges frozen at the deadline).
STATES = {
    "collecting": {"collected_cents": 30_000, "paid_count": 1, "collecting_count": 137},
    "partly_collected": {"collected_cents": 512_300, "paid_count": 121, "uncollected_count": 17},
    "collected": {"collected_cents": 602_800, "paid_count": 138},
}
SAYS = {
    "collecting": "$300 collected from 1 supporter; 137 payments still being collected.",
    "partly_collected": "$5,123 collected from 121 supporters; 17 pledges could not be collected.",
    "collected": "Funded: $6,028 from 138 supporters",
}
BADGE = {
    "collecting": "Collecting",
    "partly_collected": "Partly collected",
    "collected": "Collected",
}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("width", list(WIDTHS))
def test_campaign_page_and_card_tell_how_collection_stands(live_server, browser, state, width):
    campaign = CampaignFactory(
        title="Heat and hot water for every 14th Street tenant",
        slug="fix-the-14th-street-buildings",
        status=Campaign.Status.SUCCEEDED,
        goal_cents=600_000,
        deadline=timezone.now() - dt.timedelta(days=2),
        pledged_cents=602_800,
        backer_count=138,
        supporter_count=189,
        frozen_pledged_cents=602_800,
        frozen_backer_count=138,
        approved_for_collection_at=timezone.now() - dt.timedelta(days=1),
        **STATES[state],
    )
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.goto(f"{live_server.url.replace('127.0.0.1', 'localhost')}/c/{campaign.slug}/")
    outcome = page.locator(f'[data-collection="{state}"]')
    assert " ".join(outcome.inner_text().split()) == f"{BADGE[state]} {SAYS[state]}"
    screenshot(page, f"collection-{state}-{width}")
    assert serious_violations(page) == []

    page.goto(f"{live_server.url.replace('127.0.0.1', 'localhost')}/")
    badge = page.locator(".campaign-card__badge").first
    assert badge.inner_text().strip() == BADGE[state]
    screenshot(page, f"collection-{state}-discover-{width}")
    assert serious_violations(page) == []
    context.close()
