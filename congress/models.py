"""Who represents whom in the U.S. Congress, the bills a campaign follows, and a campaign's
resources (hotlines, legal aid, where affected families get help).

`Legislator` and `ZipDistricts` are a copy of public data (see congress/README.md and
`manage.py congress_load`): they are replaced as a whole by the loader, never edited by hand.
A legislator who leaves office is kept with `in_office=False`, so the call targets and bill
sponsors that point at them keep their history.

Resources live here rather than in `campaigns` so the campaign core stays small; like bills
they are content an organizer attaches to a campaign.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from actions.models import phone_for_tel, validate_phone
from campaigns.models import Campaign, TimeStamped

# Places with a non-voting member of the House and no senators.
NON_STATES = {"DC", "PR", "GU", "VI", "AS", "MP"}


class Legislator(models.Model):
    class Chamber(models.TextChoices):
        HOUSE = "house", _("House")
        SENATE = "senate", _("Senate")

    bioguide = models.CharField(_("Bioguide id"), max_length=10, primary_key=True)
    chamber = models.CharField(_("chamber"), max_length=8, choices=Chamber.choices)
    state = models.CharField(_("state"), max_length=2)
    # 0 for an at-large seat (and for DC and the territories); empty for senators.
    district = models.PositiveSmallIntegerField(_("district"), null=True, blank=True)
    name = models.CharField(_("name"), max_length=200)
    last_name = models.CharField(_("last name"), max_length=100)
    party = models.CharField(_("party"), max_length=40, blank=True)
    state_rank = models.CharField(_("state rank"), max_length=10, blank=True)
    phone = models.CharField(_("office phone"), max_length=30, blank=True)
    contact_url = models.URLField(_("contact form"), max_length=300, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    office = models.CharField(_("office address"), max_length=300, blank=True)
    in_office = models.BooleanField(_("in office"), default=True)
    # [{"city": "Oakland", "phone": "510-763-0370"}, …]: district and state offices with a phone.
    local_offices = models.JSONField(_("local offices"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["state", "chamber", "district", "last_name"]
        verbose_name = _("member of Congress")
        verbose_name_plural = _("members of Congress")
        indexes = [models.Index(fields=["state", "chamber", "district"])]

    def __str__(self) -> str:
        return f"{self.title} {self.name} ({self.seat_label})"

    @property
    def title(self) -> str:
        """How the member is addressed: Senator, Representative, Delegate, Resident
        Commissioner (Puerto Rico's member of the House)."""
        if self.chamber == self.Chamber.SENATE:
            return str(_("Senator"))
        if self.state == "PR":
            return str(_("Resident Commissioner"))
        if self.state in NON_STATES:
            return str(_("Delegate"))
        return str(_("Representative"))

    @property
    def seat_label(self) -> str:
        """ "CA-12", "WY at-large", "DC", "CA · U.S. Senate"."""
        if self.chamber == self.Chamber.SENATE:
            return str(_("%(state)s · U.S. Senate") % {"state": self.state})
        if self.state in NON_STATES:
            return self.state
        if not self.district:
            return str(_("%(state)s at-large") % {"state": self.state})
        return f"{self.state}-{self.district}"

    @property
    def party_seat(self) -> str:
        """The usual short form after a name: "D-CA-12", "R-WY", "D-DC"."""
        seat = f"{self.state}-{self.district}" if self.district else self.state
        return f"{self.party[:1]}-{seat}" if self.party else seat

    @property
    def tel(self) -> str:
        return phone_for_tel(self.phone)

    @property
    def local_office_links(self) -> list[dict]:
        return [{**o, "tel": phone_for_tel(o.get("phone", ""))} for o in self.local_offices or []]

    @property
    def contact_link(self) -> str:
        return self.contact_url or self.website


class ZipDistricts(models.Model):
    """The congressional districts a ZIP code (ZCTA) reaches, stored compactly as one row per
    ZIP: `districts` is a space-separated list like "CA-12" or "MA-4 RI-1" (0 = at-large)."""

    zip_code = models.CharField(_("ZIP code"), max_length=5, primary_key=True)
    districts = models.CharField(_("districts"), max_length=200)

    class Meta:
        verbose_name = _("ZIP code's districts")
        verbose_name_plural = _("ZIP codes' districts")

    def __str__(self) -> str:
        return f"{self.zip_code}: {self.districts}"


class CongressDataLoad(models.Model):
    """One successful load of the public data: what was loaded, from where, when."""

    loaded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    legislators = models.PositiveIntegerField()
    zip_codes = models.PositiveIntegerField()

    class Meta:
        ordering = ["-loaded_at", "-id"]
        verbose_name = _("Congress data load")
        verbose_name_plural = _("Congress data loads")

    def __str__(self) -> str:
        return f"{self.loaded_at:%Y-%m-%d %H:%M} {self.source}"


class Bill(TimeStamped):
    """A bill a campaign follows, shown on the campaign page and on the actions it is attached
    to. `status` and `status_date` are written only by `congress.services.bill_status_change`,
    which also records the change in `BillStatusChange`."""

    class Chamber(models.TextChoices):
        HOUSE = "house", _("House of Representatives")
        SENATE = "senate", _("Senate")

    class Status(models.TextChoices):
        INTRODUCED = "introduced", _("Introduced")
        COMMITTEE = "committee", _("In committee")
        PASSED_ONE = "passed_chamber", _("Passed its first chamber")
        PASSED_BOTH = "passed_both", _("Passed both chambers")
        TO_PRESIDENT = "to_president", _("Sent to the President")
        LAW = "law", _("Became law")
        VETOED = "vetoed", _("Vetoed")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="bills", verbose_name=_("campaign")
    )
    actions = models.ManyToManyField(
        "actions.Action",
        blank=True,
        related_name="bills",
        verbose_name=_("shown on these actions"),
        help_text=_("Actions of the same campaign whose pages show this bill."),
    )
    number = models.CharField(_("number"), max_length=30, help_text=_("e.g. H.R. 6128"))
    title = models.CharField(_("title"), max_length=300)
    chamber = models.CharField(_("chamber"), max_length=8, choices=Chamber.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.INTRODUCED
    )
    status_date = models.DateField(_("status since"))
    sponsors = models.ManyToManyField(
        Legislator, blank=True, related_name="bills", verbose_name=_("sponsors")
    )
    text_url = models.URLField(_("official text"), max_length=500, blank=True)
    what_it_would_do = models.TextField(
        _("what it would do"), help_text=_("One paragraph in plain words.")
    )
    our_position = models.CharField(
        _("our position"),
        max_length=10,
        choices=[("support", _("We support it")), ("oppose", _("We oppose it"))],
        blank=True,
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="bill_number_per_campaign")
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.title}"


