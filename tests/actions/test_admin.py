"""The organizer admin for actions: own organization only, inlines, validation, ordering."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from actions.models import Action, CallTarget
from tests.actions.factories import ActionFactory, CallTargetFactory
from tests.factories import CampaignFactory, OrganizationFactory, UserFactory

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


def add_form(campaign, **overrides) -> dict:
    data = {
        "campaign": campaign.pk,
        "kind": "call",
        "title": "Call Senator Feinstein",
        "why_it_matters": "She can co-sponsor the bill.",
        "updated_on": "2030-06-21",
        "position": "0",
        "published": "on",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
        "advocates_first_hours": "0",
        "call_script": "My name is {name} and my zip code is {zip}.",
        "email_to": "",
        "email_to_name": "",
        "email_subject": "",
        "email_body": "",
        "petition_text": "",
        "event_starts_at_0": "",
        "event_starts_at_1": "",
        "event_ends_at_0": "",
        "event_ends_at_1": "",
        "event_timezone": "America/Los_Angeles",
        "event_place": "",
        "event_address": "",
        "event_online_url": "",
        "event_capacity": "",
        "reminder_hours": "24",
        "targets-TOTAL_FORMS": "1",
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
        "targets-0-position": "0",
        "targets-0-name": "Sen. Dianne Feinstein",
        "targets-0-office": "U.S. Senator (CA)",
        "targets-0-phone": "(202) 224-3841",
        "links-TOTAL_FORMS": "0",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_organizer_adds_a_call_action_with_a_target(client, organizer, mine):
    response = client.post("/admin/actions/action/add/", add_form(mine))
    assert response.status_code == 302, response.content.decode()[:3000]
    action = Action.objects.get()
    assert action.campaign == mine
    assert CallTarget.objects.get(action=action).phone == "(202) 224-3841"


def test_a_bad_phone_number_is_refused_and_nothing_is_saved(client, organizer, mine):
    response = client.post(
        "/admin/actions/action/add/", add_form(mine, **{"targets-0-phone": "call me maybe"})
    )
    assert response.status_code == 200
    assert "Enter a phone number" in response.content.decode()
    assert not Action.objects.exists()


def test_a_call_action_without_a_script_is_refused(client, organizer, mine):
    response = client.post("/admin/actions/action/add/", add_form(mine, call_script=""))
    assert "A call action needs a script." in response.content.decode()
    assert not Action.objects.exists()


def test_organizer_cannot_add_an_action_to_another_organizations_campaign(
    client, organizer, theirs
):
    response = client.post("/admin/actions/action/add/", add_form(theirs))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Action.objects.exists()


def test_organizer_sees_only_their_own_actions(client, organizer, mine, theirs):
    ActionFactory(campaign=mine, title="Our call-in day")
    ActionFactory(campaign=theirs, title="Their secret plan")
    html = client.get("/admin/actions/action/").content.decode()
    assert "Our call-in day" in html
    assert "Their secret plan" not in html


def test_organizer_of_another_org_cannot_open_or_edit_an_action(client, organizer, theirs):
    action = ActionFactory(campaign=theirs, title="Their secret plan")
    target = CallTargetFactory(action=action)
    assert client.get(f"/admin/actions/action/{action.pk}/change/").status_code == 404
    response = client.post(
        f"/admin/actions/action/{action.pk}/change/", add_form(theirs, title="Hijacked")
    )
    assert response.status_code == 404
    assert (
        client.post(f"/admin/actions/action/{action.pk}/delete/", {"post": "yes"}).status_code
        == 404
    )
    action.refresh_from_db()
    assert action.title == "Their secret plan"
    assert CallTarget.objects.filter(pk=target.pk).exists()


def test_change_page_shows_only_the_fields_of_the_kind_and_totals_read_only(
    client, organizer, mine
):
    action = ActionFactory(campaign=mine, outcome_count=12)
    html = client.get(f"/admin/actions/action/{action.pk}/change/").content.decode()
    assert 'name="call_script"' in html
    assert 'name="email_subject"' not in html
    assert 'name="outcome_count"' not in html
    assert "12" in html


def test_platform_staff_see_every_action(client, mine, theirs):
    ActionFactory(campaign=mine, title="Ours")
    ActionFactory(campaign=theirs, title="Theirs")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get("/admin/actions/action/").content.decode()
    assert "Ours" in html
    assert "Theirs" in html


def test_the_kind_of_a_saved_action_cannot_change(client, organizer, mine):
    action = ActionFactory(campaign=mine)
    html = client.get(f"/admin/actions/action/{action.pk}/change/").content.decode()
    assert 'name="kind"' not in html
    assert "Call a decision maker" in html


def test_organizer_sees_the_rsvp_list_of_their_event_only(client, organizer, mine, theirs):
    from actions import services
    from tests.actions.factories import event_action
    from tests.factories import SupporterFactory

    ours = event_action(campaign=mine, title="Our rally")
    other = event_action(campaign=theirs, title="Their rally")
    services.event_rsvp(action=ours, supporter=SupporterFactory(campaign=mine, name="Ida Wells"))
    services.event_rsvp(
        action=other, supporter=SupporterFactory(campaign=theirs, name="Secret Person")
    )
    html = client.get(f"/admin/actions/action/{ours.pk}/change/").content.decode()
    assert "See the RSVP list" in html
    listing = client.get(
        f"/admin/actions/actioncompletion/?action__id__exact={ours.pk}"
    ).content.decode()
    assert "Ida Wells" in listing
    everything = client.get("/admin/actions/actioncompletion/").content.decode()
    assert "Secret Person" not in everything
    theirs_completion = other.completions.get()
    url = f"/admin/actions/actioncompletion/{theirs_completion.pk}/change/"
    assert client.get(url).status_code in {302, 403, 404}
