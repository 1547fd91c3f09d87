"""Demo campaign updates for `manage.py seed_demo`: one of each audience per public campaign,
so the updates page shows what each tier reads. Creates only what is missing and sends no
email (they are published directly, not through `update_publish`)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from campaigns.selectors import campaigns_public
from outreach.models import CampaignUpdate

A = CampaignUpdate.Audience

DEMO_UPDATES = (
    (
        A.EVERYONE,
        12,
        "Thank you: we passed our first milestone",
        "Every name on this campaign makes it harder to ignore. **Thank you** for signing "
        "on, and for sharing it with the people around you.\n\nNext: we take the numbers to "
        "the people who decide.",
    ),
    (
        A.ADVOCATES,
        6,
        "Strategy notes: who we still need to persuade",
        "Three decision-makers are still undecided. Over the next two weeks we will:\n\n"
        "1. Meet each of their offices with local supporters\n"
        "2. Publish the testimony we collected\n"
        "3. Ask you to make one phone call each, on the same day\n\n"
        "We will send the call script to Advocates first.",
    ),
    (
        A.CHAMPIONS,
        2,
        "Champions: a private call with the campaign team",
        "Join the organizers for a 30-minute call about what happens after the deadline, and "
        "how the money you pledged will be spent. Reply to this email to get the link.",
    ),
)


def demo_updates() -> list[str]:
    """Add the demo updates to every public campaign that has none. Returns what it made."""
    created: list[str] = []
    now = timezone.now()
    for campaign in campaigns_public().exclude(updates__isnull=False):
        for audience, days_ago, title, body in DEMO_UPDATES:
            CampaignUpdate.objects.create(
                campaign=campaign,
                audience=audience,
                title=title,
                body=body,
                published_at=now - dt.timedelta(days=days_ago),
            )
        created.append(f"updates for {campaign.slug}")
    return created
