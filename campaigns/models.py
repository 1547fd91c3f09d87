"""Campaigns, their organizations, tiers and content.

Totals shown on every page (pledged amount, backers, supporters) are denormalized onto
Campaign and updated by the services in the same transaction as the state change that moves
them, so a page never scans pledges or supporters to count them.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.validators import MinValueValidator, RegexValidator
from django.db import connections, models, transaction
from django.db.models import Q
from django.db.models.sql import UpdateQuery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def _timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class Organization(TimeStamped):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    logo = models.ImageField(upload_to="orgs/", blank=True)
    # Rendition made by campaigns.images from `logo` whenever the logo changes.
    logo_small = models.ImageField(
        upload_to="orgs/renditions/",
        blank=True,
        editable=False,
        width_field="logo_small_width",
        height_field="logo_small_height",
    )
    logo_small_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_small_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    website = models.URLField(blank=True)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    about = models.TextField(blank=True, help_text="Markdown. Shown at the foot of its campaigns.")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="organizations",
        blank=True,
        help_text="Organizers who may edit this organization's campaigns.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IssueArea(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


DEFAULT_COLOUR = "#1f5f8b"
# Every campaign collects in this currency today; sums across campaigns are shown in it.
PLATFORM_CURRENCY = "usd"


class CampaignQuerySet(models.QuerySet):
    def open(self, now=None):
        """Campaigns open to pledges and sign-ons: LIVE and before their deadline (settlement
        may not have moved a campaign out of LIVE in the minute after). The one place this rule
        is written for querysets; `campaigns.selectors.campaign_is_open` is its twin for one
        campaign in hand."""
        return self.filter(status=Campaign.Status.LIVE, deadline__gt=now or timezone.now())

    def update(self, **kwargs):
        """Every write to campaign rows (totals, status, deadline…) goes through here or
        `Campaign.save`; both mark the public pages out of date after commit, so the anonymous
        page cache (campaigns/page_cache.py) shows it at once without asking the database."""
        from campaigns.page_cache import campaign_pages_changed

        if "slug" not in kwargs and connections[self.db].vendor == "postgresql":
            # One `UPDATE … RETURNING slug` instead of a read of the slugs before it: every
            # paid charge moves its campaign's counters through here (issue 14). It skips
            # `super().update`, so it does what that would: modeltranslation's rewrite of
            # translated names (`title` → `title_es`; its queryset comes after this one).
            if getattr(self, "_rewrite", False):
                from modeltranslation.manager import rewrite_lookup_key

                kwargs = {
                    rewrite_lookup_key(self.model, key): self._rewrite_f(value)
                    for key, value in kwargs.items()
                }
            slugs = self._update_returning_slugs(kwargs)
            if slugs:
                campaign_pages_changed(slugs)
            return len(slugs)
        slugs = list(self.values_list("slug", flat=True))
        updated = super().update(**kwargs)
        if updated:
            campaign_pages_changed([*slugs, *([kwargs["slug"]] if "slug" in kwargs else [])])
        return updated

    def counters_add(self, pk: int, **deltas: int) -> int:
        """Add whole numbers to campaign `pk`'s counter columns (totals, collection counts,
        cents collected): `.filter(pk=pk).update(col=F("col") + delta, …)` as one statement
        built once per set of columns, its pages marked changed as `update` does. Every paid
        charge moves its campaign's counters: the ORM's build of that UPDATE was a tenth of a
        charge's CPU in the payments worker (issue 14). Returns the rows updated (0 or 1)."""
        if self.query.has_filters():
            raise TypeError("counters_add names its row: call it on Campaign.objects")
        deltas = {column: delta for column, delta in deltas.items() if delta}
        if not deltas:
            return 0
        if connections[self.db].vendor != "postgresql":
            return self.filter(pk=pk).update(
                **{column: models.F(column) + delta for column, delta in deltas.items()}
            )
        connection = connections[self.db]
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(_counters_sql(self.db, tuple(deltas)), [*deltas.values(), pk])
            slugs = [slug for (slug,) in cursor.fetchall()]
        if slugs:
            from campaigns.page_cache import campaign_pages_changed

            campaign_pages_changed(slugs)
        return len(slugs)

    def _update_returning_slugs(self, kwargs) -> list[str]:
        """`super().update(**kwargs)` as one statement that also returns the rows' slugs."""
        self._not_support_combined_queries("update")
        if self.query.is_sliced:
            raise TypeError("Cannot update a query once a slice has been taken.")
        self._for_write = True
        query = self.query.chain(UpdateQuery)
        query.add_update_values(kwargs)
        query.clear_ordering(force=True)
        query.clear_select_clause()
        compiler = query.get_compiler(self.db)
        try:
            statement, params = compiler.as_sql()
        except EmptyResultSet:  # no row can match (`.none()`, `pk__in=[]`): as Django, 0
            return []
        if not statement:  # nothing to update
            return []
        connection = connections[self.db]
        quote = connection.ops.quote_name
        returning = f"{quote(Campaign._meta.db_table)}.{quote('slug')}"
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"{statement} RETURNING {returning}", params)
            rows = cursor.fetchall()
        self._result_cache = None
        return [slug for (slug,) in rows]