class BillStatusChange(models.Model):
    """The history of a bill's status, newest last; `announced_update` is the campaign update
    that told supporters about it, if one was written."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, choices=Bill.Status.choices)
    status_date = models.DateField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    announced_update = models.ForeignKey(
        "outreach.CampaignUpdate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("bill status change")
        verbose_name_plural = _("bill status changes")

    def __str__(self) -> str:
        return f"{self.bill_id}: {self.from_status} → {self.to_status} ({self.status_date})"


class CampaignResource(TimeStamped):
    """One entry of a campaign's resources block: a hotline, legal aid, a place where affected
    families can get help. Shown prominently on the campaign page and on its own printable
    page."""

    class Kind(models.TextChoices):
        HOTLINE = "hotline", pgettext_lazy("resource kind", "Hotline")
        LEGAL = "legal", pgettext_lazy("resource kind", "Legal aid")
        HELP = "help", pgettext_lazy("resource kind", "Help for families")
        OTHER = "other", pgettext_lazy("resource kind", "Other")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="resources", verbose_name=_("campaign")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOTLINE)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[validate_phone])
    phone_note = models.CharField(
        _("phone note"),
        max_length=200,
        blank=True,
        help_text=_("e.g. From inside a detention center dial 566#"),
    )
    url = models.URLField(_("link"), max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(url="") | ~Q(description=""),
                name="resource_has_something",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not (self.phone or self.url or self.description.strip()):
            raise ValidationError(_("Give a phone number, a link or a description."))

    @property
    def tel(self) -> str:
        return phone_for_tel(self.phone)
