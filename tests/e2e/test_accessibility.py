"""Accessibility: axe-core on every public page and the pledge flow, at desktop and phone widths,
and keyboard-only completion of an Ally sign-on.

Serious and critical axe violations fail the test; no rule is disabled.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client

from campaigns.models import Section
from supporters.models import Supporter
from tests.conftest import screenshot
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def campaign():
    campaign = CampaignFactory(title="Clean air near every school", slug="clean-air")
    Section.objects.filter(campaign=campaign).update(body="Children breathe **the worst air**.")
    SupporterFactory(
        campaign=campaign, tier="champion", public_listing=True, display_name="Ida B. Wells"
    )
    return campaign


def login_cookie(user) -> dict:
    client = Client()
    client.force_login(user)
    assert SESSION_KEY in client.session
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "domain": "localhost",
        "path": "/",
    }


def serious_violations(page) -> list[str]:
    results = AXE.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def public_paths(campaign) -> list[str]:
    slug = campaign.slug
    return [
        "/",
        f"/c/{slug}/",
        f"/c/{slug}/support/ally/",
        f"/c/{slug}/support/advocate/",
        f"/c/{slug}/support/champion/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
    ]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_public_pages_have_no_serious_axe_violations(live_server, browser, campaign, width):
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    problems = {}
    for path in public_paths(campaign):
        response = page.goto(live_server.url.replace("127.0.0.1", "localhost") + path)
        assert response.status == 200, path
        found = serious_violations(page)
        if found:
            problems[path] = found
    context.close()
    assert problems == {}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_supporter_pages_have_no_serious_axe_violations(live_server, browser, campaign, width):
    user = UserFactory(email="rosa@example.org")
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier="ally")
    context = browser.new_context(viewport=WIDTHS[width])
    context.add_cookies([login_cookie(user)])
    page = context.new_page()
    problems = {}
    base = live_server.url.replace("127.0.0.1", "localhost")
    for path in ["/me/", f"/c/{campaign.slug}/support/advocate/"]:
        response = page.goto(base + path)
        assert response.status == 200, path
        found = serious_violations(page)
        if found:
            problems[path] = found
    context.close()
    assert problems == {}


def test_ally_sign_on_can_be_completed_with_the_keyboard_alone(live_server, page, campaign):
    page.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
    page.keyboard.press("Tab")  # skip link first
    focused = []
    values = {
        "Your name": "Bayard Rustin",
        "Email address": "bayard@example.org",
        "ZIP/postal code": "94609",
    }
    # Tab through the form, typing into each field we meet, ticking the updates box with Space.
    for _ in range(40):
        page.keyboard.press("Tab")
        label = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || !el.id) return el ? el.textContent.trim() : '';
                const l = document.querySelector(`label[for="${el.id}"]`);
                return l ? l.textContent.trim() : el.textContent.trim();
            }"""
        )
        focused.append(label)
        for name, value in values.items():
            if label.startswith(name):
                page.keyboard.type(value)
        if "updates" in label.lower() and "email me" in label.lower():
            page.keyboard.press("Space")
        if label == "Join as an Ally":
            page.keyboard.press("Enter")
            break
    page.get_by_role("heading", name="Check your email").wait_for()
    supporter = Supporter.objects.get(campaign=campaign, email="bayard@example.org")
    assert supporter.name == "Bayard Rustin"
    assert supporter.consent_updates is True
    assert supporter.consent_org is False
    screenshot(page, "keyboard-ally-check-email")
