"""Pre-hijack, in real browsers (issue 12 §1): a stranger creates an account with someone
else's address on the pledge page; the owner of the mailbox later proves it. The stranger ends
locked out: no session, and the password they chose no longer signs in. Also the take-action
link page (issue 12 §2), with axe and screenshots."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail

from supporters.models import User
from tests.actions.factories import event_action
from tests.conftest import screenshot
from tests.factories import CampaignFactory, SupporterFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VICTIM = "victoria@example.org"
STRANGER_PASSWORD = "mallory's own passphrase 77"


def serious_axe_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        v["id"]
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def test_stranger_who_created_the_account_first_is_locked_out_once_the_owner_proves_it(
    live_server, browser, celery_eager
):
    campaign = CampaignFactory(title="Safe streets for Fruitvale", slug="safe-streets")
    base = live_server.url

    # The stranger signs up on the pledge page with the victim's address and a password.
    mallory_context = browser.new_context(viewport={"width": 1280, "height": 900})
    mallory = mallory_context.new_page()
    mallory.set_default_timeout(15_000)
    mallory.goto(f"{base}/c/{campaign.slug}/support/advocate/")
    mallory.get_by_label("Other amount (US dollars)").fill("20")
    mallory.get_by_label("Email", exact=True).fill(VICTIM)
    mallory.get_by_label("Choose a password").fill(STRANGER_PASSWORD)
    mallory.get_by_label("Full name").fill("Mallory Stranger")
    mallory.get_by_label("ZIP/postal code").fill("10001")
    mallory.get_by_role("button", name="Continue to card details").click()
    mallory.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    screenshot(mallory, "prehijack-check-email-desktop")
    assert User.objects.filter(email=VICTIM).exists()

    # The owner of the mailbox opens the link in their own browser (a phone) and confirms.
    owner_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    owner = owner_context.new_page()
    owner.set_default_timeout(15_000)
    message = next(m for m in mail.outbox if VICTIM in m.to and "confirm-email" in m.body)
    path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body).group(1)
    owner.goto(base + path)
    owner.get_by_role("button", name="Confirm").click()
    owner.get_by_text("a password chosen before this confirmation no longer works").wait_for()
    screenshot(owner, "prehijack-owner-confirmed-phone")

    # The stranger's browser holds no session, and their password no longer signs in.
    mallory.goto(f"{base}/me/")
    mallory.wait_for_url(re.compile(r"/accounts/login/"))
    mallory.get_by_label("Email").fill(VICTIM)
    mallory.get_by_label("Password").fill(STRANGER_PASSWORD)
    mallory.get_by_role("button", name=re.compile("Log in|Sign in")).click()
    mallory.wait_for_load_state()
    assert "/accounts/login/" in mallory.url
    assert not User.objects.get(email=VICTIM).has_usable_password()
    mallory.goto(f"{base}/me/")
    mallory.wait_for_url(re.compile(r"/accounts/login/"))

    # The owner signs in with a code sent to the mailbox and reaches their account.
    owner.goto(f"{base}/accounts/login/code/")
    owner.locator("input[name=email]").fill(VICTIM)
    owner.locator("form button[type=submit]").first.click()
    code_mail = [m for m in mail.outbox if VICTIM in m.to][-1]
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", code_mail.body, re.M).group(1)
    owner.locator("input[name=code]").fill(code)
    owner.locator("form button[type=submit]").first.click()
    owner.goto(f"{base}/me/")
    assert "/me/" in owner.url
    assert "/accounts/login/" not in owner.url
    mallory_context.close()
    owner_context.close()


def test_take_action_link_page_reads_well_and_passes_axe(live_server, page, phone_page):
    from actions.services import actor_link_token

    action = event_action()
    row = SupporterFactory(campaign=action.campaign, confirmed_at=None, name="Rosa Parks")
    url = (
        f"{live_server.url}/c/{action.campaign.slug}/act/{action.pk}/continue/"
        f"{actor_link_token(supporter=row)}/"
    )
    for pg, name in ((page, "actor-continue-desktop"), (phone_page, "actor-continue-phone")):
        pg.goto(url)
        pg.get_by_role("heading", name="Continue taking action").wait_for()
        screenshot(pg, name)
        assert serious_axe_violations(pg) == []
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Your address is confirmed").wait_for()
    row.refresh_from_db()
    assert row.confirmed_at is not None
    screenshot(page, "actor-continued-desktop")
