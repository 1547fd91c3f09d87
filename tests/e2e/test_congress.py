"""In a real browser: a supporter with ZIP 94609 calls their own members of Congress (the three
offices checked against the data file), reports the call, and the organizer's dashboard shows
it per office; a split ZIP offers the choice of district. Bills, key messages and resources on
the campaign and action pages, axe-clean at desktop and phone widths, with screenshots."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from allauth.account.models import EmailAddress
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client

from actions.models import CallTarget, CongressTargets
from campaigns.roles import roles_ensure
from congress.data import read_compact
from congress.models import Bill, CampaignResource, Legislator
from tests.actions.factories import ActionFactory, CallTargetFactory
from tests.conftest import screenshot
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHARED = Path(settings.BASE_DIR).parent / "shared" / "data" / "us-congress"
AXE = Axe()
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def expected_offices(zip_code: str) -> list[dict]:
    """The representative and senators of `zip_code`, read straight from the upstream files
    (or, on a machine without them, the compact copy shipped in the project)."""
    if SHARED.exists():
        with (SHARED / "zccd.csv").open() as f:
            seats = {
                (r["state_abbr"], int(r["cd"])) for r in csv.DictReader(f) if r["zcta"] == zip_code
            }
        members = yaml.load(
            (SHARED / "legislators-current.yaml").read_bytes(), Loader=yaml.CSafeLoader
        )
        rows = [
            {
                "name": m["name"].get("official_full")
                or f"{m['name']['first']} {m['name']['last']}",
                "phone": m["terms"][-1].get("phone", ""),
                "type": m["terms"][-1]["type"],
                "state": m["terms"][-1]["state"],
                "district": m["terms"][-1].get("district"),
            }
            for m in members
        ]
    else:
        data = read_compact()
        seats = {tuple(s.split("-")) for s in data.zips[zip_code].split()}
        seats = {(state, int(n)) for state, n in seats}
        rows = [
            {
                "name": m["name"],
                "phone": m["phone"],
                "type": "sen" if m["chamber"] == "senate" else "rep",
                "state": m["state"],
                "district": m["district"],
            }
            for m in data.legislators
        ]
    assert len(seats) == 1, seats
    (state, district) = next(iter(seats))
    return [
        r for r in rows if r["type"] == "rep" and (r["state"], r["district"]) == (state, district)
    ] + [r for r in rows if r["type"] == "sen" and r["state"] == state]


def login(pg, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    assert SESSION_KEY in client.session
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


@pytest.fixture
def congress_campaign():
    roles_ensure(Group, Permission)  # transactional tests flush the migration's groups
    call_command("congress_load")
    campaign = CampaignFactory(title="End child detention", slug="end-child-detention")
    action = ActionFactory(
        campaign=campaign,
        title="Call your members of Congress",
        call_script=(
            "Hello, I'd like to leave a message for {target}. My name is {name} and my zip code "
            "is {zip}. Please support H.R. 6128 and keep families together."
        ),
        congress_targets=CongressTargets.BOTH,
        key_messages=(
            "Protect children's rights: protections are not loopholes.\n"
            "This is a crisis of leadership, not of resources."
        ),
    )
    CallTargetFactory(
        action=action,
        name="United States Mission to the UN",
        office="New York",
        phone="(212) 415-4000",
    )
    bill = Bill.objects.create(
        campaign=campaign,
        number="H.R. 6128",
        title="Help Separated Families Act",
        chamber=Bill.Chamber.HOUSE,
        status=Bill.Status.COMMITTEE,
        status_date=dt.date(2018, 6, 19),
        our_position="support",
        text_url="https://www.congress.gov/bill/115th-congress/house-bill/6128/text",
        what_it_would_do=(
            "Immigration status alone would no longer disqualify a parent or relative from "
            "caring for their child."
        ),
        what_it_would_do_es=(
            "La situación migratoria por sí sola ya no impediría que un padre o un familiar "
            "cuide de su hijo."
        ),
    )
    bill.sponsors.add(Legislator.objects.get(pk="P000145"))
    bill.actions.add(action)
    CampaignResource.objects.create(
        campaign=campaign,
        title="UN Refugee Agency (UNHCR) detention hotline",
        phone="1-888-272-1913",
        phone_note="From inside a detention center, dial 566#",
        description="Legal help for refugees held in immigration detention.",
        title_es="Línea de ayuda para personas detenidas de ACNUR",
        phone_note_es="Desde un centro de detención, marque 566#",
        description_es="Ayuda legal para refugiados en detención migratoria.",
    )
    # The second resource is left in English: the Spanish pages fall back to it and say so.
    CampaignResource.objects.create(
        campaign=campaign,
        kind=CampaignResource.Kind.LEGAL,
        title="American Immigration Lawyers Association (AILA)",
        url="https://www.ailalawyer.com/",
    )
    return campaign, action


def test_a_supporter_calls_their_own_members_and_the_organizer_sees_it_per_office(
    live_server, page, phone_page, browser, congress_campaign
):
    campaign, action = congress_campaign
    offices = expected_offices("94609")
    assert [o["type"] for o in offices] == ["rep", "sen", "sen"]

    # A supporter of the campaign, logged in, whose ZIP code is 94609.
    user = UserFactory(first_name="Dolores", last_name="Huerta")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    SupporterFactory(
        campaign=campaign, user=user, email=user.email, name="Dolores Huerta", postal_code="94609"
    )
    login(page, live_server, user)
    page.goto(f"{live_server.url}/c/{campaign.slug}/act/{action.pk}/")

    cards = page.get_by_test_id("member-card")
    cards.first.wait_for()
    assert cards.count() == 3
    shown = [cards.nth(i).locator("h3").inner_text() for i in range(3)]
    assert shown[0] == f"Representative {offices[0]['name']}"
    assert sorted(shown[1:]) == sorted(f"Senator {o['name']}" for o in offices[1:])
    for i, office in enumerate(
        [offices[0]] + sorted(offices[1:], key=lambda o: shown.index(f"Senator {o['name']}"))
    ):
        link = cards.nth(i).get_by_role("link", name=re.compile(r"^Call "))
        assert link.get_attribute("href") == "tel:" + re.sub(r"\D", "", office["phone"])
    script = cards.first.get_by_test_id("member-script").inner_text()
    assert f"a message for Representative {offices[0]['name']}." in script
    assert "My name is Dolores Huerta and my zip code is 94609." in script
    assert "Key messages" in page.inner_text("main")
    assert "Help Separated Families Act" in page.inner_text("main")
    screenshot(page, "congress-call-desktop")

    # Call the first senator: the tel: link is the call; then report how it went.
    senator = cards.nth(1)
    senator_name = shown[1]
    tel = senator.get_by_role("link", name=re.compile(r"^Call "))
    assert tel.get_attribute("href").startswith("tel:")
    tel.evaluate("link => link.click()")  # the browser hands tel: to the phone; page stays
    senator.get_by_label("I talked to staff").check()
    senator.get_by_role("button", name=re.compile("Report my call")).click()
    page.get_by_text(f"Thank you for calling {senator_name}!").wait_for()
    counted = page.locator(f"#member-{senator.get_attribute('data-bioguide')}")
    assert "1 call reported to this office" in counted.inner_text()
    assert "You reported: “I talked to staff”" in counted.inner_text()
    target = CallTarget.objects.get(action=action, legislator__isnull=False)
    assert (target.name, target.talked_count) == (senator_name, 1)

    phone_page.goto(f"{live_server.url}/c/{campaign.slug}/act/{action.pk}/?zip=94609")
    screenshot(phone_page, "congress-call-phone")

    # The organizer's dashboard shows the call against that office.
    organizer = UserFactory(is_staff=True)
    organizer.groups.add(Group.objects.get(name="Organizers"))
    campaign.organization.members.add(organizer)
    org_context = browser.new_context(viewport={"width": 1280, "height": 900})
    org_page = org_context.new_page()
    login(org_page, live_server, organizer)
    org_page.goto(f"{live_server.url}/admin/outreach/campaignupdate/dashboard/{campaign.pk}/")
    table = org_page.get_by_test_id("calls-per-office")
    row = table.locator("tr", has_text=senator_name)
    assert row.locator("td").nth(2).inner_text() == "1"  # calls reported
    assert row.locator("td").nth(3).inner_text() == "1"  # talked to staff
    screenshot(org_page, "congress-dashboard-desktop")
    org_context.close()


def test_a_split_zip_offers_the_choice_of_district(live_server, page, congress_campaign):
    campaign, action = congress_campaign
    # A ZIP in two districts of one state, and one across a state line, from the data file.
    zips = read_compact().zips
    split = next(
        z
        for z, seats in sorted(zips.items())
        if len({s[:2] for s in seats.split()}) == 1 and " " in seats
    )
    candidates = zips[split].split()
    page.goto(f"{live_server.url}/c/{campaign.slug}/act/{action.pk}/")
    page.get_by_label("Your ZIP code").fill(split)
    page.get_by_role("button", name="Find my members").click()
    choice = page.get_by_test_id("district-choice")
    choice.wait_for()
    assert f"ZIP code {split} crosses district lines" in choice.inner_text()
    assert page.get_by_test_id("member-card").count() == 2  # senators only, no guess
    screenshot(page, "congress-split-zip-desktop")
    choice.get_by_label(re.compile(f"^{candidates[-1]}")).check()
    choice.get_by_role("button", name="This is my district").click()
    page.get_by_test_id("member-card").nth(2).wait_for()
    state, number = candidates[-1].split("-")
    rep = Legislator.objects.get(state=state, district=int(number), chamber="house", in_office=True)
    assert page.get_by_test_id("member-card").first.locator("h3").inner_text() == (
        f"{rep.title} {rep.name}"
    )

    page.get_by_label("Your ZIP code").fill("02861")
    page.get_by_role("button", name="Find my members").click()
    page.get_by_test_id("district-choice").wait_for()
    assert page.get_by_test_id("member-card").count() == 0  # senators depend on the state too


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_congress_pages_have_no_serious_axe_violations(
    live_server, browser, congress_campaign, width
):
    campaign, action = congress_campaign
    email = ActionFactory(
        campaign=campaign,
        kind="email",
        title="Write to your senators",
        call_script="",
        email_subject="Keep families together",
        email_body="Dear {target},\n\nPlease support H.R. 6128.\n\n{name}\n{zip}",
        congress_targets=CongressTargets.SENATE,
        key_messages="Protections are not loopholes.",
    )
    context = browser.new_context(viewport=WIDTHS[width])
    pg = context.new_page()
    paths = {
        "email": f"/c/{campaign.slug}/act/{email.pk}/?zip=20001",
        "email-ca": f"/c/{campaign.slug}/act/{email.pk}/?zip=94609",
        "action": f"/c/{campaign.slug}/act/{action.pk}/?zip=94609",
        "split": f"/c/{campaign.slug}/act/{action.pk}/?zip=02861",
        "unknown": f"/c/{campaign.slug}/act/{action.pk}/?zip=99999",
        "campaign": f"/c/{campaign.slug}/",
        "resources": f"/c/{campaign.slug}/resources/",
        # In Spanish: translated resources and bill, one resource falling back with the note.
        "campaign-es": f"/es/c/{campaign.slug}/",
        "resources-es": f"/es/c/{campaign.slug}/resources/",
    }
    problems = {}
    for name, path in paths.items():
        pg.goto(live_server.url + path)
        results = AXE.run(pg)
        found = [
            f"{v['id']} ({v['impact']}): {[', '.join(n['target']) for n in v['nodes'][:3]]}"
            for v in results.response["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        if found:
            problems[path] = found
        if name.endswith("-es"):
            assert pg.get_by_test_id("language-note").first.is_visible(), path
        if name in {"campaign", "resources", "email-ca", "campaign-es", "resources-es"}:
            screenshot(pg, f"congress-{name}-{width}")
    context.close()
    assert not problems, problems


def test_the_resources_page_prints_without_the_site_chrome(live_server, page, congress_campaign):
    campaign, _action = congress_campaign
    page.goto(f"{live_server.url}/c/{campaign.slug}/resources/")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Print this page").is_visible()
    assert page.get_by_text("1-888-272-1913").is_visible()
    pdf = page.pdf(format="Letter")
    assert pdf.startswith(b"%PDF")


def test_an_organizer_records_a_bill_status_and_announces_it_as_a_draft_update(
    live_server, page, phone_page, congress_campaign
):
    from outreach.models import CampaignUpdate
    from tests.e2e.test_accessibility import serious_violations

    campaign, _action = congress_campaign
    organizer = UserFactory(is_staff=True)
    organizer.groups.add(Group.objects.get(name="Organizers"))
    campaign.organization.members.add(organizer)
    bill = Bill.objects.get(campaign=campaign)
    login(page, live_server, organizer)
    page.goto(f"{live_server.url}/admin/congress/bill/{bill.pk}/change/")
    assert "In committee (June 19, 2018)" in page.inner_text("#content")
    assert serious_violations(page) == []
    screenshot(page, "congress-bill-admin-desktop")
    page.get_by_label("New status:").select_option("passed_chamber")
    page.get_by_label("New status since").fill("2026-11-30")
    page.get_by_role("button", name="Save and write an update announcing the status").click()
    page.get_by_text("A draft update about H.R. 6128 is ready").wait_for()
    update = CampaignUpdate.objects.get(campaign=campaign)
    assert page.url.endswith(f"/admin/outreach/campaignupdate/{update.pk}/change/")
    assert update.title == "H.R. 6128: Passed its first chamber"
    assert update.published_at is None
    bill.refresh_from_db()
    assert bill.status == "passed_chamber"

    login(phone_page, live_server, organizer)
    phone_page.goto(f"{live_server.url}/admin/congress/bill/{bill.pk}/change/")
    assert serious_violations(phone_page) == []
    screenshot(phone_page, "congress-bill-admin-phone")
