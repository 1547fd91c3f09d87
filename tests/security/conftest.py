"""One small world for the security tests: two organizations, each with a live campaign, a
draft, a campaign in settlement, supporters, pledges, actions and updates; and the six roles
(anonymous, two supporters, an organizer of each organization, platform staff: a superuser
and a non-superuser member of the "Platform staff" group).

The world is built once per test module inside a transaction that is rolled back at the end;
each test runs in its own savepoint inside it, so a test that changes something changes it for
itself only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, IssueArea
from pledges.models import Pledge, StripeEvent
from supporters.models import Milestone
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    PledgeFactory,
    SupporterFactory,
    UserFactory,
)

C = Campaign.Status
ROLES = ("anonymous", "supporter_a", "supporter_b", "organizer_a", "organizer_b", "staff")


@dataclass
class Side:
    """Everything one organization owns."""

    org: object
    campaign: object
    draft: object
    in_review: object
    settling: object
    supporter: object  # a supporter of this organization's live campaign only
    pledge: object
    settling_pledge: object
    milestone: object
    action: object
    completion: object
    hidden_action: object
    update: object
    advocates_update: object
    draft_update: object
    markers: list[str] = field(default_factory=list)


@dataclass
class World:
    a: Side
    b: Side
    users: dict
    issue_area: object
    stripe_event: object
    supporter_a_row: object  # supporter A's own row on campaign A (Champion, with a pledge)
    supporter_b_row: object  # supporter B's own row on campaign A (Ally)

    def side(self, key: str) -> Side:
        return self.a if key == "a" else self.b

    def client(self, role: str) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(self.users[role])
        return client


def _verified_user(email: str, **kwargs):
    user = UserFactory(email=email, **kwargs)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _organizer(email: str, org):
    user = _verified_user(email, is_staff=True)
    user.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(user)
    return user


def _side(key: str, name: str, word: str) -> Side:
    from actions.models import Action, ActionCompletion, CallTarget
    from outreach.models import CampaignUpdate

    org = OrganizationFactory(name=f"{name} Coalition", slug=f"{word}-coalition")
    campaign = CampaignFactory(organization=org, title=f"{name} live campaign", slug=f"{word}-live")
    draft = CampaignFactory(
        organization=org, title=f"{name} secret draft", slug=f"{word}-draft", status=C.DRAFT
    )
    in_review = CampaignFactory(
        organization=org, title=f"{name} awaiting review", slug=f"{word}-review", status=C.IN_REVIEW
    )
    past = timezone.now() - dt.timedelta(days=2)
    settling = CampaignFactory(
        organization=org,
        title=f"{name} settling campaign",
        slug=f"{word}-settling",
        status=C.SETTLING,
        deadline=past,
        goal_cents=1000,
        pledged_cents=5000,
        frozen_pledged_cents=5000,
    )
    supporter = SupporterFactory(
        campaign=campaign,
        email=f"{word}.only.supporter@{word}.example",
        name=f"{name} Onlysupporter",
        tier="advocate",
        consent_org=True,
    )
    pledge = PledgeFactory(campaign=campaign, supporter=supporter, tier="advocate")
    settling_supporter = SupporterFactory(
        campaign=settling,
        email=f"{word}.settling.payer@{word}.example",
        name=f"{name} Settlingpayer",
        tier="advocate",
    )
    settling_pledge = PledgeFactory(
        campaign=settling,
        supporter=settling_supporter,
        tier="advocate",
        amount_cents=5000,
        status=Pledge.Status.PAID,
        paid_cents=5000,
        paid_at=past,
        stripe_payment_intent_id=f"pi_{word}paid",
    )
    milestone = Milestone.objects.create(campaign=campaign, kind="supporters", threshold=1)
    action = Action.objects.create(
        campaign=campaign,
        kind=Action.Kind.CALL,
        title=f"{name} call the mayor",
        published=True,
        call_script="My name is {name}.",
    )
    CallTarget.objects.create(action=action, name=f"{name} Mayor", phone="(202) 224-3553")
    completion = ActionCompletion.objects.create(
        action=action, supporter=supporter, counted_at=timezone.now()
    )
    hidden_action = Action.objects.create(
        campaign=campaign,
        kind=Action.Kind.EMAIL,
        title=f"{name} unpublished email action",
        published=False,
        email_to="mayor@example.gov",
        email_subject="Please",
        email_body="Dear mayor",
    )
    update = CampaignUpdate.objects.create(
        campaign=campaign,
        title=f"{name} public update",
        body=f"{name} public update body",
        published_at=timezone.now(),
    )
    advocates_update = CampaignUpdate.objects.create(
        campaign=campaign,
        title=f"{name} strategy update",
        body=f"{name} confidential strategy body",
        audience=CampaignUpdate.Audience.ADVOCATES,
        published_at=timezone.now(),
    )
    draft_update = CampaignUpdate.objects.create(
        campaign=campaign, title=f"{name} unpublished update", body=f"{name} draft update body"
    )
    markers = [
        org.name,
        draft.title,
        settling.title,
        in_review.title,
        supporter.email,
        settling_supporter.email,
        action.title,
        hidden_action.title,
        update.title,
        advocates_update.title,
        draft_update.title,
    ]
    return Side(
        org=org,
        campaign=campaign,
        draft=draft,
        in_review=in_review,
        settling=settling,
        supporter=supporter,
        pledge=pledge,
        settling_pledge=settling_pledge,
        milestone=milestone,
        action=action,
        completion=completion,
        hidden_action=hidden_action,
        update=update,
        advocates_update=advocates_update,
        draft_update=draft_update,
        markers=markers,
    )


def build_world() -> World:
    a = _side("a", "Acorn", "acorn")
    b = _side("b", "Zebra", "zebra")
    issue_area = IssueArea.objects.create(name="Transit", slug="transit")
    a.campaign.issue_areas.add(issue_area)
    users = {
        "supporter_a": _verified_user("ann.supporter@people.example"),
        "supporter_b": _verified_user("bob.supporter@people.example"),
        "organizer_a": _organizer("olga.organizer@acorn.example", a.org),
        "organizer_b": _organizer("oscar.organizer@zebra.example", b.org),
        "staff": _verified_user("sam.staff@rallyround.example", is_staff=True, is_superuser=True),
        # Platform staff by group membership, not a superuser.
        "platform_staff": _verified_user("pat.platform@rallyround.example", is_staff=True),
        # In the Organizers group but not (yet) a member of any organization.
        "lone_organizer": _verified_user("lena.lone@nowhere.example", is_staff=True),
    }
    users["lone_organizer"].groups.add(Group.objects.get(name="Organizers"))
    users["platform_staff"].groups.add(Group.objects.get(name="Platform staff"))
    supporter_a_row = SupporterFactory(
        campaign=a.campaign,
        user=users["supporter_a"],
        email=users["supporter_a"].email,
        name="Ann Championperson",
        tier="champion",
        consent_updates=True,
    )
    PledgeFactory(
        campaign=a.campaign, supporter=supporter_a_row, tier="champion", amount_cents=3000
    )
    supporter_b_row = SupporterFactory(
        campaign=a.campaign,
        user=users["supporter_b"],
        email=users["supporter_b"].email,
        name="Bob Allyperson",
        tier="ally",
        consent_updates=True,
    )
    a.markers += [supporter_a_row.email, supporter_b_row.email, supporter_a_row.name]
    # The factories do not move totals; make them what the active pledges add up to.
    for campaign in (a.campaign, b.campaign):
        active = Pledge.objects.filter(campaign=campaign, status=Pledge.Status.ACTIVE)
        Campaign.objects.filter(pk=campaign.pk).update(
            pledged_cents=sum(p.amount_cents for p in active),
            backer_count=active.count(),
            supporter_count=campaign.supporters.count(),
        )
        campaign.refresh_from_db()
    stripe_event = StripeEvent.objects.create(
        event_id="evt_security_1", type="payment_intent.succeeded", object_id="pi_acornpaid"
    )
    return World(
        a=a,
        b=b,
        users=users,
        issue_area=issue_area,
        stripe_event=stripe_event,
        supporter_a_row=supporter_a_row,
        supporter_b_row=supporter_b_row,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once per module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)
