"""Validation of what a supporter types on the pledge page, with messages a person understands.

Amounts are typed in dollars and become integer cents here, through Decimal (never float), so
"25.10" is 2510 cents exactly and "25.105" is refused rather than rounded.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Tier
from campaigns.templatetags.rallyround import money
from supporters.forms import consent_wording
from supporters.models import User, normalize_email

# Suggested amounts shown beside the tier minimum (cents).
SUGGESTED_CENTS = (2500, 5000, 10000)
OTHER = "other"
# Plain digits with an optional decimal point: no exponents ("1e3"), no "NaN" or "Infinity".
DECIMAL_RE = re.compile(r"\d+(\.\d*)?|\.\d+")


def consent_updates_text(campaign: Campaign) -> str:
    """The exact wording of the first consent box (the Ally form's, stored with the consent)."""
    return consent_wording(campaign)["updates"]


def consent_org_text(campaign: Campaign) -> str:
    """The exact wording of the second consent box (the Ally form's, stored with the consent)."""
    return consent_wording(campaign)["org"]


def parse_amount_cents(text: str) -> int:
    """Dollars as typed ("25", "$1,000.50") → integer cents, or a ValidationError saying why."""
    cleaned = (text or "").strip().replace(",", "").replace(" ", "")
    if cleaned.startswith("$"):
        cleaned = cleaned[1:]
    if not cleaned:
        raise forms.ValidationError("Enter the amount you want to pledge.", code="required")
    unsigned = cleaned[1:] if cleaned[:1] in "+-" else cleaned
    if not DECIMAL_RE.fullmatch(unsigned):
        raise forms.ValidationError(
            "Enter the amount in dollars, using digits only, like 25 or 25.50.", code="invalid"
        )
    value = Decimal(cleaned)
    if value <= 0:
        raise forms.ValidationError("The amount must be more than zero.", code="not_positive")
    if -int(value.as_tuple().exponent) > 2:  # finite here: DECIMAL_RE matched
        raise forms.ValidationError(
            "Use at most two decimal places (dollars and cents).", code="too_precise"
        )
    cents = value * 100
    if cents > 10**12:  # twenty digits typed: say so rather than quote the maximum
        raise forms.ValidationError("That amount is too large.", code="too_large")
    return int(cents)


def suggested_amounts(tier: Tier) -> list[int]:
    """The tier minimum followed by the standard suggestions above it, in cents."""
    floor = max(tier.min_cents, 100)
    amounts = [floor] + [c for c in SUGGESTED_CENTS if c > floor]
    return [c for c in amounts if c <= settings.PLEDGE_MAX_CENTS]


def dollars_input(cents: int) -> str:
    """2500 → "25"; 2550 → "25.50" (what goes back into an input box)."""
    dollars, rest = divmod(cents, 100)
    return str(dollars) if rest == 0 else f"{dollars}.{rest:02d}"


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


class PledgeForm(forms.Form):
    """The amount, who the supporter is, their consents, and (for Champions) their listing."""

    amount_choice = forms.CharField(required=False)
    amount = forms.CharField(label=_("Amount"), required=False, max_length=20, strip=True)
    name = forms.CharField(
        label=_("Full name"), max_length=120, error_messages={"required": _("Enter your name.")}
    )
    postal_code = forms.CharField(
        label=_("ZIP/postal code"),
        max_length=12,
        error_messages={"required": _("Enter your ZIP or postal code.")},
    )
    consent_updates = forms.BooleanField(required=False)
    consent_org = forms.BooleanField(required=False)
    public_listing = forms.BooleanField(
        label=_("List my name among this campaign's Champions"), required=False
    )
    display_name = forms.CharField(
        label=_("Name to show"),
        max_length=120,
        required=False,
        help_text=_("How your name appears on the campaign page, e.g. “Ana R.”"),
    )
    form_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Inline sign-up, for visitors without an account (removed for signed-in users).
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address like name@example.org."),
        },
    )
    password = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=_("At least 8 characters; not a common password."),
        error_messages={"required": _("Choose a password for your account.")},
    )

    def __init__(self, *args, campaign: Campaign, tier: Tier, user=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.tier = tier
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.fields["consent_updates"].label = consent_updates_text(campaign)
        self.fields["consent_org"].label = consent_org_text(campaign)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["postal_code"].widget.attrs.update(
            {"autocomplete": "postal-code", "inputmode": "text"}
        )
        self.fields["amount"].widget.attrs.update(
            {"inputmode": "decimal", "autocomplete": "off", "aria-describedby": "amount-help"}
        )
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        if self.user is not None:
            del self.fields["email"]
            del self.fields["password"]
        if tier.kind != Tier.Kind.CHAMPION:
            del self.fields["public_listing"]
            del self.fields["display_name"]

    @property
    def suggestions(self) -> list[int]:
        return suggested_amounts(self.tier)

    def clean_email(self) -> str:
        # Whether an account already has this address is never said here (that would tell
        # anyone who holds an account): the view answers both cases the same way.
        return normalize_email(self.cleaned_data["email"])

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        candidate = User(email=self.data.get("email", ""), first_name=self.data.get("name", ""))
        password_validation.validate_password(password, candidate)
        return password

    def clean(self):
        cleaned = super().clean()
        choice = (cleaned.get("amount_choice") or "").strip()
        text = cleaned.get("amount") if choice in ("", OTHER) else choice
        try:
            cents = parse_amount_cents(text or "")
        except forms.ValidationError as exc:
            self.add_error("amount", exc)
            return cleaned
        if cents < self.tier.min_cents:
            self.add_error(
                "amount",
                forms.ValidationError(
                    f"The minimum for {self.tier.name} is "
                    f"{money(self.tier.min_cents, self.campaign.currency)}.",
                    code="below_minimum",
                ),
            )
        elif cents > settings.PLEDGE_MAX_CENTS:
            self.add_error(
                "amount",
                forms.ValidationError(
                    f"The most you can pledge here is "
                    f"{money(settings.PLEDGE_MAX_CENTS, self.campaign.currency)}.",
                    code="above_maximum",
                ),
            )
        else:
            cleaned["amount_cents"] = cents
        wants_listing = self.tier.kind == Tier.Kind.CHAMPION and cleaned.get("public_listing")
        if wants_listing and not (cleaned.get("display_name") or "").strip():
            cleaned["display_name"] = cleaned.get("name", "")
        return cleaned
