"""The organizer admin: who sees what, the review workflow, and the form's messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from campaigns.models import Campaign, CampaignEvent, Tier
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    campaign_ready_for_review,
)

pytestmark = pytest.mark.django_db
C = Campaign.Status


def make_organizer(org):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(user)
    return user


@pytest.fixture
def org_a():
    return OrganizationFactory(name="Org A")


@pytest.fixture
def org_b():
    return OrganizationFactory(name="Org B")


@pytest.fixture
def organizer(org_a):
    return make_organizer(org_a)


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


def change_url(campaign, what="change"):
    return f"/admin/campaigns/campaign/{campaign.pk}/{what}/"


def form_data(response) -> dict:
    """The POST body the admin change form would send back as it was rendered."""
    data = {}

    def add(form):
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None or value is False:
                continue
            if value is True:
                data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(getattr(v, "pk", v)) for v in value]
            elif isinstance(value, dt.datetime):
                local = timezone.localtime(value)
                data[f"{key}_0"] = local.strftime("%Y-%m-%d")
                data[f"{key}_1"] = local.strftime("%H:%M:%S")
            elif name.endswith("image") or name == "logo":
                continue
            else:
                data[key] = field.prepare_value(value) if hasattr(field, "prepare_value") else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            add(form)
    return data


# --- who sees what -------------------------------------------------------------------------
def test_organizer_lists_only_their_organizations_campaigns(client, organizer, org_a, org_b):
    CampaignFactory(organization=org_a, title="Ours")
    CampaignFactory(organization=org_b, title="Theirs")
    client.force_login(organizer)
    response = client.get("/admin/campaigns/campaign/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ours" in html
    assert "Theirs" not in html


@pytest.mark.parametrize("what", ["change", "delete", "history"])
def test_organizer_gets_404_for_another_organizations_campaign_by_url(
    client, organizer, org_b, what
):
    theirs = CampaignFactory(organization=org_b)
    client.force_login(organizer)
    assert client.get(change_url(theirs, what)).status_code == 404


def test_organizer_cannot_change_or_delete_another_organizations_campaign_by_post(
    client, organizer, org_a, org_b
):
    theirs = CampaignFactory(organization=org_b, title="Theirs", status=C.DRAFT)
    client.force_login(organizer)
    response = client.post(change_url(theirs), {"title": "Hijacked"})
    assert response.status_code == 404
    response = client.post(change_url(theirs, "delete"), {"post": "yes"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "Theirs"


def test_organizer_cannot_move_a_campaign_to_another_organization(client, organizer, org_a, org_b):
    ours = CampaignFactory(organization=org_a, status=C.DRAFT)
    client.force_login(organizer)
    data = form_data(client.get(change_url(ours)))
    data["organization"] = str(org_b.pk)
    response = client.post(change_url(ours), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    ours.refresh_from_db()
    assert ours.organization == org_a


def test_organizer_without_an_organization_sees_no_campaigns(client):
    loner = UserFactory(is_staff=True)
    loner.groups.add(Group.objects.get(name="Organizers"))
    CampaignFactory(title="Somebody's")
    client.force_login(loner)
    assert "Somebody" not in client.get("/admin/campaigns/campaign/").content.decode()


def test_platform_staff_group_sees_every_campaign(client, org_a, org_b):
    member = UserFactory(is_staff=True)
    member.groups.add(Group.objects.get(name="Platform staff"))
    CampaignFactory(organization=org_a, title="First org's")
    CampaignFactory(organization=org_b, title="Second org's")
    client.force_login(member)
    html = client.get("/admin/campaigns/campaign/").content.decode()
    assert "First org" in html
    assert "Second org" in html


def test_changelist_shows_live_progress(client, staff):
    CampaignFactory(goal_cents=200_000, pledged_cents=50_000, supporter_count=321)
    client.force_login(staff)
    html = client.get("/admin/campaigns/campaign/").content.decode()
    assert "<strong>$500</strong> of $2,000 (25%)" in html
    assert "321" in html


def test_organizer_cannot_see_another_organization_in_the_admin(client, organizer, org_b):
    client.force_login(organizer)
    assert client.get(f"/admin/campaigns/organization/{org_b.pk}/change/").status_code == 404
    assert "Org B" not in client.get("/admin/campaigns/organization/").content.decode()


# --- review workflow -----------------------------------------------------------------------
def run_action(client, action, campaigns, **extra):
    return client.post(
        "/admin/campaigns/campaign/",
        {"action": action, "_selected_action": [c.pk for c in campaigns], **extra},
        follow=True,
    )


def test_organizer_submits_a_draft_for_review(client, organizer, org_a):
    draft = campaign_ready_for_review(
        CampaignFactory(organization=org_a, status=C.DRAFT, review_note="Old note")
    )
    client.force_login(organizer)
    response = run_action(client, "submit_for_review", [draft])
    assert "Submitted for review" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == C.IN_REVIEW
    assert draft.review_note == ""
    event = CampaignEvent.objects.get(campaign=draft)
    assert (event.from_status, event.to_status, event.actor) == (C.DRAFT, C.IN_REVIEW, organizer)


def test_submitting_a_draft_whose_deadline_passed_is_refused_with_a_reason(
    client, organizer, org_a
):
    draft = CampaignFactory(
        organization=org_a, status=C.DRAFT, deadline=timezone.now() - dt.timedelta(days=1)
    )
    client.force_login(organizer)
    response = run_action(client, "submit_for_review", [draft])
    assert "the deadline has passed" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == C.DRAFT


def test_organizer_cannot_approve_their_own_campaign(client, organizer, org_a):
    waiting = CampaignFactory(organization=org_a, status=C.IN_REVIEW)
    client.force_login(organizer)
    actions = client.get("/admin/campaigns/campaign/").context["action_form"]
    choices = [value for value, _ in actions.fields["action"].choices]
    assert "approve_and_publish" not in choices
    assert "send_back" not in choices
    run_action(client, "approve_and_publish", [waiting])
    waiting.refresh_from_db()
    assert waiting.status == C.IN_REVIEW


def test_staff_approve_and_publish_makes_the_campaign_public(client, staff):
    waiting = CampaignFactory(status=C.IN_REVIEW)
    assert client.get(f"/c/{waiting.slug}/").status_code == 404
    client.force_login(staff)
    response = run_action(client, "approve_and_publish", [waiting])
    assert "Approved and published" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == C.LIVE
    assert waiting.published_at is not None
    client.logout()
    assert client.get(f"/c/{waiting.slug}/").status_code == 200


def test_approving_a_draft_is_refused_and_says_why(client, staff):
    draft = CampaignFactory(status=C.DRAFT, title="Not yet")
    client.force_login(staff)
    response = run_action(client, "approve_and_publish", [draft])
    assert "“Not yet” is draft, so it cannot be approved and published." in (
        response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.status == C.DRAFT


def test_staff_send_back_asks_for_a_reason_then_returns_the_campaign_to_draft(client, staff):
    waiting = CampaignFactory(status=C.IN_REVIEW)
    client.force_login(staff)
    form_page = run_action(client, "send_back", [waiting])
    assert "What should the organizers change?" in form_page.content.decode()
    empty = run_action(client, "send_back", [waiting], apply="1", reason="  ")
    assert "This field is required." in empty.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == C.IN_REVIEW

    run_action(client, "send_back", [waiting], apply="1", reason="Add a photo credit.")
    waiting.refresh_from_db()
    assert waiting.status == C.DRAFT
    assert waiting.review_note == "Add a photo credit."
    assert waiting.events.last().note == "Add a photo credit."


def test_organizer_sees_the_review_note_on_their_campaign(client, organizer, org_a):
    draft = CampaignFactory(organization=org_a, status=C.DRAFT, review_note="Fix the title")
    client.force_login(organizer)
    assert "Fix the title" in client.get(change_url(draft)).content.decode()


def test_organizer_cannot_bulk_delete(client, organizer, org_a):
    CampaignFactory(organization=org_a, status=C.DRAFT)
    client.force_login(organizer)
    actions = client.get("/admin/campaigns/campaign/").context["action_form"]
    assert "delete_selected" not in [v for v, _ in actions.fields["action"].choices]


def test_organizer_cannot_delete_a_live_campaign(client, organizer, org_a):
    live = CampaignFactory(organization=org_a)
    client.force_login(organizer)
    assert client.get(change_url(live, "delete")).status_code == 403


# --- the form ------------------------------------------------------------------------------
def add_data(org, **overrides):
    deadline = timezone.localtime(timezone.now() + dt.timedelta(days=30))
    data = {
        "organization": str(org.pk),
        "title": "Safe streets for Fruitvale",
        "slug": "safe-streets-fruitvale",
        "summary": "Crosswalks and slower traffic near three schools.",
        "campaign_type": "local",
        "goal_cents": "2,500",
        "deadline_0": deadline.strftime("%Y-%m-%d"),
        "deadline_1": deadline.strftime("%H:%M:%S"),
        "timezone": "America/Los_Angeles",
        "colour": "#1f5f8b",
    }
    # The add page's inlines (tiers, sections, coalition, news), sent empty: the defaults fill in.
    for prefix in ("sections", "tiers", "coalition", "news"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(overrides)
    return data


def test_organizer_adds_a_campaign_in_dollars_and_gets_default_tiers_and_sections(
    client, organizer, org_a
):
    client.force_login(organizer)
    response = client.post("/admin/campaigns/campaign/add/", add_data(org_a))
    campaign = Campaign.objects.get(slug="safe-streets-fruitvale")
    assert response.status_code == 302
    assert response["Location"] == change_url(campaign)
    assert campaign.goal_cents == 250_000
    assert campaign.status == C.DRAFT
    assert {t.kind: t.min_cents for t in campaign.tiers.all()} == {
        "ally": 0,
        "advocate": 1500,
        "champion": 2800,
    }
    assert [s.heading for s in campaign.sections.all()] == [
        "The Goal",
        "The Problem",
        "The Solution",
        "Our Strategy",
    ]
    page = client.get(change_url(campaign)).content.decode()
    assert 'value="2500"' in page  # shown back in dollars


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"goal_cents": "0"}, "The goal must be more than $0."),
        ({"goal_cents": "-5"}, "The goal must be more than $0."),
        ({"goal_cents": "lots"}, "Enter a number."),
        ({"colour": "blue"}, "Enter the colour as # and six hex digits"),
        ({"slug": "taken-address"}, "That web address is taken."),
    ],
)
def test_bad_campaign_input_gets_a_clear_message_and_saves_nothing(
    client, organizer, org_a, overrides, message
):
    CampaignFactory(slug="taken-address")
    client.force_login(organizer)
    response = client.post("/admin/campaigns/campaign/add/", add_data(org_a, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Campaign.objects.filter(slug="safe-streets-fruitvale").exists()


def test_deadline_in_the_past_is_refused(client, organizer, org_a):
    client.force_login(organizer)
    past = timezone.localtime(timezone.now() - dt.timedelta(days=2))
    response = client.post(
        "/admin/campaigns/campaign/add/",
        add_data(org_a, deadline_0=past.strftime("%Y-%m-%d"), deadline_1="12:00:00"),
    )
    assert "The deadline is in the past. Choose a date in the future." in (
        response.content.decode()
    )
    assert not Campaign.objects.filter(slug="safe-streets-fruitvale").exists()


def test_tier_minimums_out_of_order_are_refused(client, organizer, org_a):
    campaign = CampaignFactory(organization=org_a, status=C.DRAFT)
    client.force_login(organizer)
    data = form_data(client.get(change_url(campaign)))
    prefix = next(k for k in data if k.endswith("-min_cents")).rsplit("-", 2)[0]
    kinds = [t.kind for t in campaign.tiers.order_by("min_cents", "id")]
    data[f"{prefix}-{kinds.index('advocate')}-min_cents"] = "40"  # above the Champion's $28
    response = client.post(change_url(campaign), data)
    assert response.status_code == 200
    assert "Tier minimums must go up: Advocate ($40.00) is more than Champion ($28.00)." in (
        response.content.decode()
    )
    assert Tier.objects.get(campaign=campaign, kind="advocate").min_cents == 1500


def test_organizer_edits_tier_minimum_in_dollars(client, organizer, org_a):
    campaign = CampaignFactory(organization=org_a, status=C.DRAFT)
    client.force_login(organizer)
    data = form_data(client.get(change_url(campaign)))
    prefix = next(k for k in data if k.endswith("-min_cents")).rsplit("-", 2)[0]
    kinds = [t.kind for t in campaign.tiers.order_by("min_cents", "id")]
    data[f"{prefix}-{kinds.index('champion')}-min_cents"] = "35.50"
    response = client.post(change_url(campaign), data)
    assert response.status_code == 302, errors(response)
    assert Tier.objects.get(campaign=campaign, kind="champion").min_cents == 3550


def test_goal_and_deadline_are_read_only_once_a_pledge_exists(client, organizer, org_a):
    campaign = CampaignFactory(organization=org_a, goal_cents=100_000)
    deadline = campaign.deadline
    client.force_login(organizer)
    editable = form_data(client.get(change_url(campaign)))
    assert "goal_cents" in editable

    PledgeFactory(campaign=campaign)
    page = client.get(change_url(campaign))
    data = form_data(page)
    assert "goal_cents" not in data
    assert "fixed: supporters have pledged against it" in page.content.decode()
    later = timezone.localtime(deadline + dt.timedelta(days=30))
    data.update(
        goal_cents="5",
        deadline_0=later.strftime("%Y-%m-%d"),
        deadline_1=later.strftime("%H:%M:%S"),
        title="New title",
    )
    response = client.post(change_url(campaign), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.title == "New title"
    assert campaign.goal_cents == 100_000
    assert campaign.deadline == deadline


def test_organizers_group_has_campaign_permissions_but_not_issue_area_editing():
    group = Group.objects.get(name="Organizers")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"change_campaign", "add_campaign", "change_tier", "view_issuearea"} <= codenames
    assert "change_issuearea" not in codenames
    assert "delete_organization" not in codenames


def errors(response):
    context = response.context
    return [context["adminform"].form.errors] + [
        (inline.formset.errors, inline.formset.non_form_errors())
        for inline in context["inline_admin_formsets"]
    ]


def test_deadline_is_entered_and_shown_in_the_campaigns_time_zone(client, organizer, org_a):
    client.force_login(organizer)
    client.post(
        "/admin/campaigns/campaign/add/",
        add_data(
            org_a, deadline_0="2031-11-21", deadline_1="19:59:00", timezone="America/New_York"
        ),
    )
    campaign = Campaign.objects.get(slug="safe-streets-fruitvale")
    assert campaign.deadline == dt.datetime(2031, 11, 22, 0, 59, tzinfo=dt.UTC)
    assert campaign.deadline_display == "Friday, November 21 2031 7:59 PM EST"
    page = client.get(change_url(campaign)).content.decode()
    assert 'value="2031-11-21"' in page
    assert 'value="19:59:00"' in page


# --- the workflow buttons on a campaign's own page -------------------------------------------
def test_organizer_submits_from_the_campaign_page(client, organizer, org_a):
    draft = campaign_ready_for_review(CampaignFactory(organization=org_a, status=C.DRAFT))
    client.force_login(organizer)
    page = client.get(change_url(draft)).content.decode()
    assert "Submit for review</button>" in page
    assert "Approve and publish" not in page
    response = client.post(change_url(draft, "submit"), follow=True)
    assert "Submitted for review" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == C.IN_REVIEW
    assert "Platform staff are reviewing this campaign." in (
        client.get(change_url(draft)).content.decode()
    )


def test_organizer_cannot_submit_another_organizations_draft_or_approve_their_own(
    client, organizer, org_a, org_b
):
    theirs = CampaignFactory(organization=org_b, status=C.DRAFT)
    ours = CampaignFactory(organization=org_a, status=C.IN_REVIEW)
    client.force_login(organizer)
    assert client.post(change_url(theirs, "submit")).status_code == 404
    assert client.post(change_url(ours, "approve")).status_code == 403
    assert client.post(change_url(ours, "send-back"), {"reason": "x"}).status_code == 403
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert (theirs.status, ours.status) == (C.DRAFT, C.IN_REVIEW)


def test_submit_needs_post(client, organizer, org_a):
    draft = CampaignFactory(organization=org_a, status=C.DRAFT)
    client.force_login(organizer)
    assert client.get(change_url(draft, "submit")).status_code == 405
    draft.refresh_from_db()
    assert draft.status == C.DRAFT


def test_staff_approve_and_send_back_from_the_campaign_page(client, staff):
    first = CampaignFactory(status=C.IN_REVIEW)
    second = CampaignFactory(status=C.IN_REVIEW)
    client.force_login(staff)
    assert "Approve and publish</button>" in client.get(change_url(first)).content.decode()
    client.post(change_url(first, "approve"))
    first.refresh_from_db()
    assert first.status == C.LIVE

    form = client.get(change_url(second, "send-back")).content.decode()
    assert "What should the organizers change?" in form
    assert client.post(change_url(second, "send-back"), {"reason": ""}).status_code == 200
    second.refresh_from_db()
    assert second.status == C.IN_REVIEW
    client.post(change_url(second, "send-back"), {"reason": "Needs a hero photo."})
    second.refresh_from_db()
    assert second.status == C.DRAFT
    assert second.review_note == "Needs a hero photo."


# --- saves never write what services own -----------------------------------------------------
def _stale_admin_save(model, user, obj_pk, data, meanwhile, *, model_admin=None):
    """The admin's change-form POST, with a service committing between the moment the admin
    loaded the row and the moment it saves it (the window a real request has)."""
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    model_admin = model_admin or django_admin.site._registry[model]
    request = RequestFactory().post("/", data)
    request.user = user
    obj = model_admin.get_object(request, str(obj_pk))
    form = model_admin.get_form(request, obj, change=True)(data, request.FILES, instance=obj)
    assert form.is_valid(), form.errors
    meanwhile()
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    form.save_m2m()


def test_organizer_saving_a_caption_keeps_a_charge_and_an_approval_that_landed_meanwhile(
    client, organizer, org_a, staff
):
    from campaigns.services import campaign_transition

    campaign = CampaignFactory(
        organization=org_a,
        status=C.SETTLING,
        pledged_cents=10_000,
        backer_count=4,
        frozen_pledged_cents=10_000,
        frozen_backer_count=4,
    )
    client.force_login(organizer)
    data = form_data(client.get(change_url(campaign)))
    data["hero_caption"] = "Parents at the Fruitvale crossing"

    def approval_and_a_charge():
        fresh = Campaign.objects.get(pk=campaign.pk)
        campaign_transition(
            campaign=fresh,
            to=C.SUCCEEDED,
            expected=C.SETTLING,
            actor=staff,
            updates={"approved_for_collection_at": timezone.now()},
        )
        Campaign.objects.filter(pk=campaign.pk).update(collected_cents=2_500)

    _stale_admin_save(Campaign, organizer, campaign.pk, data, approval_and_a_charge)
    campaign.refresh_from_db()
    assert campaign.hero_caption == "Parents at the Fruitvale crossing"
    assert campaign.status == C.SUCCEEDED
    assert campaign.collected_cents == 2_500
    assert campaign.approved_for_collection_at is not None


def test_staff_editing_a_supporters_name_keeps_a_tier_upgrade_that_landed_meanwhile(client, staff):
    from supporters.models import Supporter
    from tests.factories import SupporterFactory

    supporter = SupporterFactory(tier="ally", name="Rosa")
    data = {
        "name": "Rosa Parks",
        "postal_code": supporter.postal_code,
        "phone": supporter.phone,
        "display_name": "",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
    }

    def upgrade():
        Supporter.objects.filter(pk=supporter.pk).update(tier="champion")

    _stale_admin_save(Supporter, staff, supporter.pk, data, upgrade)
    supporter.refresh_from_db()
    assert supporter.name == "Rosa Parks"
    assert supporter.tier == "champion"


def test_organizer_editing_an_action_keeps_completions_counted_meanwhile(client, organizer, org_a):
    from actions.models import Action
    from tests.actions.factories import ActionFactory

    action = ActionFactory(campaign=CampaignFactory(organization=org_a, status=C.LIVE))
    client.force_login(organizer)
    data = form_data(client.get(f"/admin/actions/action/{action.pk}/change/"))
    data["title"] = "Call the mayor today"

    def completions():
        Action.objects.filter(pk=action.pk).update(completed_count=7, outcome_count=9)

    _stale_admin_save(Action, organizer, action.pk, data, completions)
    action.refresh_from_db()
    assert action.title == "Call the mayor today"
    assert (action.completed_count, action.outcome_count) == (7, 9)


@pytest.mark.postgres
@pytest.mark.stripe
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_organizer_saving_while_charges_approval_and_rejection_land_keeps_the_services_figures(
    chaos, org_a, staff, decision
):
    """Issue 13, defect 1, with real concurrency: an organizer keeps saving the campaign page
    while staff approve (and every pledge is charged) or reject. Afterwards the status is the
    service's, the collected total equals the sum of PAID attempts, and no pledge is stranded."""
    import threading

    from django.contrib.auth.models import Permission
    from django.db.models import Sum
    from django.test import Client

    from campaigns.roles import roles_ensure
    from pledges.models import PaymentAttempt, Pledge
    from pledges.services import settlement
    from tests.concurrency import race
    from tests.pledges.settlement_support import active_pledge, campaign_ending, saved_card

    roles_ensure(Group, Permission)  # a transactional test may run after the roles were flushed
    organizer = make_organizer(org_a)
    campaign = campaign_ending(goal_cents=100, organization=org_a)
    card = saved_card()
    pledges = [active_pledge(campaign, card=card, amount_cents=1500 + i) for i in range(6)]
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now())
    settlement.campaign_freeze(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == C.SETTLING

    organizer_client = Client()
    organizer_client.force_login(organizer)
    data = form_data(organizer_client.get(change_url(campaign)))
    done = threading.Event()
    saves = []

    def organizer_keeps_saving():
        n = 0
        while not done.is_set() or n < 3:
            n += 1
            data["hero_caption"] = f"Caption {n}"
            saves.append(organizer_client.post(change_url(campaign), data).status_code)

    def staff_decide():
        try:
            fresh = Campaign.objects.get(pk=campaign.pk)
            if decision == "approve":
                settlement.campaign_approve_for_collection(campaign=fresh, actor=staff)
                settlement.campaign_mark_pledges_due(campaign_id=campaign.pk)
                settlement.settle_run(campaign=fresh)
            else:
                settlement.campaign_reject_collection(
                    campaign=fresh, actor=staff, reason="The petition target changed."
                )
        finally:
            done.set()

    race(organizer_keeps_saving, staff_decide)
    assert saves
    assert set(saves) == {302}
    campaign.refresh_from_db()
    statuses = set(Pledge.objects.filter(campaign=campaign).values_list("status", flat=True))
    paid_attempts = PaymentAttempt.objects.filter(
        pledge__campaign=campaign, outcome=PaymentAttempt.Outcome.SUCCEEDED
    ).aggregate(s=Sum("amount_cents"))["s"]
    if decision == "approve":
        assert campaign.status == C.SUCCEEDED
        assert statuses == {Pledge.Status.PAID}
        assert campaign.collected_cents == paid_attempts == sum(p.amount_cents for p in pledges)
    else:
        assert campaign.status == C.FAILED
        assert statuses == {Pledge.Status.RELEASED}
        assert campaign.collected_cents == 0
        assert paid_attempts is None
    assert campaign.hero_caption.startswith("Caption ")
