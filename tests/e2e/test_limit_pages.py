"""The pages a rate limit answers with (issue 12 §4) read as a plain sentence, at desktop and
phone widths, with no serious axe violation: the new-card payment page once card tries are
spent."""

from __future__ import annotations

import pytest

from pledges.models import Pledge
from tests.conftest import screenshot
from tests.e2e.test_accessibility import WIDTHS, serious_violations
from tests.factories import PledgeFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_new_card_page_once_limited_says_so_plainly(live_server, browser, settings, width):
    settings.NEW_CARD_RATE_LIMITS = {"pledge": 0, "ip": 0, "window_seconds": 3600}
    pledge = PledgeFactory(status=Pledge.Status.NEEDS_NEW_METHOD)
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    base = live_server.url.replace("127.0.0.1", "localhost")
    response = page.goto(f"{base}/pledges/{pledge.token}/new-card/")
    assert response.status == 429
    page.get_by_text("You have tried several cards in a short time").wait_for()
    assert page.locator("[data-client-secret]").count() == 0
    screenshot(page, f"new-card-limited-{WIDTHS[width]['width']}")
    assert serious_violations(page) == []
    context.close()
