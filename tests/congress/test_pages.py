"""Pages through HTTP: a call or email action that reaches the supporter's own members of
Congress, calls counted per office, bills on the campaign and action pages, key messages and
the resources block with its printable page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress

from actions.models import Action, CallOutcome, CallTarget, CongressTargets
from congress.models import Bill, BillStatusChange, CampaignResource, Legislator
from congress.services import bill_status_announce, bill_status_change
from outreach.models import CampaignUpdate
from tests.actions.factories import ActionFactory, CallTargetFactory, email_action
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db

SCRIPT = "Hello {target}, my name is {name} and my zip code is {zip}. Please act."


def detail(action) -> str:
    return f"/c/{action.campaign.slug}/act/{action.pk}/"


def identify(client, action, zip_code="94609"):
    response = client.post(
        detail(action) + "who/",
        {"name": "Rosa Parks", "email": "rosa@example.org", "postal_code": zip_code},
    )
    assert response.status_code == 302
    return response


def log_in_supporter(client, campaign, zip_code="94609"):
    """A logged-in supporter with a verified address: what they report counts at once."""
    user = UserFactory(first_name="Rosa", last_name="Parks")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    SupporterFactory(
        campaign=campaign, user=user, email=user.email, name="Rosa Parks", postal_code=zip_code
    )
    client.force_login(user)
    return user


def cards(html: str) -> list[str]:
    return re.findall(r'data-testid="member-card" data-bioguide="([A-Z0-9]+)"', html)


@pytest.fixture
def call_action(congress_loaded):
    action = ActionFactory(
        title="Call your members of Congress",
        call_script=SCRIPT,
        congress_targets=CongressTargets.BOTH,
        key_messages="Protect children's rights.\n- Protections are not loopholes.\n\n",
    )
    CallTargetFactory(action=action, name="UN Mission", office="New York", phone="212-415-4000")
    return action


def test_the_supporters_own_members_are_shown_with_phones_and_their_script(client, call_action):
    identify(client, call_action)
    html = client.get(detail(call_action)).content.decode()
    assert cards(html) == ["S000001", "P000001", "S000002"]
    assert 'href="tel:2022252661"' in html
    assert "Representative Lana Simmons" in html
    assert 'Hello <strong class="script__value">Senator Alma Padilla</strong>, my name is' in html
    assert "https://www.padilla.senate.gov/contact" in html
    assert 'href="tel:5107630370"' in html  # the representative's Oakland office
    # The fixed target is still there, under "Also call".
    assert "UN Mission" in html
    assert "Also call" in html
    # Key messages as a list, bullets and blank lines cleaned away.
    assert "<li>Protect children&#x27;s rights.</li>" in html
    assert "<li>Protections are not loopholes.</li>" in html


def test_a_visitor_can_look_up_a_zip_before_saying_who_they_are(client, call_action):
    html = client.get(detail(call_action) + "?zip=94609").content.decode()
    assert cards(html) == ["S000001", "P000001", "S000002"]
    assert "Tell us who you are" in html
    assert "call/member/" not in html  # nothing to report until we know who is calling


def test_a_split_zip_asks_which_district_and_shows_no_representative_until_chosen(
    client, call_action
):
    html = client.get(detail(call_action) + "?zip=94702").content.decode()
    assert 'data-testid="district-choice"' in html
    assert "ZIP code 94702 crosses district lines" in html
    assert cards(html) == ["P000001", "S000002"]
    chosen = client.get(detail(call_action) + "?zip=94702&district=CA-13").content.decode()
    assert 'data-testid="district-choice"' not in chosen
    assert cards(chosen) == ["T000013", "P000001", "S000002"]


def test_a_zip_across_a_state_line_shows_nobody_until_the_district_is_chosen(client, call_action):
    html = client.get(detail(call_action) + "?zip=02861").content.decode()
    assert cards(html) == []
    assert "MA-4" in html
    assert "RI-1" in html
    chosen = client.get(detail(call_action) + "?zip=02861&district=RI-1").content.decode()
    assert cards(chosen) == ["A000011", "R000001", "W000002"]


def test_an_unknown_zip_says_so_and_keeps_the_fixed_targets(client, call_action):
    response = client.get(detail(call_action) + "?zip=99999")
    html = response.content.decode()
    assert response.status_code == 200
    assert "We could not find ZIP code 99999" in html
    assert "You can still contact the offices listed below." in html
    assert "UN Mission" in html
    assert cards(html) == []
    bad = client.get(detail(call_action) + "?zip=hello").content.decode()
    assert "is not a U.S. ZIP code" in bad


def test_dc_shows_its_delegate_and_explains_there_are_no_senators(client, call_action):
    html = client.get(detail(call_action) + "?zip=20001").content.decode()
    assert cards(html) == ["N000001"]
    assert "Delegate Eleanor Norton" in html
    assert "DC has no senators" in html


def test_a_call_to_a_member_is_counted_for_that_office_once(client, call_action):
    log_in_supporter(client, call_action.campaign)
    url = detail(call_action) + "call/member/"
    data = {"member": "P000001", "zip": "94609", "outcome": "talked_to_staff"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].endswith("?zip=94609&district=#member-P000001")
    target = CallTarget.objects.get(action=call_action, legislator_id="P000001")
    assert target.name == "Senator Alma Padilla"
    assert target.office == "Senator, CA · U.S. Senate (Democrat)"
    assert target.talked_count == 1
    assert client.post(url, data).status_code == 302  # a repeat
    target.refresh_from_db()
    assert target.talked_count == 1
    call_action.refresh_from_db()
    assert call_action.outcome_count == 1
    assert call_action.completed_count == 1
    html = client.get(detail(call_action)).content.decode()
    assert "You reported: “I talked to staff”" in html
    assert "1 call reported to this office" in html
    # The office's target is not listed again among the fixed targets.
    assert html.count("Senator Alma Padilla</h3>") == 1


def test_a_call_to_a_member_who_does_not_represent_the_zip_is_refused(client, call_action):
    identify(client, call_action)
    url = detail(call_action) + "call/member/"
    for member in ("R000001", "Z999999", "not-an-id"):
        response = client.post(url, {"member": member, "zip": "94609", "outcome": "busy_no_answer"})
        assert response.status_code == 400
        expected = "does not represent" if member != "not-an-id" else "Please choose who you"
        assert expected in response.content.decode()
    missing = client.post(url, {"member": "P000001", "zip": "94609"})
    assert missing.status_code == 400
    assert "Please tell us how the call went." in missing.content.decode()
    assert not CallOutcome.objects.exists()
    assert not CallTarget.objects.filter(legislator__isnull=False).exists()


def test_a_senate_only_action_refuses_a_call_reported_to_the_representative(client, call_action):
    Action.objects.filter(pk=call_action.pk).update(congress_targets=CongressTargets.SENATE)
    identify(client, call_action)
    response = client.post(
        detail(call_action) + "call/member/",
        {"member": "S000001", "zip": "94609", "outcome": "busy_no_answer"},
    )
    assert response.status_code == 400
    assert "does not represent your ZIP code" in response.content.decode()


def test_reporting_a_member_needs_to_know_who_is_calling(client, call_action):
    response = client.post(
        detail(call_action) + "call/member/",
        {"member": "P000001", "zip": "94609", "outcome": "talked_to_staff"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#who")
    assert not CallOutcome.objects.exists()


def test_an_email_action_fills_one_letter_per_member(client, congress_loaded):
    action = email_action(
        email_to="",
        email_subject="Support the bill",
        email_body="Dear {target},\n\nPlease support the bill.\n\n{name}, {zip}",
        congress_targets=CongressTargets.SENATE,
    )
    action.full_clean()
    log_in_supporter(client, action.campaign)
    html = client.get(detail(action)).content.decode()
    assert cards(html) == ["P000001", "S000002"]
    assert "Dear Senator Alma Padilla,\n\nPlease support the bill.\n\nRosa Parks, 94609" in html
    assert "https://www.shift.senate.gov/contact" in html
    assert client.post(detail(action) + "sent/").status_code == 302
    action.refresh_from_db()
    assert action.completed_count == 1


@pytest.fixture
def bill(call_action):
    bill = Bill.objects.create(
        campaign=call_action.campaign,
        number="H.R. 6128",
        title="Help Separated Families Act",
        chamber=Bill.Chamber.HOUSE,
        status=Bill.Status.COMMITTEE,
        status_date=dt.date(2018, 6, 19),
        text_url="https://www.congress.gov/bill/115th-congress/house-bill/6128/text",
        what_it_would_do="Immigration status alone would not disqualify a parent.",
        our_position="support",
    )
    bill.sponsors.add(Legislator.objects.get(pk="S000001"))
    return bill


def test_bills_show_on_the_campaign_page_and_on_the_actions_they_are_attached_to(
    client, call_action, bill
):
    campaign_html = client.get(call_action.campaign.get_absolute_url()).content.decode()
    for text in (
        "H.R. 6128",
        "Help Separated Families Act",
        "In committee",
        "since June 19, 2018",
        "Immigration status alone would not disqualify a parent.",
        "Representative Lana Simmons (D-CA-12)",
        "https://www.congress.gov/bill/115th-congress/house-bill/6128/text",
        "We support it",
    ):
        assert text in campaign_html, text
    assert "H.R. 6128" not in client.get(detail(call_action)).content.decode()
    bill.actions.add(call_action)
    assert "Help Separated Families Act" in client.get(detail(call_action)).content.decode()


def test_a_status_change_is_recorded_shows_at_once_and_can_be_announced_as_a_draft(
    client, call_action, bill, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 30
    url = call_action.campaign.get_absolute_url()
    assert "In committee" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        bill_status_change(
            bill=bill, status=Bill.Status.PASSED_ONE, status_date=dt.date(2026, 11, 30)
        )
    assert "Passed its first chamber" in client.get(url).content.decode()  # cache redrawn
    assert (
        bill_status_change(
            bill=bill, status=Bill.Status.PASSED_ONE, status_date=dt.date(2026, 11, 30)
        )
        is None
    )
    history = list(BillStatusChange.objects.filter(bill=bill).values_list("to_status", flat=True))
    assert history == ["passed_chamber"]
    update = bill_status_announce(bill=bill)
    assert update.published_at is None  # the organizer reviews and publishes it
    assert update.title == "H.R. 6128: Passed its first chamber"
    assert "November 30, 2026" in update.body
    assert BillStatusChange.objects.get(bill=bill).announced_update == update
    assert CampaignUpdate.objects.filter(campaign=call_action.campaign).count() == 1


def test_the_resources_block_shows_on_the_campaign_page_and_prints_on_its_own(client, call_action):
    campaign = call_action.campaign
    CampaignResource.objects.create(
        campaign=campaign,
        title="UNHCR detention hotline",
        phone="1-888-272-1913",
        phone_note="From inside a detention center, dial 566#",
    )
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert "Get help: hotlines and legal aid" in html
    assert 'href="tel:18882721913"' in html
    page = client.get(f"/c/{campaign.slug}/resources/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "UNHCR detention hotline" in text
    assert "dial 566#" in text
    assert "data-print" in text


def test_a_draft_campaigns_resources_page_is_hidden_from_the_public(client):
    draft = CampaignFactory(status="draft")
    assert client.get(f"/c/{draft.slug}/resources/").status_code == 404
    assert client.get("/c/no-such-campaign/resources/").status_code == 404


def test_the_fixed_target_form_cannot_report_a_call_to_a_members_office(client, call_action):
    """A member's office is reported only through the member form, which checks the ZIP."""
    log_in_supporter(client, call_action.campaign, zip_code="20001")
    office = CallTarget.objects.create(
        action=call_action,
        name="Senator Alma Padilla",
        phone="202-224-3553",
        legislator=Legislator.objects.get(pk="P000001"),
    )
    response = client.post(
        detail(call_action) + "call/", {"target": office.pk, "outcome": "talked_to_staff"}
    )
    assert response.status_code == 400
    assert not CallOutcome.objects.exists()


