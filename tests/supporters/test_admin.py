"""Organizer screens: only their own organizations' supporters, CSV limited to consent."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from pledges.models import Pledge
from supporters.selectors import daily_signups
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    PledgeFactory,
    SupporterFactory,
    UserFactory,
    organizer_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org_setup(client):
    mine = OrganizationFactory()
    organizer = organizer_of(mine, email="org@example.org")
    theirs = OrganizationFactory()
    my_campaign = CampaignFactory(organization=mine)
    their_campaign = CampaignFactory(organization=theirs)
    client.force_login(organizer)
    return organizer, my_campaign, their_campaign


def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_holds_only_confirmed_supporters_who_consented_to_the_organization(
    client, org_setup
):
    _, campaign, _ = org_setup
    SupporterFactory(campaign=campaign, consent_org=True, name="Agreed", email="a@example.org")
    SupporterFactory(campaign=campaign, consent_org=False, name="Declined")
    SupporterFactory(campaign=campaign, consent_org=True, confirmed_at=None, name="Unconfirmed")
    SupporterFactory(campaign=campaign, consent_org=True, name="=HYPERLINK(evil)")
    response = client.get(f"/admin/supporters/supporter/export/{campaign.pk}/")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert sorted(r["Name"] for r in rows) == ["'=HYPERLINK(evil)", "Agreed"]
    assert "a@example.org" in {r["Email"] for r in rows}


def test_organizer_cannot_export_another_organizations_supporters(client, org_setup):
    _, _, their_campaign = org_setup
    SupporterFactory(campaign=their_campaign, consent_org=True)
    assert client.get(f"/admin/supporters/supporter/export/{their_campaign.pk}/").status_code == 404
    assert client.get(f"/admin/supporters/supporter/chart/{their_campaign.pk}/").status_code == 404


def test_organizer_list_shows_only_their_campaigns_supporters(client, org_setup):
    _, campaign, their_campaign = org_setup
    SupporterFactory(campaign=campaign, name="Mine Person")
    SupporterFactory(campaign=their_campaign, name="Their Person")
    body = client.get("/admin/supporters/supporter/").content.decode()
    assert "Mine Person" in body
    assert "Their Person" not in body
    filtered = client.get(f"/admin/supporters/supporter/?campaign={campaign.pk}&tier=ally")
    assert "Export CSV" in filtered.content.decode()


def test_export_action_on_selected_rows_also_respects_consent(client, org_setup):
    _, campaign, _ = org_setup
    yes = SupporterFactory(campaign=campaign, consent_org=True, name="Yes")
    no = SupporterFactory(campaign=campaign, consent_org=False, name="No")
    response = client.post(
        "/admin/supporters/supporter/",
        {"action": "export_selected_csv", "_selected_action": [yes.pk, no.pk]},
    )
    assert [r["Name"] for r in read_csv(response)] == ["Yes"]


def test_superuser_sees_every_campaigns_supporters(client):
    admin = UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    client.force_login(admin)
    SupporterFactory(name="Anyone At All")
    assert "Anyone At All" in client.get("/admin/supporters/supporter/").content.decode()


def test_staff_without_an_organization_sees_no_supporters(client):
    client.force_login(UserFactory(email="staff@example.org", is_staff=True))
    SupporterFactory(consent_org=True)
    assert client.get("/admin/supporters/supporter/").status_code == 403


def test_daily_chart_counts_confirmed_supporters_and_saved_pledges_per_day(client, org_setup):
    _, campaign, _ = org_setup
    SupporterFactory.create_batch(3, campaign=campaign)
    SupporterFactory(campaign=campaign, confirmed_at=None)
    PledgeFactory(campaign=campaign)
    PledgeFactory(campaign=campaign, status=Pledge.Status.PENDING_SETUP)
    chart = daily_signups(campaign.pk, days=30)
    today = timezone.localdate(timezone.now(), campaign.tz)
    assert chart["rows"][-1]["day"] == today
    # The pledge factory makes its own (confirmed) supporters too.
    assert chart["rows"][-1]["supporters"] == 5
    assert chart["rows"][-1]["pledges"] == 1
    assert chart["total_pledges"] == 1
    page = client.get(f"/admin/supporters/supporter/chart/{campaign.pk}/").content.decode()
    assert "<svg" in page
    assert "5 supporters" in page
