"""The campaign's resources on a page of their own, made to be printed (hotlines, legal aid)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from campaigns.models import Campaign
from campaigns.selectors import user_can_edit_campaign
from congress.selectors import bills_for_campaign, resources_for_campaign


@require_safe
def campaign_resources(request, slug: str):
    campaign = get_object_or_404(Campaign.objects.select_related("organization"), slug=slug)
    if not campaign.is_public and not user_can_edit_campaign(request.user, campaign):
        raise Http404("No such campaign.")
    return render(
        request,
        "congress/resources.html",
        {
            "campaign": campaign,
            "resources": list(resources_for_campaign(campaign=campaign)),
            "bills": bills_for_campaign(campaign=campaign),
        },
    )
