"""Campaign updates and who has been sent each one.

An update is written by an organizer, published once, and emailed once per supporter: the
UpdateDelivery row (unique per update and supporter) is claimed before the message goes out, so
a redelivered Celery task or a second "send" never mails anyone twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Tier, TimeStamped


class CampaignUpdate(TimeStamped):
    class Audience(models.TextChoices):
        EVERYONE = "everyone", "Everyone (public: milestones and news)"
        ADVOCATES = "advocates", "Advocates and Champions (regular updates, strategy)"
        CHAMPIONS = "champions", "Champions only"

    class Segment(models.TextChoices):
        """Narrows who is emailed within the audience (the final push from the dashboard)."""

        ALL = "", _("Everyone in the audience")
        ALLIES_NOT_PLEDGED = "allies_not_pledged", _("Allies who have not pledged")
        CARD_EXPIRING = "card_expiring", _("Pledgers whose card expires before the deadline")

    # The lowest supporter tier rank (campaigns.models.Tier.RANK) that may read each audience.
    MIN_RANK = {Audience.EVERYONE: 0, Audience.ADVOCATES: 1, Audience.CHAMPIONS: 2}

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="updates")
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown. HTML is sanitized.")
    image = models.ImageField(
        upload_to="updates/", blank=True, help_text="Optional. JPEG, PNG or WebP, up to 5 MB."
    )
    image_alt = models.CharField(
        "image description", max_length=300, blank=True, help_text="For screen readers."
    )
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)
    segment = models.CharField(
        _("email only"),
        max_length=24,
        choices=Segment.choices,
        default=Segment.ALL,
        blank=True,
        help_text=_(
            "Who of the audience gets it by email. The updates page still shows it to the "
            "whole audience."
        ),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the email fan-out was queued (set once, by a conditional UPDATE).
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["campaign", "published_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True) | Q(published_at__isnull=False),
                name="update_sent_only_when_published",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def min_rank(self) -> int:
        return self.MIN_RANK[self.Audience(self.audience)]

    @property
    def tier_kinds(self) -> list[str]:
        """The supporter tiers this update is for."""
        return [kind for kind, rank in Tier.RANK.items() if rank >= self.min_rank]

    @property
    def is_public(self) -> bool:
        return self.audience == self.Audience.EVERYONE

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class UpdateDelivery(models.Model):
    """One update emailed to one supporter, recorded before sending (at most once)."""

    update = models.ForeignKey(CampaignUpdate, on_delete=models.CASCADE, related_name="deliveries")
    supporter = models.ForeignKey(
        "supporters.Supporter", on_delete=models.CASCADE, related_name="update_deliveries"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["update", "supporter"], name="update_delivered_once"),
        ]

    def __str__(self) -> str:
        return f"update {self.update_id} → supporter {self.supporter_id}"
