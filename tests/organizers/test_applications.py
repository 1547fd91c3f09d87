"""Starting a campaign: an organization applies, staff review, the invited organizer joins; and
the review loop tells each side what the other did."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client

from campaigns.models import Campaign, Organization
from campaigns.roles import PLATFORM_STAFF
from campaigns.services import campaign_approve, campaign_send_back, campaign_submit_for_review
from organizers import services
from organizers.models import OrganizationApplication, OrganizerInvitation
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    UserFactory,
    campaign_ready_for_review,
)

pytestmark = pytest.mark.django_db
A = OrganizationApplication.Status


@pytest.fixture
def eager():
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def reviewer():
    user = UserFactory(email="reviewer@rallyround.test", is_staff=True)
    user.groups.add(Group.objects.get(name=PLATFORM_STAFF))
    return user


def apply(client, capture, **overrides):
    data = {
        "organization_name": "Families Together",
        "contact_name": "Marisol Vega",
        "contact_email": "Marisol@Example.org",
        "website": "families.example.org",
        "about": "End family detention: we need $20,000 for legal observers at the border.",
        **overrides,
    }
    with capture(execute=True):
        return client.post("/start/", data)


def invitation_link(message) -> str:
    return re.search(r"http://[^\s]+/organizers/invitation/[^\s/]+/", message.body).group(0)


def test_start_page_is_linked_from_the_footer_and_discover(client):
    CampaignFactory()
    body = client.get("/").content.decode()
    assert body.count('href="/start/"') >= 2
    assert client.get("/start/").status_code == 200


def test_an_application_creates_nothing_but_the_record_and_tells_staff(
    client, django_capture_on_commit_callbacks, eager, reviewer
):
    users, orgs = get_user_model().objects.count(), Organization.objects.count()
    response = apply(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    application = OrganizationApplication.objects.get()
    assert application.contact_email == "marisol@example.org"
    assert application.status == A.PENDING
    assert application.website == "https://families.example.org"
    assert get_user_model().objects.count() == users
    assert Organization.objects.count() == orgs
    assert len(mail.outbox) == 1
    assert "reviewer@rallyround.test" in mail.outbox[0].to
    assert "Families Together" in mail.outbox[0].subject
    assert "Marisol@Example.org".lower() not in mail.outbox[0].to


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contact_email", "not-an-email"),
        ("organization_name", ""),
        ("about", "Too short"),
        ("website", "javascript:alert(1)"),
        ("about", "x" * 5000),
    ],
)
def test_bad_applications_are_refused_with_a_sentence(
    client, django_capture_on_commit_callbacks, field, value
):
    response = apply(client, django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert not OrganizationApplication.objects.exists()


def test_the_honeypot_looks_like_success_and_stores_nothing(
    client, django_capture_on_commit_callbacks
):
    response = apply(client, django_capture_on_commit_callbacks, website_url="spam.example")
    assert response.status_code == 302
    assert not OrganizationApplication.objects.exists()


def test_applications_are_rate_limited_before_validation(
    client, django_capture_on_commit_callbacks
):
    for _ in range(5):
        apply(client, django_capture_on_commit_callbacks, contact_email="bad")
    response = apply(client, django_capture_on_commit_callbacks)
    assert response.status_code == 429
    assert "Too many applications" in response.content.decode()
    assert not OrganizationApplication.objects.exists()


def test_approval_creates_the_organization_and_the_invitation_makes_the_organizer(
    client, django_capture_on_commit_callbacks, eager, reviewer
):
    apply(client, django_capture_on_commit_callbacks)
    application = OrganizationApplication.objects.get()
    mail.outbox.clear()
    staff = Client()
    staff.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            f"/admin/organizers/organizationapplication/{application.pk}/approve/"
        )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == A.APPROVED
    org = application.organization
    assert org.name == "Families Together"
    # No account exists until the mailbox's owner opens the link.
    assert not get_user_model().objects.filter(email="marisol@example.org").exists()
    assert mail.outbox[0].to == ["marisol@example.org"]
    link = invitation_link(mail.outbox[0])

    visitor = Client()
    assert visitor.get(link).status_code == 200
    response = visitor.post(link, {"password1": "short", "password2": "short"})
    assert response.status_code == 400
    response = visitor.post(
        link, {"password1": "a long good password 7", "password2": "a long good password 7"}
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="marisol@example.org")
    assert user.is_staff
    assert user.check_password("a long good password 7")
    assert list(user.organizations.all()) == [org]
    assert user.groups.filter(name="Organizers").exists()
    # The organizer is in the admin and can add a campaign for their organization.
    assert visitor.get("/admin/campaigns/campaign/add/").status_code == 200
    # The link works once.
    assert Client().get(link).status_code == 404


def test_an_invitation_for_an_existing_account_needs_that_account_to_log_in(
    django_capture_on_commit_callbacks, eager, reviewer
):
    owner = UserFactory(email="marisol@example.org")
    application = OrganizationApplication.objects.create(
        organization_name="Families Together",
        contact_name="Marisol",
        contact_email="marisol@example.org",
        about="A campaign about family detention, with legal observers.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(application=application, actor=reviewer)
    link = invitation_link(mail.outbox[-1])
    stranger = Client()
    response = stranger.post(link, {"password1": "x long pass 123", "password2": "x long pass 123"})
    assert response.status_code == 400
    owner.refresh_from_db()
    assert not owner.is_staff
    other = Client()
    other.force_login(UserFactory(email="someone@example.org"))
    assert other.post(link).status_code == 400
    assert not OrganizerInvitation.objects.filter(accepted_at__isnull=False).exists()
    mine = Client()
    mine.force_login(owner)
    assert mine.post(link).status_code == 302
    owner.refresh_from_db()
    assert owner.is_staff
    assert owner.organizations.filter(pk=application.organization_id).exists()


def test_decline_emails_the_reason_and_creates_nothing(
    django_capture_on_commit_callbacks, eager, reviewer
):
    application = OrganizationApplication.objects.create(
        organization_name="Spam Inc",
        contact_name="S",
        contact_email="s@example.org",
        about="We sell things and would like to raise money for them.",
    )
    staff = Client()
    staff.force_login(reviewer)
    url = f"/admin/organizers/organizationapplication/{application.pk}/decline/"
    assert staff.get(url).status_code == 200
    assert staff.post(url, {"reason": ""}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(url, {"reason": "Not an advocacy campaign."}).status_code == 302
    application.refresh_from_db()
    assert application.status == A.DECLINED
    assert application.organization is None
    assert "Not an advocacy campaign." in mail.outbox[-1].body
    # Reviewed once: approving it now changes nothing.
    with pytest.raises(services.ApplicationNotPending):
        services.application_approve(application=application, actor=reviewer)
    assert not Organization.objects.filter(name="Spam Inc").exists()


def test_organizers_cannot_review_applications(client):
    application = OrganizationApplication.objects.create(
        organization_name="X", contact_name="X", contact_email="x@example.org", about="x" * 30
    )
    org = OrganizationFactory()
    organizer = UserFactory(is_staff=True)
    organizer.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(organizer)
    client.force_login(organizer)
    base = f"/admin/organizers/organizationapplication/{application.pk}"
    assert client.get("/admin/organizers/organizationapplication/").status_code == 403
    assert client.post(f"{base}/approve/").status_code == 403
    assert client.post(f"{base}/decline/", {"reason": "no"}).status_code == 403
    application.refresh_from_db()
    assert application.status == A.PENDING


def test_the_review_loop_emails_both_ways_and_the_index_counts(
    django_capture_on_commit_callbacks, eager, reviewer
):
    org = OrganizationFactory()
    organizer = UserFactory(email="org@example.org", is_staff=True)
    org.members.add(organizer)
    campaign = campaign_ready_for_review(
        CampaignFactory(organization=org, status=Campaign.Status.DRAFT)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_submit_for_review(campaign=campaign, actor=organizer)
    assert "reviewer@rallyround.test" in mail.outbox[-1].to
    assert campaign.title in mail.outbox[-1].subject

    staff = Client()
    staff.force_login(reviewer)
    index = staff.get("/admin/").content.decode()
    assert re.search(r'review-queue__count">1</strong> campaign awaiting review', index)

    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_send_back(campaign=campaign, actor=reviewer, reason="Add a hero photo.")
    sent_back = mail.outbox[-1]
    assert set(sent_back.to) == {"org@example.org", "ana@example.org"}
    assert "Add a hero photo." in sent_back.body

    with django_capture_on_commit_callbacks(execute=True):
        campaign_submit_for_review(campaign=campaign, actor=organizer)
        assert campaign_approve(campaign=campaign, actor=reviewer)
    assert "org@example.org" in mail.outbox[-1].to
    assert "Published" in mail.outbox[-1].subject
    events = list(campaign.events.values_list("to_status", flat=True))
    assert events.count("in_review") == 2
    assert {"live", "draft"} <= set(events)
