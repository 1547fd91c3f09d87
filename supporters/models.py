"""People and their relationship to campaigns.

User is the account (email is the login). Supporter is one person on one campaign, with or
without an account: an Ally can sign on with only a name and an email. Consents are stored with
the moment and the exact wording shown, because that is what a regulator asks for.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign, Tier, TimeStamped

# Supporter.source of the rows `seed_demo` writes (`manage.py demo_cards` gives their pledges a
# test card): reserved, so source tracking (?source=, cookies) never writes it on a real row.
DEMO_SOURCE = "demo"
RESERVED_SOURCES = frozenset({DEMO_SOURCE})


def source_is_reserved(value: str) -> bool:
    return value.strip().lower() in RESERVED_SOURCES


def normalize_email(email: str) -> str:
    """Lower-case and trim: one person, one supporter row per campaign, however they type it."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=120, blank=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True, db_index=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email

    def is_organizer_of(self, organization_id: int) -> bool:
        return self.organizations.filter(pk=organization_id).exists()


def _token() -> str:
    return secrets.token_urlsafe(24)


class Supporter(TimeStamped):
    """One person supporting one campaign, at one tier."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="supporters")
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="supports"
    )
    email = models.EmailField(help_text="Normalized (lower case).")
    name = models.CharField(max_length=120)
    postal_code = models.CharField("ZIP/postal code", max_length=12, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.Kind.choices, default=Tier.Kind.ALLY)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_token = models.CharField(max_length=64, unique=True, default=_token)
    left_at = models.DateTimeField(null=True, blank=True)

    consent_updates = models.BooleanField(default=False)
    consent_updates_at = models.DateTimeField(null=True, blank=True)
    consent_updates_text = models.TextField(blank=True)
    consent_org = models.BooleanField(default=False)
    consent_org_at = models.DateTimeField(null=True, blank=True)
    consent_org_text = models.TextField(blank=True)

    public_listing = models.BooleanField(
        default=False, help_text="Champions only: show my name on the campaign page."
    )
    display_name = models.CharField(max_length=120, blank=True)
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language of the page they signed on or pledged in: every email to them "
        "is written in it.",
    )

    source = models.CharField(max_length=80, blank=True)
    referrer = models.URLField(max_length=500, blank=True)
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=120, blank=True)
    share_code = models.CharField(max_length=16, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email"], name="supporter_one_per_email"),
            models.UniqueConstraint(
                fields=["campaign", "user"],
                condition=Q(user__isnull=False),
                name="supporter_one_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "tier"]),
            models.Index(fields=["campaign", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> on {self.campaign_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None and self.left_at is None

    @property
    def is_listed(self) -> bool:
        return self.is_confirmed and self.tier == Tier.Kind.CHAMPION and self.public_listing


class Milestone(models.Model):
    """A milestone a campaign reached, recorded once (the unique constraint makes sure)."""

    class Kind(models.TextChoices):
        SUPPORTERS = "supporters", "Supporters"
        FUNDING = "funding", "Funding (% of goal)"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    threshold = models.PositiveIntegerField()
    reached_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reached_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "threshold"], name="milestone_once"
            ),
        ]


class Reminder(models.Model):
    """One reminder sent (or claimed for sending) to one supporter: a deadline reminder (72 and
    24 hours before) or a card-health warning about a pledge's saved card.

    The constraints are the rules, so two beat runs at once cannot break them: each deadline
    reminder once per supporter, at most one deadline reminder a day per person (address)
    across every campaign, and one card warning per pledge. A row is the claim; `sent_at` is
    set by the batch that mailed it."""

    class Kind(models.TextChoices):
        DEADLINE_72H = "deadline_72h", "Deadline in 72 hours"
        DEADLINE_24H = "deadline_24h", "Deadline in 24 hours"
        CARD_EXPIRY = "card_expiry", "Saved card expires before the deadline"

    DEADLINE_KINDS = (Kind.DEADLINE_72H, Kind.DEADLINE_24H)

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="reminders")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reminders")
    pledge = models.ForeignKey(
        "pledges.Pledge",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    email = models.EmailField(help_text="Normalized: the person, across campaigns.")
    day = models.DateField(help_text="UTC date of the claim: one deadline reminder a day.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supporter", "kind"],
                condition=Q(kind__in=["deadline_72h", "deadline_24h"]),
                name="reminder_deadline_once",
            ),
            models.UniqueConstraint(
                fields=["email", "day"],
                condition=Q(kind__in=["deadline_72h", "deadline_24h"]),
                name="reminder_one_a_day",
            ),
            models.UniqueConstraint(
                fields=["pledge", "kind"],
                condition=Q(pledge__isnull=False),
                name="reminder_card_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.email} ({self.campaign_id})"
