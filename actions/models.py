"""Things supporters do for a campaign besides giving money: call, email, sign, attend, give,
learn, volunteer.

One `Action` row per thing to do, with the fields of its kind (a call action uses the script and
its `CallTarget`s, an email action the address, subject and letter, an event its date, place and
capacity; give/learn/volunteer actions are ordered lists of `ActionLink`s). Counts shown on pages
(`completed_count`, `outcome_count`, the per-target outcome counts) are denormalized and moved
only by `actions.services` in the transaction that records what a supporter did, guarded by
unique constraints so a replayed request never counts twice.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, TimeStamped
from supporters.models import Supporter

# Digits with the usual separators; at least 7 and at most 15 digits (E.164), optional leading +.
PHONE_RE = re.compile(r"^\+?[0-9 ()./\-]{7,25}$")
ADVOCATES_FIRST_MAX_HOURS = 168


def validate_phone(value: str) -> None:
    digits = re.sub(r"\D", "", value or "")
    if not PHONE_RE.match((value or "").strip()) or not 7 <= len(digits) <= 15:
        raise ValidationError(
            "Enter a phone number using digits (spaces, +, -, dots and brackets are fine), "
            "e.g. (202) 224-3121 or +1 202 224 3121."
        )


def phone_for_tel(value: str) -> str:
    """The phone number as a `tel:` URI target: digits, with the leading + kept."""
    value = (value or "").strip()
    digits = re.sub(r"\D", "", value)
    return f"+{digits}" if value.startswith("+") else digits


def _timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class CongressTargets(models.TextChoices):
    NONE = "", _("No: only the fixed targets")
    HOUSE = "house", _("Their representative")
    SENATE = "senate", _("Their two senators")
    BOTH = "both", _("Their representative and two senators")


class Action(TimeStamped):
    class Kind(models.TextChoices):
        CALL = "call", _("Call a decision maker")
        EMAIL = "email", _("Email a decision maker")
        PETITION = "petition", _("Sign the petition")
        EVENT = "event", _("Attend an event")
        GIVE = "give", _("Give to partners / donate goods")
        LEARN = "learn", _("Learn more")
        VOLUNTEER = "volunteer", _("Volunteer")

    # Kinds whose completion a supporter reports (and which show a total).
    COUNTED_KINDS = {Kind.CALL, Kind.EMAIL, Kind.PETITION, Kind.EVENT}

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    why_it_matters = models.TextField(blank=True, help_text=_("Markdown. HTML is sanitized."))
    updated_on = models.DateField(default=timezone.localdate)
    position = models.PositiveSmallIntegerField(default=0)
    published = models.BooleanField(
        default=False, help_text=_("Unpublished actions are visible only in the admin.")
    )
    starts_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the action opens to everyone. Empty: as soon as it is published."),
    )
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the action closes. Empty: open until removed.")
    )
    advocates_first_hours = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(ADVOCATES_FIRST_MAX_HOURS)],
        help_text=(
            "Open to Advocates and Champions this many hours before everyone else (they are "
            "emailed when it opens to them). 0: everyone at once. Needs a start time."
        ),
    )
    advocates_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Call
    call_script = models.TextField(
        blank=True,
        help_text=_(
            "What the caller says. {name} and {zip} are replaced with the caller's name "
            "and ZIP code."
        ),
    )
    # Call or email: the supporter's own members of Congress, found from their ZIP code,
    # besides (or instead of) the fixed targets.
    congress_targets = models.CharField(
        _("the supporter's members of Congress"),
        max_length=8,
        choices=CongressTargets.choices,
        blank=True,
        default="",
        help_text=_(
            "Also send each supporter to their own members of Congress, found from their ZIP "
            "code. In the script and letter, {target} is replaced with the member's title and "
            "name (e.g. Senator Alex Padilla)."
        ),
    )
    key_messages = models.TextField(
        _("key messages"),
        blank=True,
        help_text=_("One short point per line, shown as a bulleted list beside the script."),
    )
    # Email
    email_to = models.EmailField("send to (email address)", blank=True)
    email_to_name = models.CharField("recipient's name", max_length=200, blank=True)
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(
        "sample letter",
        blank=True,
        help_text=_("Supporters can edit it before sending. {name} and {zip} are filled in."),
    )
    # Petition
    petition_text = models.TextField(
        blank=True, help_text=_("Markdown. What signers put their name to.")
    )
    # Event
    event_starts_at = models.DateTimeField("event starts", null=True, blank=True)
    event_ends_at = models.DateTimeField("event ends", null=True, blank=True)
    event_timezone = models.CharField(
        max_length=64, choices=_timezone_choices, default="America/Los_Angeles"
    )
    event_place = models.CharField("place name", max_length=200, blank=True)
    event_address = models.TextField("address", blank=True)
    event_online_url = models.URLField("online link", blank=True)
    event_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Most people who can RSVP. Empty: no limit.")
    )
    reminder_hours = models.PositiveSmallIntegerField(
        default=24,
        validators=[MaxValueValidator(ADVOCATES_FIRST_MAX_HOURS)],
        help_text=_("Email people who RSVP'd this many hours before the event (at most 168)."),
    )

    # Denormalized totals, moved only by actions.services.
    completed_count = models.PositiveIntegerField(
        "people who did it", default=0, editable=False, help_text=_("Counted once per person.")
    )
    outcome_count = models.PositiveIntegerField(
        "calls reported", default=0, editable=False, help_text=_("Across all targets.")
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["campaign", "published", "position"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="action_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(advocates_first_hours=0) | Q(starts_at__isnull=False),
                name="action_advocates_first_needs_start",
            ),
            models.CheckConstraint(
                condition=Q(event_ends_at__isnull=True)
                | Q(event_starts_at__isnull=True)
                | Q(event_ends_at__gt=models.F("event_starts_at")),
                name="action_event_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """One check per action kind's required fields, each a sentence."""
        errors: dict[str, str] = {}
        if self.advocates_first_hours and not self.starts_at:
            errors["starts_at"] = "Set when the action opens to everyone to open it early."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The action must close after it opens."
        if self.kind == self.Kind.CALL and not self.call_script.strip():
            errors["call_script"] = "A call action needs a script."
        if self.kind == self.Kind.EMAIL:
            errors.update(self._email_errors())
        if self.kind == self.Kind.PETITION and not self.petition_text.strip():
            errors["petition_text"] = "A petition needs its text."
        if self.kind == self.Kind.EVENT:
            errors.update(self._event_errors())
        if errors:
            raise ValidationError(errors)

    def _email_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.email_to and not self.congress_targets:
            errors["email_to"] = "An email action needs the address to write to."
        if not self.email_subject.strip():
            errors["email_subject"] = "An email action needs a subject."
        if not self.email_body.strip():
            errors["email_body"] = "An email action needs a sample letter."
        return errors

    def _event_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.event_starts_at:
            errors["event_starts_at"] = "When does the event start?"
        if not self.event_ends_at:
            errors["event_ends_at"] = "When does the event end?"
        elif self.event_starts_at and self.event_ends_at <= self.event_starts_at:
            errors["event_ends_at"] = "The event must end after it starts."
        if not (self.event_place.strip() or self.event_address.strip() or self.event_online_url):
            errors["event_place"] = "Give a place, an address or an online link."
        return errors

    @property
    def is_counted(self) -> bool:
        return self.kind in self.COUNTED_KINDS

    @property
    def advocates_open_at(self) -> dt.datetime | None:
        """When Advocates and Champions may start; equals `starts_at` without an early window."""
        if self.starts_at is None:
            return None
        return self.starts_at - dt.timedelta(hours=self.advocates_first_hours)

    @property
    def event_tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.event_timezone)

    @property
    def event_spots_left(self) -> int | None:
        if self.event_capacity is None:
            return None
        return max(0, self.event_capacity - self.completed_count)


