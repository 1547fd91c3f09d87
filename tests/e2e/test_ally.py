"""A visitor joins a campaign as an Ally in a real browser, confirms from the email, and sees
the count and the next milestone move; signing on again does not count twice."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from campaigns.models import Campaign
from supporters.models import Supporter
from tests.conftest import screenshot
from tests.factories import CampaignFactory, PledgeFactory, SupporterFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def confirm_link(live_server_url: str) -> str:
    (message,) = [m for m in mail.outbox if "Confirm your support" in m.subject]
    path = re.search(r"https?://[^/\s]+(/c/[^\s]+/confirm/[^\s/]+/)", message.body).group(1)
    return live_server_url + path


def test_visitor_signs_on_confirms_by_email_and_sees_the_count_move(
    live_server, page, celery_eager
):
    campaign = CampaignFactory(title="Fair Fares for Oakland")
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=99)

    page.goto(f"{live_server.url}/c/{campaign.slug}/?utm_source=twitter")
    milestone = page.locator(".stats-card .milestone")
    assert re.search(r"99 supporters\. Let.s get to 100!", milestone.inner_text())
    page.get_by_role("link", name=re.compile("Join as an Ally")).first.click()

    page.get_by_label("Your name").fill("Fannie Lou Hamer")
    page.get_by_label("Email address").fill("Fannie@Example.org")
    page.get_by_label("ZIP/postal code").fill("94609")
    updates = page.get_by_label(re.compile("email me updates"))
    assert not updates.is_checked()
    assert not page.get_by_label(re.compile("may contact me")).is_checked()
    updates.check()
    screenshot(page, "ally-sign-on-desktop")
    page.get_by_role("button", name="Join as an Ally").click()

    page.get_by_role("heading", name="Check your email").wait_for()
    assert "fannie@example.org" in page.inner_text("main")
    screenshot(page, "ally-check-email-desktop")
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 99

    # The link opens a page with a button; opening it alone confirms nothing.
    page.goto(confirm_link(live_server.url))
    assert Supporter.objects.get(campaign=campaign).confirmed_at is None
    screenshot(page, "ally-confirm-desktop")
    page.get_by_role("button", name="Confirm my support").click()

    page.get_by_role("heading", name=re.compile("Thank you")).wait_for()
    assert page.get_by_test_id("supporter-count").inner_text() == "100"
    assert page.get_by_test_id("next-milestone").inner_text() == "200"
    screenshot(page, "ally-thanks-desktop")

    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    assert re.search(r"100 supporters\. Let.s get to 200!", milestone.inner_text())

    supporter = Supporter.objects.get(campaign=campaign)
    assert supporter.email == "fannie@example.org"
    assert supporter.utm_source == "twitter"
    assert supporter.consent_updates
    assert not supporter.consent_org

    # Signing on again with the same address is harmless: one supporter, counted once.
    page.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
    page.get_by_label("Your name").fill("Fannie Hamer")
    page.get_by_label("Email address").fill("fannie@example.org")
    page.get_by_label("ZIP/postal code").fill("94609")
    page.get_by_role("button", name="Join as an Ally").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    assert re.search(r"100 supporters\. Let.s get to 200!", milestone.inner_text())
    assert Supporter.objects.filter(campaign=campaign).count() == 1
    assert Campaign.objects.get(pk=campaign.pk).supporter_count == 100


def test_supporter_pages_look_right_on_a_phone_and_desktop(
    live_server, page, phone_page, celery_eager
):
    """Screenshots of the sign-on, dashboard and account pages for a person to look at."""
    campaign = CampaignFactory(title="Safe Streets for Every Neighborhood")
    Campaign.objects.filter(pk=campaign.pk).update(supporter_count=1234)
    user = UserFactory(email="ella@example.org", first_name="Ella", last_name="Baker")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    mine = SupporterFactory(
        campaign=campaign, user=user, email=user.email, tier="champion", consent_updates=True
    )
    PledgeFactory(
        campaign=campaign,
        supporter=mine,
        tier="champion",
        amount_cents=5000,
        card_last4="4242",
        card_brand="visa",
    )
    SupporterFactory(user=user, email=user.email, confirmed_at=None)

    for pg, suffix in ((page, "desktop"), (phone_page, "phone")):
        pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
        pg.get_by_role("button", name="Join as an Ally").click()
        pg.get_by_text("Please tell us your name.").wait_for()
        screenshot(pg, f"ally-errors-{suffix}")
        pg.goto(f"{live_server.url}/accounts/login/")
        screenshot(pg, f"account-login-{suffix}")
        pg.get_by_label("Email").fill("ella@example.org")
        pg.get_by_label("Password").fill("correct horse battery staple")
        pg.get_by_role("button", name="Log in").click()
        pg.get_by_role("heading", name="My campaigns").wait_for()
        pg.get_by_text("Listing and emails").first.click()
        screenshot(pg, f"dashboard-{suffix}")
        pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
        screenshot(pg, f"ally-already-{suffix}")
        pg.goto(f"{live_server.url}/accounts/email/")
        screenshot(pg, f"account-email-{suffix}")
        pg.goto(f"{live_server.url}/me/delete/")
        screenshot(pg, f"delete-account-{suffix}")
    waiting = SupporterFactory(campaign=campaign, confirmed_at=None, name="Septima Clark")
    for suffix, pg in (("phone", phone_page),):
        pg.context.clear_cookies()
        pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/check-email/")
        screenshot(pg, f"ally-check-email-{suffix}")
        pg.goto(
            f"{live_server.url}/c/{campaign.slug}/support/ally/confirm/{waiting.confirm_token}/"
        )
        screenshot(pg, f"ally-confirm-{suffix}")
        pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/thanks/")
        screenshot(pg, f"ally-thanks-{suffix}")
        pg.goto(f"{live_server.url}/accounts/signup/")
        screenshot(pg, f"account-signup-{suffix}")
        pg.goto(f"{live_server.url}/accounts/login/code/")
        screenshot(pg, f"account-login-code-{suffix}")
        pg.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
        screenshot(pg, f"ally-sign-on-{suffix}")
