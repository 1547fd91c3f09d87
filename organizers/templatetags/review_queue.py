"""What waits for platform staff, shown on the admin index."""

from __future__ import annotations

from django import template

from campaigns.models import Campaign
from campaigns.selectors import user_is_platform_staff
from organizers.models import OrganizationApplication

register = template.Library()


@register.simple_tag(takes_context=True)
def review_queue(context) -> dict[str, int] | None:
    """Counts of campaigns and applications awaiting review, for platform staff only."""
    request = context.get("request")
    if request is None or not user_is_platform_staff(request.user):
        return None
    return {
        "campaigns": Campaign.objects.filter(status=Campaign.Status.IN_REVIEW).count(),
        "applications": OrganizationApplication.objects.filter(
            status=OrganizationApplication.Status.PENDING
        ).count(),
    }
