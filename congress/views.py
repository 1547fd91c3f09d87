"""The campaign's resources on a page of their own, made to be printed (hotlines, legal aid)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from campaigns.models import Campaign
from campaigns.selectors import user_can_edit_campaign
from campaigns.translation import rows_fallback_language_name
from congress.selectors import bills_for_campaign, resources_for_campaign


@require_safe
def campaign_resources(request, slug: str):
    campaign = get_object_or_404(Campaign.objects.select_related("organization"), slug=slug)
    if not campaign.is_public and not user_can_edit_campaign(request.user, campaign):
        raise Http404("No such campaign.")
    resources = list(resources_for_campaign(campaign=campaign))
    return render(
        request,
        "congress/resources.html",
        {
            "campaign": campaign,
            "resources": resources,
            "bills": bills_for_campaign(campaign=campaign),
            # The campaign's title and the resources; the bills block has its own note.
            "fallback_language": rows_fallback_language_name([campaign, *resources]),
        },
    )
