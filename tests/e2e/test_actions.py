"""Take action in a real browser: a supporter calls and sees the count move, an Ally does not
see an Advocates-first action before it opens to everyone, an event RSVP yields a valid .ics."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from actions.models import Action, CallOutcome
from tests.actions.factories import (
    ActionFactory,
    ActionLinkFactory,
    CallTargetFactory,
    email_action,
    event_action,
    petition_action,
)
from tests.conftest import screenshot
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    assert SESSION_KEY in client.session
    host = live_server.url.split("://", 1)[1].split(":", 1)[0]
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": host,
                "path": "/",
            }
        ]
    )


def open_emailed_link(page, live_server, campaign, action, email: str) -> None:
    """What the link emailed after "Continue" does (issue 12: a typed address counts only once
    its owner opens it); its token is made the same way."""
    from actions.services import actor_link_token
    from supporters.models import Supporter

    row = Supporter.objects.get(campaign=campaign, email=email)
    token = actor_link_token(supporter=row)
    page.goto(f"{live_server.url}/c/{campaign.slug}/act/{action.pk}/continue/{token}/")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Your address is confirmed").wait_for()


def member(campaign, tier: str):
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier=tier)
    return user


def test_supporter_calls_sees_script_with_their_name_reports_and_the_count_moves(
    live_server, page, phone_page
):
    campaign = CampaignFactory(title="Defend Immigrant Families")
    action = ActionFactory(campaign=campaign, title="Call your senators today")
    feinstein = CallTargetFactory(
        action=action, name="Sen. Dianne Feinstein", office="U.S. Senator (CA)", position=0
    )
    CallTargetFactory(action=action, name="Sen. Kamala Harris", office="U.S. Senator (CA)")
    Action.objects.filter(pk=action.pk).update(outcome_count=1203)

    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    section = page.locator("#take-action")
    assert "1,203 calls made" in section.inner_text()
    section.get_by_role("link", name="Call your senators today").click()

    page.get_by_role("heading", name="Who’s calling?").wait_for()
    assert "[your name]" in page.get_by_test_id("call-script").inner_text()
    page.get_by_label("Your name").fill("Dolores Huerta")
    page.get_by_label("Email address").fill("dolores@example.org")
    page.get_by_label("ZIP code").fill("93215")
    page.get_by_role("button", name="Continue").click()

    script = page.get_by_test_id("call-script")
    script.wait_for()
    assert "My name is Dolores Huerta and my zip code is 93215." in script.inner_text()
    open_emailed_link(page, live_server, campaign, action, "dolores@example.org")
    script = page.get_by_test_id("call-script")
    call_link = page.get_by_role("link", name=re.compile("Call .*Feinstein"))
    assert call_link.get_attribute("href") == "tel:2022243553"
    screenshot(page, "action-call-desktop")

    card = page.locator(f"#target-{feinstein.pk}")
    card.get_by_label("I left a voicemail").check()
    card.get_by_role("button", name=re.compile("Report my call")).click()
    page.get_by_text("Thank you for calling Sen. Dianne Feinstein!").wait_for()
    assert page.get_by_test_id("action-total").first.inner_text() == "1,204 calls made"
    assert (
        "You reported: “I left a voicemail”" in page.locator(f"#target-{feinstein.pk}").inner_text()
    )

    # Reloading and re-sending the same report does not count it again.
    page.reload()
    card = page.locator(f"#target-{feinstein.pk}")
    card.get_by_role("button", name=re.compile("Report my call")).click()
    page.get_by_text("We already have your call").wait_for()
    assert page.get_by_test_id("action-total").first.inner_text() == "1,204 calls made"
    assert CallOutcome.objects.count() == 1

    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    section = page.locator("#take-action")
    assert "1,204 calls made" in section.inner_text()
    assert "You did this" in section.inner_text()
    screenshot(page, "action-campaign-section-desktop")

    phone_page.goto(f"{live_server.url}/c/{campaign.slug}/act/{action.pk}/")
    screenshot(phone_page, "action-call-phone")


def test_an_ally_cannot_see_an_advocates_first_action_before_it_opens_to_everyone(
    live_server, browser
):
    campaign = CampaignFactory()
    ActionFactory(campaign=campaign, title="Sign up to testify", kind="call")
    early = ActionFactory(
        campaign=campaign,
        title="Secret strategy call",
        starts_at=timezone.now() + dt.timedelta(hours=2),
        advocates_first_hours=6,
    )
    CallTargetFactory(action=early)
    ally, advocate = member(campaign, "ally"), member(campaign, "advocate")
    act_url = f"{live_server.url}/c/{campaign.slug}/act/"

    ally_context = browser.new_context(viewport={"width": 1280, "height": 900})
    ally_page = ally_context.new_page()
    login(ally_page, live_server, ally)
    ally_page.goto(act_url)
    assert "Sign up to testify" in ally_page.inner_text("main")
    assert "Secret strategy call" not in ally_page.inner_text("main")
    ally_page.goto(f"{live_server.url}/c/{campaign.slug}/")
    assert "Secret strategy call" not in ally_page.inner_text("main")
    # Issue 16: a teaser with the opening time, never a 404; the action itself stays shut.
    response = ally_page.goto(f"{act_url}{early.pk}/")
    assert response.status == 200
    assert "Opens to everyone on" in ally_page.inner_text("main")
    assert "Advocates and Champions start first" in ally_page.inner_text("main")
    assert ally_page.get_by_test_id("call-script").count() == 0

    advocate_context = browser.new_context(viewport={"width": 1280, "height": 900})
    advocate_page = advocate_context.new_page()
    login(advocate_page, live_server, advocate)
    advocate_page.goto(act_url)
    row = advocate_page.locator(".action-row", has_text="Secret strategy call")
    assert "advocates first" in row.inner_text().lower()
    advocate_page.goto(f"{act_url}{early.pk}/")
    assert "You’re seeing this first" in advocate_page.inner_text("main")
    screenshot(advocate_page, "action-advocates-first-desktop")

    # Once it opens to everyone, the Ally sees it too.
    Action.objects.filter(pk=early.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=1))
    ally_page.goto(act_url)
    assert "Secret strategy call" in ally_page.inner_text("main")
    ally_context.close()
    advocate_context.close()


def test_an_event_rsvp_yields_a_valid_ics(live_server, page, tmp_path):
    from icalendar import Calendar

    start = (timezone.now() + dt.timedelta(days=5)).replace(microsecond=0, second=0)
    action = event_action(
        title="Families Belong Together rally",
        event_starts_at=start,
        event_ends_at=start + dt.timedelta(hours=2),
        event_capacity=50,
    )
    page.goto(f"{live_server.url}/c/{action.campaign.slug}/act/{action.pk}/")
    page.get_by_label("Your name").fill("Bayard Rustin")
    page.get_by_label("Email address").fill("bayard@example.org")
    page.get_by_label("ZIP code").fill("10001")
    page.get_by_role("button", name="Continue").click()
    open_emailed_link(page, live_server, action.campaign, action, "bayard@example.org")
    page.get_by_role("button", name="RSVP: I’ll be there").click()
    page.get_by_text("You're going!").wait_for()
    assert "49 of 50 left" in page.inner_text("main")
    screenshot(page, "action-event-desktop")

    with page.expect_download() as info:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    path = tmp_path / "event.ics"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    cal = Calendar.from_ical(raw)
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Families Belong Together rally"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + dt.timedelta(hours=2)
    assert "Oakland City Hall" in str(event["LOCATION"])


def serious_violations(pg) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for violation in Axe().run(pg).response["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def test_every_kind_of_action_page_passes_axe_at_both_widths(live_server, page, phone_page):
    """Serious and critical axe-core violations fail; screenshots of every page at both widths
    are saved for a person to look at."""
    campaign = CampaignFactory(title="Defend Immigrant Children and Families")
    call = ActionFactory(campaign=campaign, title="Call your members of Congress", position=0)
    CallTargetFactory(action=call, name="Sen. Dianne Feinstein")
    mailer = email_action(campaign=campaign, position=1)
    petition = petition_action(campaign=campaign, position=2)
    event = event_action(campaign=campaign, position=3)
    give = ActionFactory(
        campaign=campaign, kind="give", call_script="", title="Donate to partners", position=4
    )
    ActionLinkFactory(
        action=give,
        title="RAICES",
        description="Legal services for immigrant families.",
        contact_phone="(210) 226-7722",
    )
    ActionLinkFactory(action=give, title="Kids in Need of Defense (KIND)", position=1)
    pages = [("list", ""), ("call-new", call.pk), ("email", mailer.pk)]
    pages += [("petition", petition.pk), ("event-new", event.pk), ("give", give.pk)]
    problems = []
    for pg, suffix in ((page, "desktop"), (phone_page, "phone")):
        for name, pk in pages:
            pg.goto(f"{live_server.url}/c/{campaign.slug}/act/{f'{pk}/' if pk else ''}")
            screenshot(pg, f"action-{name}-{suffix}")
            problems += [f"{name} {suffix}: {p}" for p in serious_violations(pg)]
    assert problems == []
    # The copy button appears only where the browser can copy (a secure context such as
    # localhost); the mailto link follows edits of the letter.
    page.goto(f"{live_server.url}/c/{campaign.slug}/act/{mailer.pk}/")
    page.get_by_label("Your name").fill("Rosa Parks")
    page.get_by_label("Email address").fill("rosa@example.org")
    page.get_by_label("ZIP code").fill("94609")
    page.get_by_role("button", name="Continue").click()
    # The letter's script is deferred (after the JS catalog): let it attach before typing.
    page.wait_for_load_state("load")
    letter = page.get_by_label(re.compile("Your letter"))
    letter.fill("Please reunite the families.\nRosa")
    expect(page.get_by_role("link", name="Open in my email app")).to_have_attribute(
        "href", re.compile(r"&body=Please%20reunite%20the%20families\.%0D%0ARosa$")
    )
    screenshot(page, "action-email-filled-desktop")


def test_a_petition_signature_counts_once_confirmed_by_email(live_server, phone_page, celery_eager):
    from django.core import mail

    action = petition_action(title="Fund the Family Case Management Program")
    Action.objects.filter(pk=action.pk).update(completed_count=99)
    url = f"{live_server.url}/c/{action.campaign.slug}/act/{action.pk}/"
    phone_page.goto(url)
    assert phone_page.get_by_test_id("signed-count").inner_text() == "99"
    phone_page.get_by_role("textbox", name="Your name").fill("Ella Baker")
    phone_page.get_by_label("Email address").fill("ella@example.org")
    phone_page.get_by_label("ZIP/postal code").fill("10027")
    phone_page.get_by_role("button", name="Sign the petition").click()
    phone_page.get_by_role("heading", name="Check your email").wait_for()
    screenshot(phone_page, "action-petition-check-email-phone")

    (message,) = [m for m in mail.outbox if "Confirm your signature" in m.subject]
    path = re.search(r"https?://[^/\s]+(/c/\S+/confirm/[^\s/]+/)", message.body).group(1)
    phone_page.goto(live_server.url + path)
    screenshot(phone_page, "action-petition-confirm-phone")
    phone_page.get_by_role("button", name="Confirm my signature").click()
    phone_page.get_by_text("Your signature is confirmed and counted.").wait_for()
    assert phone_page.get_by_test_id("signed-count").inner_text() == "100"
    assert "You signed" in phone_page.inner_text("main")
    screenshot(phone_page, "action-petition-signed-phone")
    phone_page.goto(live_server.url + path)
    assert "already counted" in phone_page.inner_text("main")
