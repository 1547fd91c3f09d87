"""Forms for the organizer admin: money in dollars, clear messages for every bad input."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.images import image_validate
from campaigns.models import Campaign, Organization, Tier


class DollarsField(forms.DecimalField):
    """Typed in dollars ("1,500" or "1500.50"), cleaned to integer cents, shown as dollars."""

    def __init__(self, *, min_cents: int | None = 0, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "size": 12}))
        self.min_cents = min_cents
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            dollars, cents = divmod(value, 100)
            return f"{dollars}" if cents == 0 else f"{dollars}.{cents:02d}"
        return value

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(",", "").replace("$", "")
        return super().to_python(value)

    def clean(self, value):
        dollars = super().clean(value)
        if dollars is None:
            return None
        try:
            cents = int((dollars * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        except InvalidOperation as exc:
            raise ValidationError("Enter an amount in dollars, e.g. 1500.") from exc
        if self.min_cents is not None and cents < self.min_cents:
            raise ValidationError(
                f"Enter an amount of at least ${self.min_cents / 100:,.2f}.".replace(".00", "")
            )
        return cents

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != initial
        except ValidationError:
            return True


class ValidatedImageField(forms.ImageField):
    """Runs our checks (size, pixels, bombs, formats) before Django's own, so a person sees one
    clear message instead of "Upload a valid image"."""

    def to_python(self, data):
        if data and hasattr(data, "size"):
            image_validate(data)
        return super().to_python(data)


class CampaignAdminForm(forms.ModelForm):
    goal_cents = DollarsField(
        label="Campaign goal (US dollars)",
        min_cents=None,
        help_text="The amount the campaign must reach by its deadline, e.g. 5000.",
    )

    class Meta:
        model = Campaign
        fields = [
            "organization",
            "title",
            "slug",
            "summary",
            "issue_areas",
            "campaign_type",
            "goal_cents",
            "deadline",
            "timezone",
            "hero_image",
            "hero_alt",
            "hero_caption",
            "hero_credit",
            "contact_name",
            "contact_email",
            "contact_phone",
            "colour",
        ]
        field_classes = {"hero_image": ValidatedImageField}
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "review_note": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_goal_cents(self):
        goal = self.cleaned_data.get("goal_cents")
        if goal is not None and goal <= 0:
            raise ValidationError("The goal must be more than $0.")
        if goal is not None and goal < 100:
            raise ValidationError("The goal must be at least $1.")
        return goal

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "deadline" in self.fields:
            # The deadline is typed and shown as wall-clock time in the campaign's time zone.
            self.fields[
                "deadline"
            ].help_text = (
                "Date and time in the campaign's time zone (chosen below). Pledges close then."
            )
            # Django's split date/time widget writes "Date:" and "Time:" as bare text, not labels:
            # each box gets its own name (axe: label, critical).
            widget = self.fields["deadline"].widget
            if isinstance(widget, forms.MultiWidget):
                date_box, time_box = widget.widgets
                date_box.attrs["aria-label"] = gettext("Deadline date")
                time_box.attrs["aria-label"] = gettext("Deadline time")
            if self.instance.pk and self.instance.deadline:
                wall = self.instance.deadline.astimezone(self.instance.tz).replace(tzinfo=None)
                self.initial["deadline"] = timezone.make_aware(wall)

    def clean(self):
        cleaned = super().clean()
        deadline = cleaned.get("deadline")
        if deadline and "deadline" in self.fields:
            tzname = cleaned.get("timezone") or self.instance.timezone
            wall = timezone.make_naive(deadline)
            if not deadline_within_reach(wall):
                self.add_error("deadline", deadline_too_far())
                return cleaned
            deadline = timezone.make_aware(wall, zoneinfo.ZoneInfo(tzname))
            cleaned["deadline"] = deadline
            moved = {"deadline", "timezone"} & set(self.changed_data)
            if (moved or not self.instance.pk) and deadline <= timezone.now():
                self.add_error(
                    "deadline", "The deadline is in the past. Choose a date in the future."
                )
        if cleaned.get("hero_image") and not (cleaned.get("hero_alt") or "").strip():
            self.add_error(
                "hero_alt",
                "Describe the photo for people using screen readers (what it shows).",
            )
        return cleaned


class OrganizationAdminForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "slug", "logo", "website", "address", "phone", "about", "members"]
        field_classes = {"logo": ValidatedImageField}


class TierInlineForm(forms.ModelForm):
    min_cents = DollarsField(
        label="Minimum pledge (US dollars)",
        help_text="In dollars; 0 means free to join.",
    )

    class Meta:
        model = Tier
        fields = ["kind", "name", "pitch", "min_cents", "benefits"]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 4, "cols": 40})}


class TierInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        minimums = {}
        kinds = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            # A tier offered on the add page and left as it was is not saved (the defaults
            # make it), but its minimum still counts for the order below.
            data = form.cleaned_data if form.has_changed() else form.initial
            kind = data.get("kind") or getattr(form.instance, "kind", None)
            if kind:
                kinds.append(kind)
            if kind and data.get("min_cents") is not None:
                minimums[kind] = data["min_cents"]
        if len(kinds) != len(set(kinds)):
            raise ValidationError("Each tier appears once: Ally, Advocate and Champion.")
        order = [Tier.Kind.ALLY, Tier.Kind.ADVOCATE, Tier.Kind.CHAMPION]
        present = [kind for kind in order if kind in minimums]
        for lower, higher in zip(present, present[1:], strict=False):
            if minimums[lower] > minimums[higher]:
                raise ValidationError(
                    f"Tier minimums must go up: {Tier.Kind(lower).label} "
                    f"(${minimums[lower] / 100:,.2f}) is more than {Tier.Kind(higher).label} "
                    f"(${minimums[higher] / 100:,.2f})."
                )


class SendBackForm(forms.Form):
    reason = forms.CharField(
        label="What should the organizers change?",
        widget=forms.Textarea(attrs={"rows": 5, "cols": 70}),
        max_length=2000,
        help_text="The organizers see this on the campaign's page in the admin.",
    )


# A campaign a year long is already a long one. Far beyond (31 Dec 9999 in a zone west of UTC)
# the instant does not fit a datetime, and every page that showed it would fail.
DEADLINE_MAX_YEARS = 5


def deadline_too_far() -> str:
    return gettext("Choose a deadline within %(years)d years from today.") % {
        "years": DEADLINE_MAX_YEARS
    }


def deadline_within_reach(wall: dt.datetime) -> bool:
    """Whether the wall-clock `wall` is at most DEADLINE_MAX_YEARS from now."""
    limit = timezone.now().replace(tzinfo=None) + dt.timedelta(days=366 * DEADLINE_MAX_YEARS)
    return wall <= limit


class ExtendDeadlineForm(forms.Form):
    """Staff move a live campaign's deadline later. The date and time are typed as wall-clock
    time in the campaign's own time zone, like the deadline on the campaign form."""

    new_deadline = forms.DateTimeField(
        label="New deadline",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label="Why is the deadline being extended?",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        max_length=2000,
        help_text="Kept in the campaign's history. Supporters are told the new deadline, not this.",
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        self.campaign = campaign
        super().__init__(*args, **kwargs)
        self.fields["new_deadline"].help_text = (
            f"Date and time in the campaign's time zone ({campaign.timezone}). It must be later "
            f"than the current deadline, {campaign.deadline_display}."
        )

    def clean_new_deadline(self):
        value = self.cleaned_data["new_deadline"]
        wall = timezone.make_naive(value) if timezone.is_aware(value) else value
        if not deadline_within_reach(wall):
            raise ValidationError(deadline_too_far())
        deadline = timezone.make_aware(wall, self.campaign.tz)
        if deadline <= self.campaign.deadline:
            raise ValidationError(
                f"Choose a time later than the current deadline, {self.campaign.deadline_display}."
            )
        return deadline
