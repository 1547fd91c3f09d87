"""The public pages: the campaign page and discover."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign, CoalitionMember
from tests.factories import (
    CampaignFactory,
    IssueAreaFactory,
    OrganizationFactory,
    PledgeFactory,
    SupporterFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
C = Campaign.Status


def url(campaign):
    return f"/c/{campaign.slug}/"


# --- campaign page -----------------------------------------------------------------------
def test_live_campaign_page_shows_totals_goal_and_promise(client):
    campaign = CampaignFactory(
        title="Stop holding children in detention",
        goal_cents=100_000,
        pledged_cents=42_500,
        supporter_count=137,
        deadline=dt.datetime(2030, 11, 23, 3, 59, tzinfo=dt.UTC),
        timezone="America/Los_Angeles",
    )
    response = client.get(url(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stop holding children in detention" in html
    assert "$425" in html
    assert "pledged of $1,000 campaign goal" in html
    assert "137 supporters. Let's get to 200!" in html
    assert 'aria-valuenow="42"' in html
    assert (
        "only be charged if the campaign reaches its goal and is approved, after "
        "Friday, November 22 2030 7:59 PM PST" in html
    )


def test_campaign_page_links_each_tier_to_its_support_page(client):
    campaign = CampaignFactory()
    html = client.get(url(campaign)).content.decode()
    for kind in ("ally", "advocate", "champion"):
        assert f'href="/c/{campaign.slug}/support/{kind}/"' in html
    assert "Make a one-time pledge of $15 or more" in html
    assert "Make a one-time pledge of $28 or more" in html


@pytest.mark.parametrize("status", [C.DRAFT, C.IN_REVIEW])
def test_unpublished_campaign_is_404_for_the_public(client, status):
    campaign = CampaignFactory(status=status)
    assert client.get(url(campaign)).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url(campaign)).status_code == 404


def test_unpublished_campaign_is_404_for_another_organizations_organizer(client):
    campaign = CampaignFactory(status=C.DRAFT)
    other = OrganizationFactory()
    organizer = UserFactory(is_staff=True)
    other.members.add(organizer)
    client.force_login(organizer)
    assert client.get(url(campaign)).status_code == 404


def test_organizer_previews_their_draft_with_a_banner(client):
    campaign = CampaignFactory(status=C.DRAFT)
    organizer = UserFactory(is_staff=True)
    campaign.organization.members.add(organizer)
    client.force_login(organizer)
    response = client.get(url(campaign))
    assert response.status_code == 200
    assert "Preview." in response.content.decode()


def test_organizer_of_a_live_campaign_gets_an_edit_link_and_the_public_does_not(client):
    campaign = CampaignFactory()
    edit = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    assert edit not in client.get(url(campaign)).content.decode()
    organizer = UserFactory(is_staff=True)
    campaign.organization.members.add(organizer)
    client.force_login(organizer)
    assert edit in client.get(url(campaign)).content.decode()


def test_superuser_previews_any_draft(client):
    campaign = CampaignFactory(status=C.IN_REVIEW)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(url(campaign)).status_code == 200


def test_unknown_campaign_is_404(client):
    assert client.get("/c/no-such-campaign/").status_code == 404


def test_supporters_list_shows_opted_in_confirmed_champions_and_listed_organizations(client):
    campaign = CampaignFactory()
    SupporterFactory(campaign=campaign, name="Ada Listed", tier="champion", public_listing=True)
    SupporterFactory(campaign=campaign, name="Ben Private", tier="champion", public_listing=False)
    SupporterFactory(campaign=campaign, name="Cleo Ally", tier="ally", public_listing=True)
    SupporterFactory(
        campaign=campaign,
        name="Dan Unconfirmed",
        tier="champion",
        public_listing=True,
        confirmed_at=None,
    )
    SupporterFactory(
        campaign=campaign,
        name="Eve Left",
        tier="champion",
        public_listing=True,
        left_at=timezone.now(),
    )
    CoalitionMember.objects.create(campaign=campaign, name="Listed Org", title="Partner")
    CoalitionMember.objects.create(
        campaign=campaign, name="Quiet Org", title="Funder", listed_as_supporter=False
    )
    html = client.get(url(campaign)).content.decode()
    supporters = html.split('id="supporters-title"')[1].split("</section>")[0]
    assert "Ada Listed</span>, Campaign Champion" in supporters
    assert "Listed Org" in supporters
    assert "Partner" in supporters
    for hidden in ("Ben Private", "Cleo Ally", "Dan Unconfirmed", "Eve Left", "Quiet Org"):
        assert hidden not in supporters
    assert "Quiet Org" in html  # still shown in the coalition


def test_section_markdown_is_rendered_and_script_is_removed(client):
    campaign = CampaignFactory()
    section = campaign.sections.first()
    section.body = "**Bold claim**\n\n<script>alert(1)</script><a href='javascript:x()'>x</a>"
    section.save()
    html = client.get(url(campaign)).content.decode()
    assert "<strong>Bold claim</strong>" in html
    assert "<script>alert(1)" not in html
    assert "javascript:x()" not in html


# --- time: countdown and after the deadline ------------------------------------------------
@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (dt.timedelta(days=12, hours=5), '>12</span> <span class="stat__label">days to go'),
        (dt.timedelta(days=1, hours=2), '>1</span> <span class="stat__label">day to go'),
        (dt.timedelta(hours=5, minutes=10), '>6</span> <span class="stat__label">hours to go'),
        (dt.timedelta(minutes=20), '>1</span> <span class="stat__label">hour to go'),
    ],
)
def test_countdown_shows_days_then_hours_in_the_last_day(client, remaining, expected):
    start = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        campaign = CampaignFactory(deadline=start + remaining)
        html = client.get(url(campaign)).content.decode()
    assert expected in html


def test_live_campaign_past_its_deadline_says_results_are_being_finalised(client):
    start = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        campaign = CampaignFactory(deadline=start + dt.timedelta(hours=2))
    with time_machine.travel(start + dt.timedelta(hours=3), tick=False):
        html = client.get(url(campaign)).content.decode()
    assert "The deadline has passed; results are being finalised." in html
    assert ">Ended<" in html
    assert "Pledge as a Champion" not in html
    assert "no longer taking support" in html


def test_succeeded_campaign_shows_what_was_collected_from_how_many(client):
    campaign = CampaignFactory(
        status=C.SUCCEEDED,
        deadline=timezone.now() - dt.timedelta(days=3),
        frozen_pledged_cents=150_000,
        frozen_backer_count=61,
        collected_cents=147_200,
        paid_count=61,  # everyone paid (the pledge state machine keeps the count)
    )
    html = client.get(url(campaign)).content.decode()
    assert "Funded: $1,472 from 61 supporters" in html
    assert "$1,500" in html  # the frozen pledged total


def test_failed_campaign_says_nobody_was_charged(client):
    campaign = CampaignFactory(status=C.FAILED, deadline=timezone.now() - dt.timedelta(days=3))
    html = client.get(url(campaign)).content.decode()
    assert "Did not reach its goal — nobody was charged." in html


def test_settling_campaign_says_results_are_being_finalised(client):
    campaign = CampaignFactory(status=C.SETTLING, deadline=timezone.now() - dt.timedelta(hours=1))
    html = client.get(url(campaign)).content.decode()
    assert "The deadline has passed; results are being finalised." in html


# --- query count -----------------------------------------------------------------------------
def _page_queries(client, campaign, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url(campaign)).status_code == 200
    return len(captured.captured_queries)


def test_campaign_page_query_count_does_not_grow_with_supporters_or_pledges(
    client, django_assert_max_num_queries
):
    small = CampaignFactory()
    small.issue_areas.add(IssueAreaFactory())
    SupporterFactory(campaign=small, tier="champion", public_listing=True)
    PledgeFactory(campaign=small)
    CoalitionMember.objects.create(campaign=small, name="Org")

    big = CampaignFactory()
    big.issue_areas.add(IssueAreaFactory(), IssueAreaFactory())
    SupporterFactory.create_batch(50, campaign=big, tier="champion", public_listing=True)
    PledgeFactory.create_batch(50, campaign=big)
    CoalitionMember.objects.create(campaign=big, name="Org")

    one = _page_queries(client, small, django_assert_max_num_queries, 10)
    fifty = _page_queries(client, big, django_assert_max_num_queries, 10)
    assert one == fifty


# --- discover ------------------------------------------------------------------------------
def titles(response):
    return [card["campaign"].title for card in response.context["cards"]]


def test_discover_never_shows_drafts_or_campaigns_in_review(client):
    CampaignFactory(title="Public one")
    CampaignFactory(title="Secret draft", status=C.DRAFT)
    CampaignFactory(title="Waiting review", status=C.IN_REVIEW)
    response = client.get("/")
    assert titles(response) == ["Public one"]
    assert "Secret draft" not in response.content.decode()


def test_discover_lists_live_first_then_recently_ended_not_long_ended(client):
    now = timezone.now()
    CampaignFactory(title="Live later", deadline=now + dt.timedelta(days=20))
    CampaignFactory(title="Live soon", deadline=now + dt.timedelta(days=2))
    CampaignFactory(title="Ended recently", status=C.FAILED, deadline=now - dt.timedelta(days=5))
    CampaignFactory(title="Ended long ago", status=C.CLOSED, deadline=now - dt.timedelta(days=400))
    assert titles(client.get("/")) == ["Live soon", "Live later", "Ended recently"]
    html = client.get("/").content.decode()
    assert html.index("Live later") < html.index("Recently ended") < html.index("Ended recently")


def test_discover_filters_by_issue_area_and_type_and_searches(client):
    housing = IssueAreaFactory(name="Housing", slug="housing")
    CampaignFactory(title="Heat for tenants", campaign_type="local").issue_areas.add(housing)
    CampaignFactory(title="State housing bill", campaign_type="state").issue_areas.add(housing)
    CampaignFactory(title="Clean air", summary="Monitors at schools", campaign_type="state")
    assert set(titles(client.get("/?issue=housing"))) == {"Heat for tenants", "State housing bill"}
    assert titles(client.get("/?issue=housing&type=state")) == ["State housing bill"]
    assert titles(client.get("/?q=monitors")) == ["Clean air"]
    assert titles(client.get("/?q=HEAT")) == ["Heat for tenants"]
    empty = client.get("/?q=nothing-matches-this")
    assert "No campaigns match." in empty.content.decode()


def test_discover_sorts_by_most_supported_and_newest(client):
    now = timezone.now()
    CampaignFactory(title="Few", supporter_count=3, published_at=now - dt.timedelta(days=1))
    CampaignFactory(title="Many", supporter_count=300, published_at=now - dt.timedelta(days=9))
    CampaignFactory(title="Some", supporter_count=30, published_at=now - dt.timedelta(days=5))
    assert titles(client.get("/?sort=supported")) == ["Many", "Some", "Few"]
    assert titles(client.get("/?sort=newest")) == ["Few", "Some", "Many"]


def test_discover_paginates_twelve_per_page_keeping_filters(client):
    now = timezone.now()
    for i in range(14):
        CampaignFactory(title=f"Campaign {i:02d}", deadline=now + dt.timedelta(days=i + 1))
    first = client.get("/?sort=ending")
    assert len(titles(first)) == 12
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?sort=ending&amp;page=2"' in first.content.decode()
    second = client.get("/?sort=ending&page=2")
    assert titles(second) == ["Campaign 12", "Campaign 13"]
    assert client.get("/?page=999").status_code == 200  # clamps to the last page


def test_discover_form_has_labelled_controls(client):
    html = client.get("/").content.decode()
    labels = {"f-q": "Search", "f-issue": "Issue area", "f-type": "Campaign type"}
    for field_id, label in {**labels, "f-sort": "Sort by"}.items():
        assert f'<label for="{field_id}">{label}</label>' in html


def test_discover_query_count_does_not_grow_with_campaigns(client, django_assert_max_num_queries):
    area = IssueAreaFactory()
    CampaignFactory().issue_areas.add(area)
    with django_assert_max_num_queries(10) as one:
        client.get("/")
    for _ in range(11):
        CampaignFactory().issue_areas.add(area, IssueAreaFactory())
    with django_assert_max_num_queries(10) as twelve:
        client.get("/")
    assert len(one.captured_queries) == len(twelve.captured_queries)