@functools.cache
def _counters_sql(db: str, columns: tuple[str, ...]) -> str:
    """`UPDATE campaign SET c = c + %s, … WHERE id = %s RETURNING slug` for these columns (only
    integer columns of the model; quoted names from its metadata, values as parameters)."""
    quote = connections[db].ops.quote_name
    meta = Campaign._meta
    sets = []
    for name in columns:
        field = meta.get_field(name)
        if not isinstance(field, models.IntegerField | models.BigIntegerField):
            raise TypeError(f"{name} is not a counter column")
        sets.append(f"{quote(field.column)} = {quote(field.column)} + %s")
    table = quote(meta.db_table)
    return (
        f"UPDATE {table} SET {', '.join(sets)} WHERE {table}.{quote('id')} = %s "  # noqa: S608
        f"RETURNING {table}.{quote('slug')}"
    )


class Campaign(TimeStamped):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        LIVE = "live", _("Live")
        SETTLING = "settling", _("Settling")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CLOSED = "closed", _("Closed")

    class Type(models.TextChoices):
        LOCAL = "local", _("Local")
        STATE = "state", _("State")
        NATIONAL = "national", _("National")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="campaigns"
    )
    title = models.CharField(max_length=160)
    language = models.CharField(
        "main language",
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language the campaign is written in first. A text left empty in the "
        "other language shows this one, and the page says so.",
    )
    slug = models.SlugField(
        max_length=80, unique=True, error_messages={"unique": "That web address is taken."}
    )
    summary = models.TextField(help_text="The lede under the title: one or two sentences.")
    hero_image = models.ImageField(upload_to="campaigns/hero/", blank=True)
    # Renditions made by campaigns.images from `hero_image` whenever it changes.
    hero_large = models.ImageField(
        upload_to="campaigns/hero/1200/",
        blank=True,
        editable=False,
        width_field="hero_large_width",
        height_field="hero_large_height",
    )
    # Kept so the page can reserve the photo's space before it loads (no layout shift).
    hero_large_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_large_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_small = models.ImageField(upload_to="campaigns/hero/600/", blank=True, editable=False)
    hero_caption = models.CharField(max_length=300, blank=True)
    hero_credit = models.CharField(max_length=200, blank=True)
    hero_alt = models.CharField(
        "hero image description", max_length=300, blank=True, help_text="For screen readers."
    )
    issue_areas = models.ManyToManyField(IssueArea, related_name="campaigns", blank=True)
    campaign_type = models.CharField(max_length=16, choices=Type.choices, default=Type.NATIONAL)
    goal_cents = models.PositiveBigIntegerField(validators=[MinValueValidator(100)])
    currency = models.CharField(max_length=3, default="usd")
    deadline = models.DateTimeField()
    timezone = models.CharField(
        max_length=64, choices=_timezone_choices, default="America/Los_Angeles"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    review_note = models.TextField(blank=True, help_text="Why staff sent the campaign back.")
    contact_name = models.CharField("organizer contact", max_length=120, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    colour = models.CharField(
        max_length=7,
        default=DEFAULT_COLOUR,
        validators=[
            RegexValidator(
                r"^#[0-9a-fA-F]{6}$", "Enter the colour as # and six hex digits, e.g. #1f5f8b."
            )
        ],
        help_text="Campaign colour, e.g. #1f5f8b. Keep it dark: white text sits on it.",
    )

    # Denormalized totals, moved only by services in the transaction of the change.
    pledged_cents = models.PositiveBigIntegerField(default=0)
    backer_count = models.PositiveIntegerField(default=0)
    supporter_count = models.PositiveIntegerField(default=0)
    # Snapshotted at the deadline (freeze) and filled in as charges land.
    frozen_pledged_cents = models.PositiveBigIntegerField(null=True, blank=True)
    frozen_backer_count = models.PositiveIntegerField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    collected_cents = models.PositiveBigIntegerField(default=0)
    # How many pledges are collected (paid or disputed), still to collect (active, due, being
    # charged or waiting for the supporter or staff) and ended uncollected (unpaid): moved by
    # the pledge state machine with every transition, so the page never counts pledges.
    # Plain integers: a counter must never be what makes a money transition fail.
    paid_count = models.IntegerField(default=0, editable=False)
    collecting_count = models.IntegerField(default=0, editable=False)
    uncollected_count = models.IntegerField(default=0, editable=False)
    # Pledge changes up to this moment have been reported to staff in a settlement digest.
    settlement_digest_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_for_collection_at = models.DateTimeField(null=True, blank=True)
    approved_for_collection_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["deadline"]
        constraints = [
            models.CheckConstraint(condition=Q(goal_cents__gt=0), name="campaign_goal_positive"),
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        from campaigns.page_cache import campaign_pages_changed

        super().save(*args, **kwargs)
        campaign_pages_changed([self.slug])

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("campaigns:detail", kwargs={"slug": self.slug})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def accent_colour(self) -> str:
        """The campaign colour if white text on it meets WCAG AA (4.5:1), else the brand blue."""
        try:
            channels = [int(self.colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        except (TypeError, ValueError):
            return DEFAULT_COLOUR
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        return self.colour if 1.05 / (luminance + 0.05) >= 4.5 else DEFAULT_COLOUR

    @property
    def deadline_local(self):
        return self.deadline.astimezone(self.tz)

    @property
    def deadline_display(self) -> str:
        """ "Friday, November 22 2019 7:59 PM PST", in the campaign's own time zone."""
        return self.local_display(self.deadline)

    @property
    def fallback_language_name(self) -> str:
        """Set when some text on this page is shown in the other language (no translation)."""
        from campaigns.translation import fallback_language_name

        return fallback_language_name(self)

    def local_display(self, when) -> str:
        """Any moment written like `deadline_display`, in the campaign's own time zone and the
        active language ("martes, 15 de diciembre de 2026, 5:00 p.m. PST" in Spanish)."""
        from campaigns.formatting import datetime_display

        return datetime_display(when, self.tz)

    @property
    def shown_pledged_cents(self) -> int:
        """Live total until the deadline froze it; the frozen snapshot after."""
        if self.frozen_pledged_cents is None:
            return self.pledged_cents
        return self.frozen_pledged_cents

    @property
    def shown_backer_count(self) -> int:
        if self.frozen_backer_count is None:
            return self.backer_count
        return self.frozen_backer_count

    @property
    def is_public(self) -> bool:
        return self.status not in {self.Status.DRAFT, self.Status.IN_REVIEW}

    @property
    def percent_funded(self) -> int:
        pledged = self.shown_pledged_cents
        return min(100, int(pledged * 100 // self.goal_cents)) if self.goal_cents else 0


class CampaignEvent(models.Model):
    """Audit trail of every campaign state change: who or what, from, to, when, why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=80, blank=True, help_text="e.g. 'celery beat'")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]


class Section(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sections")
    heading = models.CharField(max_length=200)
    body = models.TextField(
        blank=True, help_text="Markdown. HTML is sanitized. Empty sections are not shown."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.heading


class Tier(models.Model):
    class Kind(models.TextChoices):
        ALLY = "ally", _("Ally")
        ADVOCATE = "advocate", _("Advocate")
        CHAMPION = "champion", _("Champion")

    DEFAULT_MINIMUMS = {Kind.ALLY: 0, Kind.ADVOCATE: 1500, Kind.CHAMPION: 2800}
    RANK = {Kind.ALLY: 0, Kind.ADVOCATE: 1, Kind.CHAMPION: 2}

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tiers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=60)
    pitch = models.CharField(max_length=300, blank=True)
    min_cents = models.PositiveIntegerField("minimum pledge (cents)", default=0)
    benefits = models.TextField(blank=True, help_text="One benefit per line.")

    class Meta:
        ordering = ["min_cents", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="tier_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.campaign})"

    @property
    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]

    @property
    def name_with_article(self) -> str:
        """ "an Ally", "an Advocate", "a Champion"; in Spanish the name alone ("como Aliado")."""
        from django.utils.translation import get_language

        if not (get_language() or "en").startswith("en"):
            return self.name
        article = "an" if self.name[:1].lower() in "aeiou" else "a"
        return f"{article} {self.name}"

    @property
    def rank(self) -> int:
        return self.RANK[self.kind]


class CoalitionMember(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="coalition")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    url = models.URLField(blank=True)
    listed_as_supporter = models.BooleanField(
        default=True, help_text="Show in the campaign's supporters list."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class NewsLink(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="news")
    title = models.CharField(max_length=300)
    url = models.URLField()
    source = models.CharField(max_length=120, blank=True)
    published_on = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "-published_on", "id"]

    def __str__(self) -> str:
        return self.title
