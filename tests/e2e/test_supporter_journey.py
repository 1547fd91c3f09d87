"""Issue 16 in Chromium, at 1280 and 390 px: the site knows the person (a returning Advocate
manages their pledge in one click, an Ally upgrades, a pledger raising to $30 is offered
Champion), one identity across a call, an email and a petition (no retyping), and every
thank-you page offers a next step. axe stays clean on the pages changed."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client

from pledges.models import Pledge
from supporters.models import Supporter
from tests.actions.factories import ActionFactory, CallTargetFactory, email_action, petition_action
from tests.conftest import screenshot
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def serious_violations(pg) -> list[str]:
    results = Axe().run(pg, context={"exclude": [["#card-element"]]})
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def new_page(browser, width: str):
    context = browser.new_context(
        viewport=WIDTHS[width], is_mobile=width == "phone", has_touch=width == "phone"
    )
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    return pg


def login(pg, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    host = live_server.url.split("://", 1)[1].split(":", 1)[0]
    pg.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": host,
                "path": "/",
            }
        ]
    )


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_returning_advocate_sees_their_pledge_and_manages_it_in_one_click(
    live_server, browser, width
):
    campaign = CampaignFactory(title="Clean air near every school")
    user = verified_user()
    supporter = SupporterFactory(campaign=campaign, user=user, email=user.email, tier="advocate")
    pledge = PledgeFactory(campaign=campaign, supporter=supporter, amount_cents=3000)
    pg = new_page(browser, width)
    login(pg, live_server, user)
    pg.goto(f"{live_server.url}/c/{campaign.slug}/")
    standing = pg.get_by_test_id("my-standing")
    assert "You’re an Advocate · $30 pledged" in standing.inner_text()
    # The header fits on one line, nothing cut off, even signed in (the longest menu).
    header = pg.locator(".site-header__inner").bounding_box()
    assert header["height"] < 72
    assert pg.locator(".site-nav").evaluate("n => n.scrollWidth <= n.clientWidth")
    if width == "phone":  # the sticky bar reaches the pledge (or the tiers) at once
        assert pg.get_by_test_id("support-bar").is_visible()
    screenshot(pg, f"journey-advocate-campaign-{width}")
    assert serious_violations(pg) == []
    standing.get_by_role("link", name="Manage my pledge").click()
    pg.wait_for_url(re.compile(rf"/pledges/{pledge.token}/$"))
    assert "Cancel your pledge" in pg.inner_text("main")
    assert pg.get_by_test_id("next-step").is_visible()
    screenshot(pg, f"journey-advocate-pledge-page-{width}")
    assert serious_violations(pg) == []
    pg.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_ally_upgrades_to_a_pledge(live_server, browser, stripe_local, celery_eager, width):
    campaign = CampaignFactory(title="Clean air near every school")
    user = verified_user()
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier="ally", name="Ida B")
    pg = new_page(browser, width)
    login(pg, live_server, user)
    pg.goto(f"{live_server.url}/c/{campaign.slug}/")
    standing = pg.get_by_test_id("my-standing")
    assert "You’re an Ally" in standing.inner_text()
    standing.get_by_role("link", name="Upgrade to a pledge").click()
    pg.wait_for_url(re.compile(r"/support/advocate/$"))
    pg.locator("label.amount-chip", has_text="Other").click()
    pg.get_by_label("Other amount (US dollars)").fill("20")
    pg.get_by_label("ZIP/postal code").fill("94609")
    pg.get_by_role("button", name="Continue to card details").click()
    pg.wait_for_url(re.compile(r"/pledges/[^/]+/card/$"))
    pg.locator("#card-element input[placeholder=number]").fill("4242424242424242")
    pg.locator("#card-element input[placeholder=exp_month]").fill("12")
    pg.locator("#card-element input[placeholder=exp_year]").fill("34")
    pg.locator("#card-element input[placeholder=cvc]").fill("123")
    pg.locator("#card-element input[placeholder=postal_code]").fill("94609")
    pg.get_by_role("button", name="Save card and pledge $20").click()
    pg.get_by_text("Thank you! Your pledge is active.").wait_for()
    # The thank-you offers the next step, with the supporter's own share code.
    next_step = pg.get_by_test_id("next-step")
    code = Supporter.objects.get(campaign=campaign, user=user).share_code
    assert f"?source={code}" in pg.get_by_test_id("next-share-url").input_value()
    assert next_step.get_by_role("button", name="Copy link").is_visible()
    screenshot(pg, f"journey-ally-upgraded-{width}")
    assert serious_violations(pg) == []
    pledge = Pledge.objects.get(campaign=campaign)
    assert (pledge.status, pledge.amount_cents, pledge.tier) == ("active", 2000, "advocate")
    pg.goto(f"{live_server.url}/c/{campaign.slug}/")
    assert "You’re an Advocate · $20 pledged" in pg.get_by_test_id("my-standing").inner_text()
    pg.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_pledger_raising_to_30_is_offered_champion(live_server, browser, width):
    campaign = CampaignFactory(title="Clean air near every school")
    user = verified_user()
    supporter = SupporterFactory(campaign=campaign, user=user, email=user.email, tier="advocate")
    PledgeFactory(campaign=campaign, supporter=supporter, amount_cents=2000)
    pg = new_page(browser, width)
    login(pg, live_server, user)
    pg.goto(f"{live_server.url}/c/{campaign.slug}/support/advocate/")
    offer = pg.locator("[data-champion-offer]")
    assert offer.is_hidden()
    pg.locator("label.amount-chip", has_text="Other").click()
    other = pg.get_by_label("Other amount (US dollars)")
    assert other.evaluate("el => el === document.activeElement")  # Other focuses its field
    other.fill("30")
    promise = pg.locator(".charge-promise")
    assert "You will be charged $30 only if" in promise.inner_text()
    offer.wait_for(state="visible")
    screenshot(pg, f"journey-champion-offer-{width}")
    assert serious_violations(pg) == []
    offer.get_by_role("link", name="Pledge as a Champion instead").click()
    pg.wait_for_url(re.compile(r"/support/champion/\?amount=30$"))
    assert pg.get_by_label("Other amount (US dollars)").input_value() in {"30", ""}
    assert "You will be charged $30 only if" in pg.locator(".charge-promise").inner_text()
    assert pg.locator("#id_public_listing").count() == 1  # the listing opt-in
    pg.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_person_acts_on_a_call_an_email_and_a_petition_without_retyping_their_email(
    live_server, browser, celery_eager, width
):
    from actions.services import actor_link_token

    campaign = CampaignFactory(title="Clean air near every school")
    call = ActionFactory(campaign=campaign, title="Call the mayor", position=1)
    CallTargetFactory(action=call, name="Mayor Lee")
    letter = email_action(campaign=campaign, title="Email the council", position=2)
    petition = petition_action(campaign=campaign, title="Sign for clean air", position=3)
    pg = new_page(browser, width)
    base = f"{live_server.url}/c/{campaign.slug}/act/"

    # Name, email and ZIP once, on the call; then the link emailed to that address.
    pg.goto(f"{base}{call.pk}/")
    pg.get_by_label("Your name").fill("Rosa Parks")
    pg.get_by_label("Email address").fill("rosa@example.org")
    pg.get_by_label("ZIP code").fill("94609")
    pg.get_by_role("button", name="Continue").click()
    row = Supporter.objects.get(campaign=campaign, email="rosa@example.org")
    pg.goto(f"{base}{call.pk}/continue/{actor_link_token(supporter=row)}/")
    pg.get_by_role("button", name="Continue").click()
    pg.get_by_text("Your address is confirmed").wait_for()

    pg.goto(f"{base}{call.pk}/")
    pg.get_by_label("I left a voicemail").first.check()
    pg.get_by_role("button", name=re.compile("Report my call to Mayor Lee")).click()
    pg.get_by_text("You reported: “I left a voicemail”.").first.wait_for()
    step = pg.get_by_test_id("next-step")
    assert "Email the council" in step.inner_text()
    screenshot(pg, f"journey-call-done-{width}")
    assert serious_violations(pg) == []

    step.get_by_role("link", name=re.compile("Email the council")).click()
    assert pg.locator("input[name=email]").count() == 0  # not asked again
    pg.get_by_role("button", name="I sent it").click()
    pg.get_by_text("Thank you for sending your email!").wait_for()
    assert "Sign for clean air" in pg.get_by_test_id("next-step").inner_text()
    screenshot(pg, f"journey-email-done-{width}")

    pg.get_by_test_id("next-step").get_by_role("link", name=re.compile("Sign for clean")).click()
    assert pg.locator("input[name=email]").count() == 0  # the petition remembers them
    assert "Signing as Rosa Parks" in pg.inner_text("main")
    pg.get_by_role("button", name="Sign the petition").click()
    pg.get_by_text("Thank you for signing!").wait_for()
    assert pg.get_by_test_id("next-step").is_visible()
    screenshot(pg, f"journey-petition-done-{width}")
    assert serious_violations(pg) == []
    for action in (call, letter, petition):
        action.refresh_from_db()
    assert (call.completed_count, letter.completed_count, petition.completed_count) == (1, 1, 1)
    pg.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_ally_thank_you_and_the_advocates_first_teaser_pass_axe(
    live_server, browser, celery_eager, width
):
    import datetime as dt

    from django.utils import timezone

    campaign = CampaignFactory(title="Clean air near every school")
    ActionFactory(campaign=campaign, title="Call the mayor")
    later = ActionFactory(
        campaign=campaign,
        title="Strategy call",
        starts_at=timezone.now() + dt.timedelta(days=2),
        advocates_first_hours=24,
    )
    pg = new_page(browser, width)
    pg.goto(f"{live_server.url}/c/{campaign.slug}/act/{later.pk}/")
    assert "Opens to everyone on" in pg.inner_text("main")
    screenshot(pg, f"journey-teaser-{width}")
    assert serious_violations(pg) == []

    pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
    pg.get_by_label("Your name").fill("Ida B")
    pg.get_by_label("Email address").fill(f"ida-{width}@example.org")
    pg.get_by_label("ZIP/postal code").fill("94609")
    pg.get_by_role("button", name="Join as an Ally").click()
    row = Supporter.objects.get(campaign=campaign, email=f"ida-{width}@example.org")
    pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/confirm/{row.confirm_token}/")
    pg.get_by_role("button", name=re.compile("Confirm")).click()
    step = pg.get_by_test_id("next-step")
    step.wait_for()
    assert "Upgrade to a pledge" in step.inner_text()
    assert "Call the mayor" in step.inner_text()
    screenshot(pg, f"journey-ally-thanks-{width}")
    assert serious_violations(pg) == []
    pg.context.close()


def test_a_card_step_failure_reads_as_a_sentence_never_a_raw_exception(
    live_server, browser, stripe_local, celery_eager
):
    """Issue 16: the card step once showed "Cannot read properties of undefined". Here the
    second try's fresh SetupIntent comes back as an HTML error page (a proxy's 502), which the
    script cannot parse: the person reads a plain sentence."""
    campaign = CampaignFactory(title="Clean air near every school")
    user = verified_user()
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier="ally")
    pg = new_page(browser, "phone")
    login(pg, live_server, user)
    pg.goto(f"{live_server.url}/c/{campaign.slug}/support/advocate/")
    pg.locator("label.amount-chip", has_text="Other").click()
    pg.get_by_label("Other amount (US dollars)").fill("20")
    pg.get_by_label("ZIP/postal code").fill("94609")
    pg.get_by_role("button", name="Continue to card details").click()
    pg.locator("#card-element input[placeholder=number]").fill("4000000000009995")
    pg.locator("#card-element input[placeholder=exp_month]").fill("12")
    pg.locator("#card-element input[placeholder=exp_year]").fill("34")
    pg.locator("#card-element input[placeholder=cvc]").fill("123")
    pg.locator("#card-element input[placeholder=postal_code]").fill("94609")
    pg.get_by_role("button", name="Save card and pledge $20").click()
    errors = pg.locator("#card-errors")
    errors.get_by_text("Your card was declined.").wait_for()
    pg.route(
        "**/card/intent/",
        lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>"),
    )
    pg.get_by_role("button", name="Save card and pledge $20").click()
    errors.get_by_text("We could not reach the card processor just now.").wait_for()
    text = errors.inner_text()
    assert "Unexpected token" not in text
    assert "JSON" not in text
    screenshot(pg, "journey-card-error-phone")
    pg.context.close()
