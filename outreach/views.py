"""Public and supporter pages for outreach: updates, unsubscribe, share image, embed, stats,
the share kit and the Champion badge. Thin: look up, check who may see it, render."""

from __future__ import annotations

import base64

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from campaigns.models import Tier
from campaigns.selectors import user_can_edit_campaign
from outreach import images
from outreach.forms import FrameForm
from outreach.models import CampaignUpdate
from outreach.selectors import (
    campaign_public_by_slug,
    campaign_stats,
    share_links,
    updates_published,
    viewer_rank,
    viewer_supporter,
)
from outreach.services import (
    supporter_ensure_share_code,
    supporter_from_unsubscribe_token,
    supporter_unsubscribe_updates,
)
from supporters.throttle import throttle_hit

STATS_CACHE_SECONDS = 30
ADVOCATE_RANK = Tier.RANK[Tier.Kind.ADVOCATE]
CHAMPION_RANK = Tier.RANK[Tier.Kind.CHAMPION]
FRAMES_LIMITED = gettext_lazy(
    "You have framed several photos in the last hour. Please wait a while and try again."
)


def _campaign_or_404(slug: str):
    campaign = campaign_public_by_slug(slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


# --- updates ----------------------------------------------------------------------------------
def updates_list(request, slug: str):
    campaign = _campaign_or_404(slug)
    rank = viewer_rank(user=request.user, campaign=campaign)
    updates = [
        {"update": u, "readable": rank >= u.min_rank} for u in updates_published(campaign=campaign)
    ]
    return render(
        request,
        "outreach/updates.html",
        {
            "campaign": campaign,
            "organization": campaign.organization,
            "rows": updates,
            "rank": rank,
            "locked_count": sum(1 for row in updates if not row["readable"]),
        },
    )


def update_detail(request, slug: str, pk: int):
    campaign = _campaign_or_404(slug)
    update = CampaignUpdate.objects.filter(campaign=campaign, pk=pk).first()
    if update is None:
        raise Http404("No such update.")
    editor = request.user.is_authenticated and user_can_edit_campaign(request.user, campaign)
    if update.published_at is None and not editor:
        raise Http404("No such update.")
    rank = viewer_rank(user=request.user, campaign=campaign)
    context = {"campaign": campaign, "organization": campaign.organization, "update": update}
    if rank < update.min_rank:
        # Gated by URL too: the body never leaves the server for someone below the tier.
        return render(request, "outreach/update_locked.html", context, status=403)
    return render(request, "outreach/update_detail.html", context)


@csrf_exempt  # the signed token is the credential; mail clients POST without a CSRF token
def unsubscribe(request, slug: str, token: str):
    """GET: a page with a button (link scanners that fetch URLs unsubscribe nobody).
    POST: unsubscribe, from that button or from a mail client's RFC 8058 one-click POST."""
    supporter = supporter_from_unsubscribe_token(token=token, slug=slug)
    if supporter is None or not supporter.campaign.is_public:
        return render(request, "outreach/unsubscribe.html", {"invalid": True}, status=400)
    campaign = supporter.campaign
    if request.method == "POST":
        supporter_unsubscribe_updates(supporter=supporter)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return render(request, "outreach/unsubscribe.html", {"campaign": campaign, "done": True})
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return render(
        request,
        "outreach/unsubscribe.html",
        {"campaign": campaign, "supporter": supporter, "done": not supporter.consent_updates},
    )


# --- share image, embed, stats ----------------------------------------------------------------
@require_safe
def share_image(request, slug: str):
    campaign = _campaign_or_404(slug)
    data, step = images.share_image_cached(campaign=campaign)
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "public, max-age=600"
    response["ETag"] = f'"{step}"'
    return response


@require_safe
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def embed(request, slug: str):
    """A counter made to sit in an iframe on a partner's site: the only page that may be framed."""
    campaign = _campaign_or_404(slug)
    return render(
        request,
        "outreach/embed.html",
        {"campaign": campaign, "stats": campaign_stats(campaign=campaign)},
    )


@require_safe
def stats_json(request, slug: str):
    """The counter's figures for anyone's page: cached 30 s, one query on a miss, open CORS."""
    key = f"outreach:stats:{slug}"
    stats = cache.get(key)
    if stats is None:
        campaign = campaign_public_by_slug(slug=slug)
        if campaign is None:
            response = JsonResponse({"error": "No such campaign."}, status=404)
            response["Access-Control-Allow-Origin"] = "*"
            return response
        stats = campaign_stats(campaign=campaign, now=timezone.now())
        cache.set(key, stats, STATS_CACHE_SECONDS)
    response = JsonResponse(stats)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={STATS_CACHE_SECONDS}"
    return response


# --- /me/: premium share kit and the Champion badge --------------------------------------------
def _my_supporter(request, slug: str, min_rank: int):
    """(campaign, supporter) if I am a confirmed supporter at `min_rank` or above, else None."""
    campaign = _campaign_or_404(slug)
    supporter = viewer_supporter(user=request.user, campaign=campaign)
    if supporter is None or Tier.RANK.get(supporter.tier, 0) < min_rank:
        return campaign, None
    return campaign, supporter


def _tagline(supporter) -> str:
    return "I'm a Champion of" if supporter.tier == Tier.Kind.CHAMPION else "I'm an Advocate for"


@login_required
def share_kit(request, slug: str):
    campaign, supporter = _my_supporter(request, slug, 0)
    if supporter is None:
        raise Http404("You don't support this campaign yet.")
    code = supporter_ensure_share_code(supporter=supporter)
    rank = Tier.RANK.get(supporter.tier, 0)
    return render(
        request,
        "outreach/share_kit.html",
        {
            "campaign": campaign,
            "organization": campaign.organization,
            "supporter": supporter,
            "links": share_links(campaign=campaign, share_code=code),
            "premium": rank >= ADVOCATE_RANK,
            "champion": rank >= CHAMPION_RANK,
        },
        status=200,
    )


@login_required
@require_safe
def share_graphic(request, slug: str, kind: str):
    if kind not in ("story", "post"):
        raise Http404
    campaign, supporter = _my_supporter(request, slug, ADVOCATE_RANK)
    if supporter is None:
        return render(
            request,
            "outreach/forbidden.html",
            {"campaign": campaign, "need": "Advocate"},
            status=403,
        )
    data = images.campaign_graphic_cached(campaign=campaign, kind=kind, tagline=_tagline(supporter))
    response = HttpResponse(data, content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = (
            f'attachment; filename="{slugify(campaign.slug)}-{kind}.png"'
        )
    response["Cache-Control"] = "private, max-age=300"
    return response


def _badge_name(supporter) -> str:
    return supporter.display_name or supporter.name or "Champion"


@login_required
@require_safe
def badge_png(request, slug: str):
    campaign, supporter = _my_supporter(request, slug, CHAMPION_RANK)
    if supporter is None:
        return render(
            request,
            "outreach/forbidden.html",
            {"campaign": campaign, "need": "Champion"},
            status=403,
        )
    data = images.champion_badge_cached(campaign=campaign, name=_badge_name(supporter))
    response = HttpResponse(data, content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="champion-{campaign.slug}.png"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def badge_page(request, slug: str):
    """The badge to download, and the profile-picture frame: upload a photo, get it framed."""
    campaign, supporter = _my_supporter(request, slug, CHAMPION_RANK)
    if supporter is None:
        return render(
            request,
            "outreach/forbidden.html",
            {"campaign": campaign, "need": "Champion"},
            status=403,
        )
    framed = ""
    status = 200
    if request.method == "POST":
        form = FrameForm(request.POST, request.FILES)
        limits = settings.PHOTO_FRAME_RATE_LIMITS
        # Each photo is decoded on the server: count before reading it.
        if not throttle_hit(
            key=f"photo-frame:{request.user.pk}",
            limit=limits["user"],
            window_seconds=limits["window_seconds"],
        ):
            form = FrameForm()  # the upload is not read at all
            form.cleaned_data = {}
            form.add_error(None, FRAMES_LIMITED)
            status = 429
        elif form.is_valid():
            try:
                png = images.framed_photo_png(upload=form.cleaned_data["photo"], campaign=campaign)
            except ValidationError as exc:
                form.add_error("photo", exc)
                status = 400
            else:
                framed = base64.b64encode(png).decode()
        else:
            status = 400
    else:
        form = FrameForm()
    return render(
        request,
        "outreach/badge.html",
        {
            "campaign": campaign,
            "organization": campaign.organization,
            "supporter": supporter,
            "badge_name": _badge_name(supporter),
            "form": form,
            "framed": framed,
        },
        status=status,
    )