def test_without_loaded_data_the_page_says_the_lookup_is_not_available(client):
    action = ActionFactory(congress_targets=CongressTargets.HOUSE)
    html = client.get(detail(action) + "?zip=94609").content.decode()
    assert "The list of members of Congress is not loaded yet" in html


def test_a_member_call_report_without_an_outcome_shows_the_error_next_to_its_field(
    client, call_action
):
    """Issue 16: the error was printed at the top of the page, 1,400 px above the radios."""
    log_in_supporter(client, call_action.campaign)
    response = client.post(
        detail(call_action) + "call/member/", {"member": "P000001", "zip": "94609"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    card = html.split('id="member-P000001"', 1)[1].split("</form>", 1)[0]
    assert "Please tell us how the call went." in card
    top = html.split('id="member-P000001"', 1)[0]
    assert "Please tell us how the call went." not in top
    # The page reopens at the card (the form posts to its fragment).
    assert "call/member/#member-P000001" in html


def test_the_confirmation_quotes_the_chosen_outcome(client, call_action):
    log_in_supporter(client, call_action.campaign)
    url = detail(call_action) + "call/member/"
    client.post(url, {"member": "P000001", "zip": "94609", "outcome": "left_voicemail"})
    html = client.get(detail(call_action) + "?zip=94609").content.decode()
    assert "You reported: “I left a voicemail”" in html
    assert "Thank you for calling Senator Alma Padilla! You reported: “I left a voicemail”." in html