class CallTarget(models.Model):
    """A decision maker to call for a call action, with the outcomes callers reported."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=200)
    office = models.CharField(max_length=200, blank=True, help_text=_("e.g. U.S. Senator (CA)"))
    phone = models.CharField(max_length=30, validators=[validate_phone])
    position = models.PositiveSmallIntegerField(default=0)
    # Set for a member of Congress reached through the supporter's ZIP code (the row is made
    # by actions.services.call_target_for_legislator on the first report to that member).
    legislator = models.ForeignKey(
        "congress.Legislator",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call_targets",
        verbose_name=_("member of Congress"),
    )

    # Denormalized, moved only by actions.services.call_outcome_report.
    talked_count = models.PositiveIntegerField(default=0, editable=False)
    voicemail_count = models.PositiveIntegerField(default=0, editable=False)
    busy_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "legislator"],
                condition=Q(legislator__isnull=False),
                name="call_target_one_per_member_per_action",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.office})" if self.office else self.name

    @property
    def tel(self) -> str:
        return phone_for_tel(self.phone)

    @property
    def reported_count(self) -> int:
        return self.talked_count + self.voicemail_count + self.busy_count


class CallOutcome(models.Model):
    """What happened when one supporter called one target. One row per (supporter, target): a
    second report (a replay, or "busy" followed by getting through) changes this row and moves
    the counts from the old outcome to the new one, so totals never grow from repeats."""

    class Outcome(models.TextChoices):
        TALKED = "talked_to_staff", _("I talked to staff")
        VOICEMAIL = "left_voicemail", _("I left a voicemail")
        BUSY = "busy_no_answer", _("Busy / no answer")

    COUNT_FIELD = {
        Outcome.TALKED: "talked_count",
        Outcome.VOICEMAIL: "voicemail_count",
        Outcome.BUSY: "busy_count",
    }

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="call_outcomes")
    target = models.ForeignKey(CallTarget, on_delete=models.CASCADE, related_name="outcomes")
    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="call_outcomes")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "supporter"], name="call_outcome_one_per_target_and_supporter"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supporter_id} → {self.target_id}: {self.outcome}"


class ActionCompletion(models.Model):
    """A supporter did an action (called, sent the email, signed, RSVP'd). One per supporter per
    action. A petition signature waits for the email confirmation: it counts from `counted_at`."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="completions")
    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="action_completions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    # Events: when the reminder email was claimed for this RSVP (set once).
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "person who took action"
        verbose_name_plural = "people who took action"
        constraints = [
            models.UniqueConstraint(
                fields=["action", "supporter"], name="action_completion_once_per_supporter"
            ),
        ]
        indexes = [models.Index(fields=["action", "counted_at"])]

    def __str__(self) -> str:
        return f"{self.supporter_id} did {self.action_id}"


class ActionLink(models.Model):
    """An entry of a give / learn / volunteer list (or a resource under any action): a link, a
    contact, or both."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="links")
    title = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    description = models.TextField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=30, blank=True, validators=[validate_phone])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if not (self.url or self.contact_email or self.contact_phone or self.description.strip()):
            raise ValidationError("Give a link, a contact or a description.")

    @property
    def contact_tel(self) -> str:
        return phone_for_tel(self.contact_phone)
