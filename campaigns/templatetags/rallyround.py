"""Template filters used on every page: money formatting and safe Markdown."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import mark_safe

from campaigns.formatting import money_display

register = template.Library()

_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h3",
    "h4",
    "code",
    "pre",
    "hr",
}


@register.filter
def countdown(campaign):
    """The campaign page's time to go (`campaign_countdown`), for the sub-page campaign bar."""
    from campaigns.selectors import campaign_countdown

    return campaign_countdown(campaign=campaign)


@register.filter
def money(cents: int | None, currency: str) -> str:
    """1234567 → "$12,345.67"; whole dollars drop the cents: 150000 → "$1,500". The currency
    is required (`{{ x|money:campaign.currency }}`): an amount never shows without its own."""
    if cents is None:
        return ""
    # Written for the active language (campaigns/formatting.py); English output is unchanged.
    return money_display(int(cents), currency)


def render_markdown(text: str) -> str:
    """Markdown to HTML with everything but a small safe set of tags removed."""
    html = md.markdown(text or "", extensions=["sane_lists"])
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 — sanitized by nh3 above
