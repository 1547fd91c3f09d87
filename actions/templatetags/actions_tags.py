"""The "Take action" section of the campaign page gets its data here, so the campaign view
does not need to know about actions."""

from __future__ import annotations

from django import template

from actions.identity import viewer_for
from actions.selectors import ActionSection, campaign_action_section

register = template.Library()


@register.simple_tag(takes_context=True)
def campaign_actions(context, campaign) -> ActionSection:
    """Open actions of `campaign` for the visitor of this request, with their ticks and totals.
    A constant number of queries (see `campaign_action_section`)."""
    request = context.get("request")
    if request is None or campaign is None:
        return ActionSection()
    viewer = viewer_for(request, campaign)
    return campaign_action_section(
        campaign=campaign, supporter=viewer.supporter, early_access=viewer.early_access
    )
