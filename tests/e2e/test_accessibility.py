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
from tests.factories import CampaignFactory, SupporterFactory, UserFactory, verified_user

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


# The site header at phone width (issue 16): one line, the word "Rallyround" shown, every nav
# item in view without scrolling sideways.
PHONE_HEADER = """() => {
    const middles = [...document.querySelectorAll('.site-header .brand, .site-header .site-nav li')]
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0)  // shown ones
        .map(r => r.top + r.height / 2);
    const word = document.querySelector('.site-header .brand__name').getBoundingClientRect();
    const nav = document.querySelector('.site-header .site-nav');
    return {
        one_line: Math.max(...middles) - Math.min(...middles) < 12,
        word_shown: word.width > 40,
        nav_in_view: nav.scrollWidth <= nav.clientWidth + 1,
    };
}"""
HEADER_OK = {"one_line": True, "word_shown": True, "nav_in_view": True}


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
        if width == "phone" and page.evaluate(PHONE_HEADER) != HEADER_OK:
            found.append(f"phone header: {page.evaluate(PHONE_HEADER)}")
        if found:
            problems[path] = found
    context.close()
    assert problems == {}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_supporter_pages_have_no_serious_axe_violations(live_server, browser, campaign, width):
    user = verified_user(email="rosa@example.org")  # /me/ needs a proven address (issue 12)
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
        if width == "phone" and page.evaluate(PHONE_HEADER) != HEADER_OK:
            found.append(f"phone header: {page.evaluate(PHONE_HEADER)}")
        if found:
            problems[path] = found
    context.close()
    assert problems == {}


def test_ally_sign_on_can_be_completed_with_the_keyboard_alone(live_server, page, campaign):
    page.goto(f"{live_server.url}/c/{campaign.slug}/support/ally/")
    tab_and_type(
        page,
        {
            "Your name": "Bayard Rustin",
            "Email address": "bayard@example.org",
            "ZIP/postal code": "94609",
        },
        keys={"Yes, email me updates": "Space"},
        submit="Join as an Ally",
    )
    page.get_by_role("heading", name="Check your email").wait_for()
    supporter = Supporter.objects.get(campaign=campaign, email="bayard@example.org")
    assert supporter.name == "Bayard Rustin"
    assert supporter.consent_updates is True
    assert supporter.consent_org is False
    screenshot(page, "keyboard-ally-check-email")


FOCUSED_LABEL = """() => {
    const el = document.activeElement;
    if (!el) return '';
    if (el.id) {
        const l = document.querySelector(`label[for="${el.id}"]`);
        if (l) return l.textContent.trim();
    }
    return (el.getAttribute('placeholder') || el.getAttribute('aria-label') ||
            el.textContent || '').trim();
}"""


def tab_and_type(
    page,
    values: dict[str, str],
    submit: str,
    *,
    keys: dict[str, str] | None = None,
    limit: int = 60,
) -> list[str]:
    """Move with Tab until the `submit` button has focus, typing each value into the field whose
    label (or placeholder) starts with its key and pressing each of `keys` (e.g. Space on a
    checkbox) likewise; then press Enter. Some card fields move focus on by themselves once
    complete, so the focus is read again after typing. Returns the path focus took."""
    pending = dict(values)
    presses = dict(keys or {})
    seen: list[str] = []
    page.keyboard.press("Tab")
    for _ in range(limit):
        label = page.evaluate(FOCUSED_LABEL)
        seen.append(label)
        if label.startswith(submit):
            page.keyboard.press("Enter")
            return seen
        press = next((key for key in presses if label.startswith(key)), None)
        if press is not None:
            page.keyboard.press(presses.pop(press))
        name = next((key for key in pending if label.startswith(key)), None)
        if name is not None:
            page.keyboard.press("Control+A")
            page.keyboard.type(pending.pop(name))
            if page.evaluate(FOCUSED_LABEL) != label:
                continue  # the field passed focus on by itself
        page.keyboard.press("Tab")
    raise AssertionError(f"never reached {submit!r} with the keyboard; focus went: {seen}")


def test_a_pledge_can_be_completed_with_the_keyboard_alone(
    live_server, browser, campaign, stripe_local
):
    from allauth.account.models import EmailAddress

    from pledges.models import Pledge

    user = UserFactory(email="bayard@example.org")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    context = browser.new_context(viewport=WIDTHS["desktop"])
    context.add_cookies([login_cookie(user)])
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url.replace("127.0.0.1", "localhost")
    page.goto(f"{base}/c/{campaign.slug}/support/advocate/")
    tab_and_type(
        page,
        {"Full name": "Bayard Rustin", "ZIP/postal code": "10001"},
        submit="Continue to card details",
    )
    page.locator("#card-element input[placeholder=number]").wait_for()
    tab_and_type(
        page,
        {
            "number": "4242424242424242",
            "exp_month": "12",
            "exp_year": "34",
            "cvc": "123",
            "postal_code": "10001",
        },
        submit="Save card and pledge",
    )
    page.get_by_text("Thank you! Your pledge is active.").wait_for()
    pledge = Pledge.objects.get(campaign=campaign, supporter__email=user.email)
    assert (pledge.status, pledge.amount_cents) == (Pledge.Status.ACTIVE, 1500)
    screenshot(page, "keyboard-pledge-active")
    context.close()
