"""The anonymous page cache: fast for strangers, never stale on totals, never personal."""

from __future__ import annotations

import pytest
from django.test import Client

from campaigns.models import Campaign
from pledges.models import Pledge
from pledges.services.transitions import pledge_transition
from tests.factories import CampaignFactory, PledgeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 30


def test_a_second_anonymous_visit_is_served_from_the_cache_without_any_query(
    client, django_assert_num_queries
):
    campaign = CampaignFactory()
    first = client.get(f"/c/{campaign.slug}/")
    assert first.status_code == 200
    assert "X-Page-Cache" not in first
    with django_assert_num_queries(0):
        second = client.get(f"/c/{campaign.slug}/")
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert "Cookie" in second["Vary"]
    # The headers the inner middleware put on the rendered page come back on the copy.
    for header in ("Content-Security-Policy", "X-Frame-Options", "Content-Type"):
        assert second[header] == first[header]


def test_a_new_pledge_shows_at_once_despite_the_cache(client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(goal_cents=100_000)
    assert "$0" in client.get(f"/c/{campaign.slug}/").content.decode()
    assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"
    pledge = PledgeFactory(campaign=campaign, status=Pledge.Status.PENDING_SETUP, amount_cents=4200)
    with django_capture_on_commit_callbacks(execute=True):
        pledge_transition(pledge=pledge, to=Pledge.Status.ACTIVE)
    response = client.get(f"/c/{campaign.slug}/")
    assert "X-Page-Cache" not in response
    assert "$42" in response.content.decode()


def test_an_edit_saved_in_the_admin_shows_at_once(client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(title="Bus lanes for Fruitvale")
    client.get(f"/c/{campaign.slug}/")
    campaign.title = "Bus lanes for all of Oakland"
    with django_capture_on_commit_callbacks(execute=True):
        campaign.save(update_fields=["title", "updated_at"])
    assert "Bus lanes for all of Oakland" in client.get(f"/c/{campaign.slug}/").content.decode()


def test_a_write_is_not_shown_before_it_commits(client, django_capture_on_commit_callbacks):
    """The version moves after commit: a render that raced the write was stored under the
    version it read first and is never served once the write is visible."""
    campaign = CampaignFactory()
    client.get(f"/c/{campaign.slug}/")
    with django_capture_on_commit_callbacks(execute=False) as pending:
        Campaign.objects.filter(pk=campaign.pk).update(supporter_count=7)
    assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"  # not committed yet
    for callback in pending:
        callback()
    assert "X-Page-Cache" not in client.get(f"/c/{campaign.slug}/")


def test_a_lost_version_never_serves_an_old_copy(client):
    from django.core.cache import cache

    campaign = CampaignFactory()
    client.get(f"/c/{campaign.slug}/")
    cache.delete(f"page-version:campaign:{campaign.slug}")  # evicted, or a cache restart
    assert "X-Page-Cache" not in client.get(f"/c/{campaign.slug}/")
    assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"


def test_signed_in_visitors_neither_get_nor_leave_a_cached_page():
    campaign = CampaignFactory()
    member = UserFactory(is_staff=True)
    campaign.organization.members.add(member)
    signed_in = Client()
    signed_in.force_login(member)
    mine = signed_in.get(f"/c/{campaign.slug}/")
    assert "X-Page-Cache" not in mine
    again = signed_in.get(f"/c/{campaign.slug}/")
    assert "X-Page-Cache" not in again
    stranger = Client().get(f"/c/{campaign.slug}/")
    assert "X-Page-Cache" not in stranger  # the organizer's page was not stored for strangers


def test_a_visit_with_a_referral_source_shares_the_one_cached_copy(client):
    """The source is remembered in a signed cookie (supporters/middleware.py), not in the page:
    every click on a shared link is served the same copy (tests/supporters/test_source_cookie.py
    checks that it is still recorded on sign-on)."""
    campaign = CampaignFactory()
    tracked = client.get(f"/c/{campaign.slug}/?source=abc123")
    assert tracked.status_code == 200
    assert Client().get(f"/c/{campaign.slug}/?source=other")["X-Page-Cache"] == "hit"
    assert Client().get(f"/c/{campaign.slug}/?utm_source=x&utm_junk=1")["X-Page-Cache"] == "hit"


def test_drafts_are_never_cached_or_shown():
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    assert Client().get(f"/c/{campaign.slug}/").status_code == 404
    assert Client().get(f"/c/{campaign.slug}/").status_code == 404


def test_the_discover_page_is_cached_per_filter(client):
    CampaignFactory(title="Bus lanes for Fruitvale", campaign_type="local")
    client.get("/?type=local&sort=newest")
    assert client.get("/?sort=newest&type=local")["X-Page-Cache"] == "hit"
    assert "X-Page-Cache" not in client.get("/?type=state&sort=newest")


@pytest.mark.parametrize("path", ["/?q=bus", "/?type=" + "x" * 41, "/c/{slug}/?x=1"])
def test_made_up_or_free_text_parameters_never_fill_the_cache(client, path):
    campaign = CampaignFactory(title="Bus lanes for Fruitvale")
    url = path.format(slug=campaign.slug)
    client.get(url)
    assert "X-Page-Cache" not in client.get(url)


@pytest.mark.parametrize(
    "path",
    [
        "/?issue=made-up-area",  # no such issue area
        "/?type=nonsense",
        "/?sort=random",
        "/?page=999",  # out of range: shows the last page
        "/?page=abc",
        "/?page=01",  # page 1 under another spelling
        "/?issue=housing&issue=other",  # a parameter given twice
        "/?issue=%20housing",  # the view strips it, the key would not
    ],
)
def test_made_up_discover_filter_values_never_fill_the_cache(client, path):
    """issue, type, sort and page may vary the discover page's key, but only with values that
    name a real page: a stranger must not store a new copy per made-up `?issue=<random>`."""
    from django.core.cache import cache

    from tests.factories import IssueAreaFactory

    CampaignFactory(campaign_type="local").issue_areas.add(IssueAreaFactory(slug="housing"))
    client.get("/")
    page_keys = _page_keys(cache)
    assert page_keys  # the plain discover page was stored
    first = client.get(path)
    assert first.status_code == 200
    assert "X-Page-Cache" not in client.get(path)
    assert _page_keys(cache) == page_keys


def _page_keys(cache) -> set[str]:
    """The stored page copies: LocMemCache (CACHE_BACKEND=locmem, as tests run) keeps its keys
    in `_cache`; django-redis lists them with `keys`."""
    if hasattr(cache, "_cache"):
        return {key for key in cache._cache if ":page:" in key}
    return set(cache.keys("page:*"))


def test_real_discover_filters_and_pages_are_cached_and_served_without_a_query(
    client, django_assert_num_queries
):
    from tests.factories import IssueAreaFactory

    housing = IssueAreaFactory(name="Housing", slug="housing")
    for i in range(13):
        CampaignFactory(title=f"Tenants {i:02d}", campaign_type="local").issue_areas.add(housing)
    CampaignFactory(title="Clean air", campaign_type="state")
    for path in [
        "/",
        "/?issue=housing&type=local&sort=supported",
        "/?sort=ending&page=2",
        "/?issue=&type=&sort=newest",  # the filter form's empty choices
        "/?issue=housing&page=2",
    ]:
        first = Client().get(path)
        assert "X-Page-Cache" not in first, path
        with django_assert_num_queries(0):
            second = Client().get(path)
        assert second["X-Page-Cache"] == "hit", path
        assert second.content == first.content
    html = Client().get("/?issue=housing&page=2").content.decode()
    assert "Tenants" in html
    assert "Clean air" not in html


def test_a_visitors_source_never_ends_up_in_the_cached_discover_pages_links():
    from tests.factories import CampaignFactory as Factory

    for i in range(30):
        Factory(title=f"Campaign {i}")
    html = Client().get("/?sort=newest&utm_source=secret-list&source=abc").content.decode()
    assert "page=2" in html
    assert "secret-list" not in html
    assert "source=abc" not in html


def test_a_write_in_another_process_shows_within_the_version_trust_window(
    client, settings, monkeypatch
):
    """A hit makes no round trip to the cache while the version it read last is younger than
    PAGE_CACHE_VERSION_SECONDS (issue 14: that round trip made a hit cost more CPU than the
    constant view). A write made in this process shows at once (the tests above); one made in
    another process — its bump reaches the shared cache only — shows once the window is over."""
    from django.core.cache import cache

    from campaigns import page_cache

    now = [1_000.0]
    monkeypatch.setattr(page_cache, "_clock", lambda: now[0])
    settings.PAGE_CACHE_VERSION_SECONDS = 0.5
    campaign = CampaignFactory()
    client.get(f"/c/{campaign.slug}/")
    assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"  # version now trusted
    cache.incr(f"page-version:campaign:{campaign.slug}")  # another process's write
    now[0] += 0.4
    assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"  # within the window
    now[0] += 0.2
    assert "X-Page-Cache" not in client.get(f"/c/{campaign.slug}/")  # read again: re-rendered
    settings.PAGE_CACHE_VERSION_SECONDS = 0  # trust nothing: every request asks the cache
    now[0] += 1.0  # (once the version trusted before has aged out)
    assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"
    cache.incr(f"page-version:campaign:{campaign.slug}")
    assert "X-Page-Cache" not in client.get(f"/c/{campaign.slug}/")


def test_a_hit_on_a_busy_page_makes_no_round_trip_to_the_cache(client, settings, monkeypatch):
    from campaigns import page_cache

    settings.PAGE_CACHE_VERSION_SECONDS = 0.5
    campaign = CampaignFactory()
    client.get(f"/c/{campaign.slug}/")
    client.get(f"/c/{campaign.slug}/")
    reads: list[str] = []
    real_get = page_cache.cache.get

    def counted(key, *args, **kwargs):
        reads.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(page_cache.cache, "get", counted)
    for _ in range(3):
        assert client.get(f"/c/{campaign.slug}/")["X-Page-Cache"] == "hit"
    assert reads == []
