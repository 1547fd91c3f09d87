"""The payment pages in Chromium with the real Stripe.js (localstripe's): a supporter finishes
3-D Secure, and another pays with a new card. Screenshots (desktop and phone) land in
var/screenshots/ for a person to look at."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from axe_playwright_python.sync_playwright import Axe
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from pledges.models import Pledge
from pledges.services import settlement
from tests.conftest import screenshot
from tests.factories import UserFactory
from tests.pledges.settlement_support import (
    DECLINE_CARD,
    THREE_DS_CARD,
    assert_ledger_clean,
    charge_due_campaign,
)

S = Pledge.Status
AXE = Axe()


def serious_violations(pg) -> list[str]:
    """axe-core on the page as it is: serious and critical violations, no rule disabled."""
    found = []
    for violation in AXE.run(pg).response["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


pytestmark = [pytest.mark.e2e, pytest.mark.stripe, pytest.mark.django_db(transaction=True)]


def _fill_card(pg, number: str) -> None:
    pg.locator("#card-element input[placeholder=number]").fill(number)
    pg.locator("#card-element input[placeholder=exp_month]").fill("12")
    pg.locator("#card-element input[placeholder=exp_year]").fill("34")
    pg.locator("#card-element input[placeholder=cvc]").fill("123")
    pg.locator("#card-element input[placeholder=postal_code]").fill("94609")


def test_supporter_finishes_3d_secure_in_the_browser_and_is_thanked(
    chaos, staff, live_server, page, phone_page
):
    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    url = live_server.url + reverse("pledges:payment_confirm", kwargs={"token": pledge.token})

    phone_page.goto(url)
    expect(phone_page.get_by_role("button", name="Confirm and pay $15")).to_be_enabled()
    screenshot(phone_page, "settlement-confirm-phone")
    assert serious_violations(phone_page) == []

    page.goto(url)
    button = page.get_by_role("button", name="Confirm and pay $15")
    expect(button).to_be_enabled()
    screenshot(page, "settlement-confirm-desktop")
    button.click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Thank you — your pledge is paid")).to_be_visible()
    screenshot(page, "settlement-confirm-paid-desktop")
    assert serious_violations(page) == []
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)


def test_supporter_pays_with_a_new_card_in_the_browser(chaos, staff, live_server, page, phone_page):
    campaign, (pledge,) = charge_due_campaign(
        staff, count=1, number=DECLINE_CARD, amount_cents=2800
    )
    start = dt.datetime.now(dt.UTC)
    for days in (0, 2, 6):  # declined three times, a day and then three days apart
        with time_machine.travel(start + dt.timedelta(days=days)):
            settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.NEEDS_NEW_METHOD
    url = live_server.url + reverse("pledges:payment_new_card", kwargs={"token": pledge.token})

    phone_page.goto(url)
    expect(phone_page.get_by_role("button", name="Pay $28")).to_be_enabled()
    screenshot(phone_page, "settlement-new-card-phone")
    assert serious_violations(phone_page) == []

    page.goto(url)
    expect(page.get_by_role("button", name="Pay $28")).to_be_enabled()
    _fill_card(page, "4242424242424242")
    screenshot(page, "settlement-new-card-desktop")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Pay $28").click()
    expect(page.get_by_role("heading", name="Thank you — your pledge is paid")).to_be_visible()
    screenshot(page, "settlement-new-card-paid-desktop")
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert pledge.card_last4 == "4242"
    assert_ledger_clean(chaos, campaign)


def _login(context_page, live_server, user) -> None:
    from django.conf import settings

    client = Client()
    client.force_login(user)
    context_page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_staff_read_the_settlement_report_and_a_pledge_history(
    chaos, staff, live_server, page, phone_page
):
    campaign, pledges = charge_due_campaign(staff, count=3)
    settlement.settle_run(campaign=campaign)
    report = live_server.url + reverse(
        "admin:pledges_campaignsettlement_change", args=[campaign.pk]
    )
    for pg, name in ((page, "desktop"), (phone_page, "phone")):
        _login(pg, live_server, staff)
        pg.goto(report)
        expect(pg.get_by_role("heading", name="Pledges by outcome")).to_be_visible()
        screenshot(pg, f"settlement-admin-report-{name}")
    page.get_by_role("link", name=f"R-{pledges[0].pk}").click()
    expect(page.get_by_role("heading", name="Payment attempts")).to_be_visible()
    expect(page.get_by_text(f"pledge-{pledges[0].pk}-attempt-1")).to_be_visible()
    screenshot(page, "settlement-admin-pledge-desktop")
    page.get_by_label("Amount to refund (US dollars)").fill("5")
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_text(f"pledge-{pledges[0].pk}-refund-1").first).to_be_visible()
    pledges[0].refresh_from_db()
    assert pledges[0].refunded_cents == 500
    assert_ledger_clean(chaos, campaign)


def test_staff_see_charging_progress_and_the_expected_finish(live_server, page, phone_page):
    from django.utils import timezone

    from campaigns.models import Campaign
    from pledges.models import PaymentAttempt
    from tests.factories import CampaignFactory, PledgeFactory

    staff = UserFactory(email="staff.progress@example.org", is_staff=True, is_superuser=True)
    campaign = CampaignFactory(goal_cents=100, timezone="America/Los_Angeles")
    pledges = [PledgeFactory(campaign=campaign, status=S.CHARGE_DUE) for _ in range(8)]
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.SUCCEEDED, frozen_backer_count=8, frozen_pledged_cents=16_000
    )
    for pledge in pledges[:3]:
        Pledge.objects.filter(pk=pledge.pk).update(status=S.PAID, paid_cents=pledge.amount_cents)
        PaymentAttempt.objects.create(
            pledge=pledge,
            number=1,
            idempotency_key=f"pledge-{pledge.pk}-attempt-1",
            amount_cents=pledge.amount_cents,
            outcome="succeeded",
            finished_at=timezone.now(),
        )
    url = live_server.url + reverse("admin:pledges_campaignsettlement_change", args=[campaign.pk])
    for pg, name in (
        (page, "settlement-progress-desktop"),
        (phone_page, "settlement-progress-phone"),
    ):
        _login(pg, live_server, staff)
        pg.goto(url)
        expect(pg.get_by_role("heading", name="Charging")).to_be_visible()
        expect(pg.get_by_text("3 of 8 pledges answered (37%); 5 still to charge.")).to_be_visible()
        expect(pg.get_by_text(re.compile(r"expected to finish around .* P[SD]T"))).to_be_visible()
        screenshot(pg, name)
        # axe on the new panel (the rest of the report page has its own test).
        found = AXE.run(pg, context=".settlement-progress").response["violations"]
        assert [v["id"] for v in found if v["impact"] in {"serious", "critical"}] == []


# --- moved from the review of the money path (issue 13) ---------------------------------
# --- the confirm page passes the saved card ---------------------------------------------------
RECORD_CONFIRM_ARGS = """
(() => {
  let wrapped;
  Object.defineProperty(window, "Stripe", {
    configurable: true,
    get() { return wrapped; },
    set(factory) {
      wrapped = (key) => {
        const stripe = factory(key);
        const confirm = stripe.confirmCardPayment;
        stripe.confirmCardPayment = (secret, data) => {
          // Kept across the form post that follows (same origin, same tab).
          sessionStorage.setItem("confirmCardPayment", JSON.stringify([secret, data || null]));
          return confirm.call(stripe, secret, data);
        };
        return stripe;
      };
    },
  });
})();
"""


@pytest.mark.e2e
@pytest.mark.stripe
@pytest.mark.django_db(transaction=True)
def test_confirm_page_sends_the_saved_card_with_the_3d_secure_confirmation(
    chaos, staff, live_server, page
):
    """Real Stripe's off-session 3-D Secure intent waits in requires_payment_method: Stripe.js
    must be given the saved card. (localstripe's Stripe.js ignores the argument, so the page's
    call is recorded on its way to Stripe.js.)"""
    from django.urls import reverse
    from playwright.sync_api import expect

    from tests.pledges.settlement_support import THREE_DS_CARD

    campaign, (pledge,) = charge_due_campaign(staff, count=1, number=THREE_DS_CARD)
    settlement.settle_run(campaign=campaign)
    pledge.refresh_from_db()
    assert pledge.status == S.ACTION_REQUIRED
    page.add_init_script(RECORD_CONFIRM_ARGS)
    page.goto(live_server.url + reverse("pledges:payment_confirm", kwargs={"token": pledge.token}))
    page.get_by_role("button", name="Confirm and pay $15").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Thank you — your pledge is paid")).to_be_visible()
    secret, data = json.loads(page.evaluate("sessionStorage.getItem('confirmCardPayment')"))
    assert secret.startswith(f"{pledge.stripe_payment_intent_id}_secret_")
    assert data == {"payment_method": pledge.stripe_payment_method_id}
    pledge.refresh_from_db()
    assert pledge.status == S.PAID
    assert_ledger_clean(chaos, campaign)
