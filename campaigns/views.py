"""Public campaign pages: discover (/) and the campaign page (/c/<slug>/). Thin: parse, select,
render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from actions.selectors import COUNT_SHOWN_FROM
from campaigns.models import Campaign
from campaigns.page_cache import (
    anonymous_page_cache,
    campaign_page_scope,
    is_tracking_param,
    page_cache_skip,
)
from campaigns.selectors import (
    SORTS,
    SUPPORTERS_SHOWN,
    DiscoverQuery,
    campaign_collection,
    campaign_countdown,
    campaign_for_page,
    campaign_phase,
    campaigns_discover,
    discover_params_name_a_page,
    issue_areas_in_use,
    user_can_edit_campaign,
)
from supporters.milestones import next_supporter_milestone
from supporters.selectors import supporter_standing

PAGE_SIZE = 12


# Searches (q) are not cached: every made-up word would be a new copy.
@anonymous_page_cache(scope=lambda: "discover", params=("issue", "type", "sort", "page"))
def discover(request):
    query = DiscoverQuery(
        q=request.GET.get("q", "").strip()[:100],
        issue=request.GET.get("issue", "").strip()[:80],
        type=request.GET.get("type", "").strip()[:16],
        sort=request.GET.get("sort", "ending") if request.GET.get("sort") in SORTS else "ending",
    )
    now = timezone.now()
    paginator = Paginator(campaigns_discover(query=query, now=now), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    issue_areas = list(issue_areas_in_use())
    if not discover_params_name_a_page(
        request.GET, issue_slugs={area.slug for area in issue_areas}, page_number=page.number
    ):
        page_cache_skip(request)
    cards, open_seen = [], False
    for c in page.object_list:
        countdown = campaign_countdown(campaign=c, now=now)
        # Live campaigns come first; a heading separates those that have ended.
        first_ended = (
            countdown.ended
            and (open_seen or page.number > 1)
            and not any(card["countdown"].ended for card in cards)
        )
        open_seen = open_seen or not countdown.ended
        cards.append(
            {
                "campaign": c,
                "countdown": countdown,
                "collection": campaign_collection(campaign=c),
                "first_ended": first_ended,
            }
        )
    params = request.GET.copy()
    params.pop("page", None)
    # The page is cached without them: no visitor's source may end up in everyone's links.
    for key in [k for k in params if is_tracking_param(k)]:
        params.pop(key)
    return render(
        request,
        "campaigns/discover.html",
        {
            "query": query,
            "page_obj": page,
            "cards": cards,
            "issue_areas": issue_areas,
            "types": Campaign.Type.choices,
            "sorts": [(key, label) for key, (label, _) in SORTS.items()],
            "filtered": bool(query.q or query.issue or query.type),
            "querystring": params.urlencode(),
        },
    )


@anonymous_page_cache(scope=campaign_page_scope)
def detail(request, slug: str):
    campaign = campaign_for_page(slug=slug, user=request.user)
    if campaign is None:
        raise Http404("No such campaign.")
    now = timezone.now()
    phase = campaign_phase(campaign=campaign, now=now)
    champions = campaign.listed_champions
    listed_orgs = [m for m in campaign.coalition.all() if m.listed_as_supporter]
    tiers = list(campaign.tiers.all())
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "organization": campaign.organization,
            "phase": phase,
            "collection": campaign_collection(campaign=campaign),
            "open": phase == "open" or phase == "preview",
            "countdown": campaign_countdown(campaign=campaign, now=now),
            "next_milestone": next_supporter_milestone(campaign.supporter_count),
            "champions": champions[:SUPPORTERS_SHOWN],
            "more_champions": len(champions) > SUPPORTERS_SHOWN,
            "listed_orgs": listed_orgs,
            "tiers": tiers,
            "sections": [s for s in campaign.sections.all() if s.body.strip()],
            "issue_areas": list(campaign.issue_areas.all()),
            "can_edit": request.user.is_staff and user_can_edit_campaign(request.user, campaign),
            "count_shown_from": COUNT_SHOWN_FROM,
            # Signed-in visitors only: their pages are never cached (campaigns/page_cache.py).
            "standing": supporter_standing(user=request.user, campaign=campaign)
            if request.user.is_authenticated
            else None,
        },
    )
