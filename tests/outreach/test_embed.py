"""The embeddable counter, stats.json, and the organizer's dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import ORGANIZERS_GROUP
from supporters.models import Milestone
from tests.factories import CampaignFactory, SupporterFactory, UserFactory

pytestmark = pytest.mark.django_db


def stats_url(campaign):
    return reverse("outreach:stats", kwargs={"slug": campaign.slug})


@pytest.fixture
def campaign():
    return CampaignFactory(
        goal_cents=500_000,
        pledged_cents=125_000,
        supporter_count=321,
        backer_count=40,
        deadline=timezone.now() + dt.timedelta(days=12, hours=3),
    )


# --- stats.json -------------------------------------------------------------------------------
def test_stats_json_gives_the_counters_figures_with_open_cors(client, campaign):
    response = client.get(stats_url(campaign))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert data["pledged_cents"] == 125_000
    assert data["goal_cents"] == 500_000
    assert data["percent_funded"] == 25
    assert data["supporters"] == 321
    assert data["backers"] == 40
    assert data["days_left"] == 12
    assert data["url"].endswith(f"/c/{campaign.slug}/")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_stats_json_is_read_only(client, campaign, method):
    response = getattr(client, method)(stats_url(campaign))
    assert response.status_code == 405


def test_stats_json_is_cached_and_costs_at_most_one_query(
    client, campaign, django_assert_max_num_queries, django_assert_num_queries
):
    with django_assert_max_num_queries(1):
        client.get(stats_url(campaign))
    Campaign.objects.filter(pk=campaign.pk).update(pledged_cents=999_999)
    with django_assert_num_queries(0):
        cached = client.get(stats_url(campaign))
    assert cached.json()["pledged_cents"] == 125_000
    assert "max-age=30" in cached["Cache-Control"]


def test_stats_json_of_a_draft_is_404(client):
    draft = CampaignFactory(status="draft")
    assert client.get(stats_url(draft)).status_code == 404


# --- the embed --------------------------------------------------------------------------------
def test_embed_may_be_framed_by_any_site_unlike_other_pages(client, campaign):
    response = client.get(reverse("outreach:embed", kwargs={"slug": campaign.slug}))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors *" in csp
    html = response.content.decode()
    assert "$1,250" in html
    assert "$5,000" in html
    assert "321" in html
    assert "12" in html
    assert 'target="_blank"' in html
    page = client.get(campaign.get_absolute_url())
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_embed_of_a_draft_is_404(client):
    draft = CampaignFactory(status="draft")
    assert client.get(reverse("outreach:embed", kwargs={"slug": draft.slug})).status_code == 404


# --- the organizer's dashboard ----------------------------------------------------------------
def organizer_of(organization):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=ORGANIZERS_GROUP))
    organization.members.add(user)
    return user


def dashboard_url(campaign):
    return reverse("admin:outreach_dashboard", kwargs={"campaign_id": campaign.pk})


def test_organizer_dashboard_shows_growth_sources_milestones_and_snippet(client, campaign):
    client.force_login(organizer_of(campaign.organization))
    sharer = SupporterFactory(campaign=campaign, name="Rosa Parks-Lee", share_code="rosa1234")
    SupporterFactory.create_batch(3, campaign=campaign, source="rosa1234")
    SupporterFactory.create_batch(2, campaign=campaign, source="newsletter")
    del sharer
    Milestone.objects.create(campaign=campaign, kind="supporters", threshold=100)
    response = client.get(dashboard_url(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html
    assert "<polyline" in html
    assert "Rosa Parks-Lee" in html
    assert "newsletter" in html
    assert html.index("Rosa Parks-Lee") < html.index("newsletter")  # most referrals first
    assert "100 supporters" in html
    assert "&lt;iframe src=&quot;" in html
    assert f"/c/{campaign.slug}/embed/" in html


def test_organizer_of_another_organization_cannot_open_the_dashboard(client, campaign):
    other = CampaignFactory()
    client.force_login(organizer_of(other.organization))
    assert client.get(dashboard_url(campaign)).status_code == 404
    index = client.get(reverse("admin:outreach_dashboard_index"))
    assert campaign.title not in index.content.decode()
    assert other.title in index.content.decode()


def test_supporters_without_staff_access_cannot_open_the_dashboard(client, campaign):
    client.force_login(UserFactory())
    response = client.get(dashboard_url(campaign))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_organizer_writes_and_publishes_an_update_in_the_admin(
    client, campaign, celery_eager, django_capture_on_commit_callbacks
):
    from django.core import mail

    from outreach.models import CampaignUpdate

    SupporterFactory(
        campaign=campaign, tier="advocate", consent_updates=True, email="adv@example.org"
    )
    client.force_login(organizer_of(campaign.organization))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:outreach_campaignupdate_add"),
            {
                "campaign": campaign.pk,
                "title": "We won a hearing",
                "audience": "advocates",
                "body": "The council will hear us on **Monday**.",
                "image_alt": "",
                "_publish": "1",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    update = CampaignUpdate.objects.get(title="We won a hearing")
    assert update.published_at
    assert update.sent_at
    assert [m.to for m in mail.outbox] == [["adv@example.org"]]


def test_organizer_cannot_write_updates_for_another_organizations_campaign(client, campaign):
    other = CampaignFactory()
    client.force_login(organizer_of(other.organization))
    response = client.post(
        reverse("admin:outreach_campaignupdate_add"),
        {"campaign": campaign.pk, "title": "Hijack", "audience": "everyone", "body": "x"},
    )
    assert response.status_code == 200  # the form re-shows with an error
    assert "Select a valid choice" in response.content.decode()
    from outreach.models import CampaignUpdate

    assert not CampaignUpdate.objects.filter(title="Hijack").exists()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def jpeg_with_gps(size=(2400, 1200)) -> bytes:
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (37.0, 48.0, 0.0)}  # GPSInfo
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 160)).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_update_image_is_stored_without_metadata_and_resized(client, campaign, media):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from outreach.models import CampaignUpdate

    client.force_login(organizer_of(campaign.organization))
    response = client.post(
        reverse("admin:outreach_campaignupdate_add"),
        {
            "campaign": campaign.pk,
            "title": "March photos",
            "audience": "everyone",
            "body": "What a day.",
            "image": SimpleUploadedFile("march.jpg", jpeg_with_gps(), content_type="image/jpeg"),
            "image_alt": "Hundreds of people marching down Broadway",
        },
    )
    assert response.status_code == 302
    update = CampaignUpdate.objects.get(title="March photos")
    with Image.open(update.image.path) as stored:
        assert stored.width == 1600
        assert dict(stored.getexif()) == {}


def test_update_image_that_is_not_an_image_is_refused_with_a_sentence(client, campaign, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from outreach.models import CampaignUpdate

    client.force_login(organizer_of(campaign.organization))
    response = client.post(
        reverse("admin:outreach_campaignupdate_add"),
        {
            "campaign": campaign.pk,
            "title": "Broken",
            "audience": "everyone",
            "body": "x",
            "image": SimpleUploadedFile("a.jpg", b"<html>", content_type="image/jpeg"),
            "image_alt": "x",
        },
    )
    assert response.status_code == 200
    assert "not an image we can read" in response.content.decode()
    assert not CampaignUpdate.objects.filter(title="Broken").exists()


def test_published_update_keeps_its_campaign_and_audience(client, campaign):
    from outreach.models import CampaignUpdate

    update = CampaignUpdate.objects.create(
        campaign=campaign,
        title="Sent",
        body="Old text",
        audience="champions",
        published_at=timezone.now(),
    )
    client.force_login(organizer_of(campaign.organization))
    response = client.post(
        reverse("admin:outreach_campaignupdate_change", args=[update.pk]),
        {"title": "Sent", "audience": "everyone", "body": "Corrected text", "image_alt": ""},
    )
    assert response.status_code == 302
    update.refresh_from_db()
    assert update.body == "Corrected text"
    assert update.audience == "champions"


def test_stats_json_answers_head_with_cors(client, campaign):
    response = client.head(stats_url(campaign))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
