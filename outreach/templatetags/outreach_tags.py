"""Template tags for the share kit on the campaign page (meta tags and the share panel)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse

from outreach.images import share_image_step
from outreach.selectors import share_links, viewer_supporter
from outreach.services import supporter_ensure_share_code

register = template.Library()


@register.simple_tag(takes_context=True)
def share_kit(context, campaign) -> dict:
    """Links for the share panel. A signed-in supporter's links carry their own `?source=`
    code (made on first need) so the people they bring in are counted as their referrals.
    Costs no query for anonymous visitors."""
    request = context.get("request")
    user = getattr(request, "user", None)
    supporter = viewer_supporter(user=user, campaign=campaign) if campaign.is_public else None
    code = supporter_ensure_share_code(supporter=supporter) if supporter else ""
    return {
        "supporter": supporter,
        "share_code": code,
        "links": share_links(campaign=campaign, share_code=code),
        "kit_url": reverse("outreach:share_kit", kwargs={"slug": campaign.slug}),
    }


@register.simple_tag
def share_image_url(campaign) -> str:
    """Absolute URL of the campaign's share card, versioned by its cache step so social sites
    fetch the new card when the totals move."""
    path = reverse("outreach:share_image", kwargs={"slug": campaign.slug})
    return f"{settings.SITE_URL}{path}?v={share_image_step(campaign)}"


@register.simple_tag
def campaign_absolute_url(campaign) -> str:
    """The campaign's canonical address (SITE_URL, no tracking parameters)."""
    return f"{settings.SITE_URL}{campaign.get_absolute_url()}"
