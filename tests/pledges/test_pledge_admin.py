"""The pledge admin: organizers see only their organizations' pledges, read-only."""

from __future__ import annotations

import pytest

from pledges.models import Pledge, StripeEvent
from pledges.services.transitions import pledge_log
from tests.factories import (
    CampaignFactory,
    PledgeFactory,
    SupporterFactory,
    UserFactory,
    organizer_of,
)

pytestmark = pytest.mark.django_db

LIST = "/admin/pledges/pledge/"


@pytest.fixture
def two_orgs():
    ours = CampaignFactory(title="Fix the bus lines")
    theirs = CampaignFactory(title="Another org's campaign")
    mine = PledgeFactory(
        campaign=ours,
        supporter=SupporterFactory(campaign=ours, email="rosa@example.org"),
        stripe_customer_id="cus_ROSA",
    )
    other = PledgeFactory(
        campaign=theirs, supporter=SupporterFactory(campaign=theirs, email="secret@example.org")
    )
    organizer = organizer_of(ours.organization, email="organizer@example.org")
    return ours, mine, other, organizer


def test_organizer_sees_only_their_organizations_pledges(client, two_orgs):
    _, mine, other, organizer = two_orgs
    client.force_login(organizer)
    html = client.get(LIST).content.decode()
    assert "rosa@example.org" in html
    assert "secret@example.org" not in html
    assert client.get(f"{LIST}{mine.pk}/change/").status_code == 200
    assert client.get(f"{LIST}{other.pk}/change/").status_code == 404


def test_pledge_page_is_read_only_with_history_and_stripe_links(client, two_orgs):
    _, mine, _, organizer = two_orgs
    pledge_log(pledge=mine, note="Changed from $15 (Advocate) to $20 (Advocate).")
    client.force_login(organizer)
    html = client.get(f"{LIST}{mine.pk}/change/").content.decode()
    assert "https://dashboard.stripe.com/" in html
    assert "customers/cus_ROSA" in html
    assert "Changed from $15 (Advocate) to $20 (Advocate)." in html
    assert 'name="_save"' not in html
    response = client.post(f"{LIST}{mine.pk}/change/", {"status": "paid"})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.status == Pledge.Status.ACTIVE
    assert client.post(f"{LIST}{mine.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Pledge.objects.filter(pk=mine.pk).exists()


def test_search_by_email_and_filter_by_status(client, two_orgs):
    campaign, mine, _, organizer = two_orgs
    PledgeFactory(
        campaign=campaign,
        supporter=SupporterFactory(campaign=campaign, email="ana@example.org"),
        status="canceled",
    )
    client.force_login(organizer)
    html = client.get(LIST, {"q": "rosa@"}).content.decode()
    assert "rosa@example.org" in html
    assert "ana@example.org" not in html
    html = client.get(LIST, {"status__exact": "canceled"}).content.decode()
    assert "ana@example.org" in html
    assert "rosa@example.org" not in html
    html = client.get(LIST, {"campaign": str(campaign.pk)}).content.decode()
    assert "rosa@example.org" in html


def test_superuser_sees_every_pledge_and_webhook_events(client, two_orgs):
    client.force_login(UserFactory(email="root@example.org", is_staff=True, is_superuser=True))
    StripeEvent.objects.create(event_id="evt_123", type="setup_intent.succeeded")
    html = client.get(LIST).content.decode()
    assert "rosa@example.org" in html
    assert "secret@example.org" in html
    assert "evt_123" in client.get("/admin/pledges/stripeevent/").content.decode()


def test_organizer_cannot_see_webhook_events_and_staff_without_org_sees_no_pledges(
    client, two_orgs
):
    _, _, _, organizer = two_orgs
    client.force_login(organizer)
    assert client.get("/admin/pledges/stripeevent/").status_code == 403
    client.force_login(UserFactory(email="lonely@example.org", is_staff=True))
    assert client.get(LIST).status_code == 403


def test_staff_member_of_an_organization_outside_the_organizers_group_sees_no_pledges(
    client, two_orgs
):
    ours = two_orgs[0]
    outsider = UserFactory(email="volunteer@example.org", is_staff=True)
    ours.organization.members.add(outsider)
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403
