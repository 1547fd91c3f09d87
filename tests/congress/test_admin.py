"""Organizer admin for bills and resources: their own organization's campaigns only (another
organization's by URL is a 404), status changes through the service with history, "announce"
writes a draft update; members of Congress are read-only data; calls per office on the
dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from actions.models import CongressTargets
from actions.services import call_outcome_report, call_target_for_legislator
from congress.models import Bill, BillStatusChange, CampaignResource, Legislator
from outreach.models import CampaignUpdate
from tests.actions.factories import ActionFactory
from tests.factories import CampaignFactory, OrganizationFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_organizer(org):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(user)
    return user


@pytest.fixture
def mine():
    return CampaignFactory(organization=OrganizationFactory(name="Org A"))


@pytest.fixture
def theirs():
    return CampaignFactory(organization=OrganizationFactory(name="Org B"))


@pytest.fixture
def organizer(client, mine):
    user = make_organizer(mine.organization)
    client.force_login(user)
    return user


def make_bill(campaign, number="H.R. 1") -> Bill:
    return Bill.objects.create(
        campaign=campaign,
        number=number,
        title=f"Bill {number} of {campaign.title}",
        chamber=Bill.Chamber.HOUSE,
        status_date=dt.date(2026, 1, 5),
        what_it_would_do="Things.",
    )


def bill_form(campaign, **overrides) -> dict:
    data = {
        "campaign": campaign.pk,
        "number": "H.R. 6128",
        "title": "Help Separated Families Act",
        "chamber": "house",
        "status": "introduced",
        "status_date": "2026-06-19",
        "our_position": "support",
        "what_it_would_do": "Keeps families together.",
        "text_url": "https://www.congress.gov/bill/115th-congress/house-bill/6128/text",
        "position": "0",
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
        "status_changes-MIN_NUM_FORMS": "0",
        "status_changes-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_organizer_adds_a_bill_with_sponsors_from_the_loaded_members(
    client, organizer, mine, congress_loaded
):
    response = client.post(
        "/admin/congress/bill/add/", bill_form(mine, sponsors=["S000001", "P000001"])
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    bill = Bill.objects.get(campaign=mine)
    assert sorted(bill.sponsors.values_list("pk", flat=True)) == ["P000001", "S000001"]
    assert list(bill.status_changes.values_list("to_status", flat=True)) == ["introduced"]


def test_organizer_cannot_add_a_bill_to_another_organizations_campaign(client, organizer, theirs):
    response = client.post("/admin/congress/bill/add/", bill_form(theirs))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Bill.objects.exists()


def test_a_bill_cannot_be_shown_on_another_campaigns_action(client, organizer, mine):
    other_of_mine = CampaignFactory(organization=mine.organization)
    action = ActionFactory(campaign=other_of_mine)
    response = client.post("/admin/congress/bill/add/", bill_form(mine, actions=[action.pk]))
    assert response.status_code == 200
    assert "Choose actions of the bill" in response.content.decode()
    assert not Bill.objects.exists()


def test_organizer_sees_and_opens_only_their_own_bills_and_resources(
    client, organizer, mine, theirs
):
    own, other = make_bill(mine, "H.R. 1"), make_bill(theirs, "H.R. 2")
    listing = client.get("/admin/congress/bill/").content.decode()
    assert own.title in listing
    assert other.title not in listing
    assert client.get(f"/admin/congress/bill/{own.pk}/change/").status_code == 200
    assert client.get(f"/admin/congress/bill/{other.pk}/change/").status_code == 404
    assert (
        client.post(f"/admin/congress/bill/{other.pk}/delete/", {"post": "yes"}).status_code == 404
    )
    assert Bill.objects.filter(pk=other.pk).exists()

    theirs_resource = CampaignResource.objects.create(
        campaign=theirs, title="Their hotline", phone="1-888-272-1913"
    )
    mine_resource = CampaignResource.objects.create(
        campaign=mine, title="Our hotline", phone="1-888-272-1913"
    )
    listing = client.get("/admin/congress/campaignresource/").content.decode()
    assert "Our hotline" in listing
    assert "Their hotline" not in listing
    url = f"/admin/congress/campaignresource/{theirs_resource.pk}/change/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"campaign": mine.pk, "title": "Stolen"}).status_code == 404
    theirs_resource.refresh_from_db()
    assert theirs_resource.title == "Their hotline"
    assert (
        client.get(f"/admin/congress/campaignresource/{mine_resource.pk}/change/").status_code
        == 200
    )


def test_a_status_change_in_the_admin_is_recorded_and_can_be_announced_as_a_draft_update(
    client, organizer, mine
):
    bill = make_bill(mine)
    url = f"/admin/congress/bill/{bill.pk}/change/"
    data = bill_form(
        mine,
        number=bill.number,
        new_status="passed_chamber",
        new_status_date="2026-11-30",
        _announce="1",
    )
    data.pop("status")
    data.pop("status_date")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    bill.refresh_from_db()
    assert (bill.status, bill.status_date) == ("passed_chamber", dt.date(2026, 11, 30))
    change = BillStatusChange.objects.get(bill=bill)
    assert change.changed_by == organizer
    update = CampaignUpdate.objects.get(campaign=mine)
    assert response["Location"] == f"/admin/outreach/campaignupdate/{update.pk}/change/"
    assert update.published_at is None
    assert change.announced_update == update


def test_a_new_status_needs_its_date(client, organizer, mine):
    bill = make_bill(mine)
    data = bill_form(mine, number=bill.number, new_status="law", new_status_date="")
    response = client.post(f"/admin/congress/bill/{bill.pk}/change/", data)
    assert response.status_code == 200
    assert "When did the status change?" in response.content.decode()
    bill.refresh_from_db()
    assert bill.status == "introduced"


def test_members_of_congress_are_read_only_data_for_organizers(client, organizer, congress_loaded):
    assert client.get("/admin/congress/legislator/").status_code == 200
    assert client.get("/admin/congress/legislator/S000001/change/").status_code == 200
    response = client.post(
        "/admin/congress/legislator/S000001/change/", {"name": "Someone Else", "phone": "1"}
    )
    assert response.status_code == 403
    assert Legislator.objects.get(pk="S000001").name == "Lana Simmons"
    assert client.get("/admin/congress/legislator/add/").status_code == 403


def test_platform_staff_see_every_organizations_bills(client, mine, theirs):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    make_bill(mine, "H.R. 1")
    make_bill(theirs, "H.R. 2")
    listing = client.get("/admin/congress/bill/").content.decode()
    assert "Bill H.R. 1" in listing
    assert "Bill H.R. 2" in listing


def test_the_dashboard_shows_calls_per_office_for_the_organizers_campaign_only(
    client, organizer, mine, theirs, congress_loaded
):
    action = ActionFactory(campaign=mine, congress_targets=CongressTargets.BOTH)
    for i, member in enumerate(["S000001", "P000001", "P000001"]):
        supporter = SupporterFactory(campaign=mine)
        target = call_target_for_legislator(
            action=action, legislator=Legislator.objects.get(pk=member)
        )
        call_outcome_report(
            action=action,
            target_id=target.pk,
            supporter=supporter,
            outcome="talked_to_staff" if i else "left_voicemail",
        )
    html = client.get(f"/admin/outreach/campaignupdate/dashboard/{mine.pk}/").content.decode()
    assert "Calls per office" in html
    padilla = html.index("Senator Alma Padilla")
    simmons = html.index("Representative Lana Simmons")
    assert padilla < simmons  # most calls first
    assert client.get(f"/admin/outreach/campaignupdate/dashboard/{theirs.pk}/").status_code == 404
