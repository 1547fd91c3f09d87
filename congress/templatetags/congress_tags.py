"""The campaign page's bills and resources blocks get their data here, so the campaign view does
not need to know about congress."""

from __future__ import annotations

from django import template

from congress.selectors import bills_for_campaign, resources_for_campaign

register = template.Library()


@register.simple_tag
def campaign_bills(campaign) -> list:
    return bills_for_campaign(campaign=campaign) if campaign is not None else []


@register.simple_tag
def campaign_resources(campaign) -> list:
    return list(resources_for_campaign(campaign=campaign)) if campaign is not None else []


@register.filter
def fallback_language(rows) -> str:
    """The language some translated text of `rows` (resources, bills) falls back to on this
    page, for the discreet note (components/language_note.html); "" when none. No query."""
    from campaigns.translation import rows_fallback_language_name

    return rows_fallback_language_name(rows or [])
