"""Forms for supporters: the Ally sign-on, preferences on /me/, deleting an account."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from supporters.models import normalize_email

PHONE_RE = re.compile(r"^[0-9+()./\- ]{7,25}$")
POSTAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,10}$")


def consent_wording(campaign: Campaign) -> dict[str, str]:
    """The exact sentences shown next to the two consent boxes, in the page's language;
    stored with each consent as the person read them."""
    return {
        "updates": gettext(
            "Yes, email me updates about “%(title)s” (milestones, news and ways to "
            "help). I can unsubscribe at any time."
        )
        % {"title": campaign.title},
        "org": gettext(
            "Yes, %(organization)s, the organization running this campaign, may "
            "contact me about its work. I can withdraw this at any time."
        )
        % {"organization": campaign.organization.name},
    }


class AccessibleErrorsMixin:
    """Point each invalid input at its error message (aria-describedby), so a screen reader
    reads the message when the field gets focus. Django marks it aria-invalid itself."""

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                ids = [f"{self[name].auto_id}-error"]
                if self.fields[name].help_text:
                    ids.append(f"{self[name].auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(ids)


class PersonForm(forms.Form):
    """Name and email, asked the same way wherever a person tells us who they are."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Please tell us your name.")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Please enter your email address."),
            "invalid": _("That doesn't look like an email address. Please check it."),
        },
    )

    def __init__(self, *args, fixed_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_email = fixed_email
        if fixed_email:
            # Logged-in people act with their account's address.
            self.fields["email"].required = False
            self.fields["email"].disabled = True
            self.fields["email"].initial = fixed_email
            self.fields["email"].help_text = "The address of your account."

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Please tell us your name.")
        return name

    def clean_email(self) -> str:
        if self.fixed_email:
            return normalize_email(self.fixed_email)
        return normalize_email(self.cleaned_data["email"])


class AllySignOnForm(AccessibleErrorsMixin, PersonForm):
    postal_code = forms.CharField(
        label=_("ZIP/postal code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
        error_messages={"required": _("Please enter your ZIP or postal code.")},
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=25,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    consent_updates = forms.BooleanField(required=False)
    consent_org = forms.BooleanField(required=False)
    # Honeypot: hidden from people (CSS and aria-hidden), irresistible to form-filling bots.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(self, *args, campaign: Campaign, fixed_email: str | None = None, **kwargs):
        super().__init__(*args, fixed_email=fixed_email, **kwargs)
        self.wording = consent_wording(campaign)
        self.fields["consent_updates"].label = self.wording["updates"]
        self.fields["consent_org"].label = self.wording["org"]

    def is_bot(self) -> bool:
        return bool((self.data.get("website") or "").strip())

    def clean_postal_code(self) -> str:
        code = self.cleaned_data["postal_code"].strip().upper()
        if not POSTAL_RE.match(code):
            raise forms.ValidationError("Please enter a ZIP or postal code, like 94609 or K1A 0B1.")
        return code

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(
                "Please enter a phone number using digits (spaces, +, - and brackets are fine)."
            )
        return phone


class PreferencesForm(AccessibleErrorsMixin, forms.Form):
    display_name = forms.CharField(
        label=_("Name to show on the campaign page"),
        max_length=120,
        required=False,
        help_text=_("Leave empty to use your name."),
    )
    public_listing = forms.BooleanField(
        label=_("When I'm a Champion, list me by name on the campaign page"),
        required=False,
    )
    consent_updates = forms.BooleanField(required=False)
    consent_org = forms.BooleanField(required=False)

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.wording = consent_wording(campaign)
        self.fields["consent_updates"].label = self.wording["updates"]
        self.fields["consent_org"].label = self.wording["org"]


class DeleteAccountForm(AccessibleErrorsMixin, forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        required=False,
    )
    confirm_email = forms.CharField(label=_("Type your email address"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.has_usable_password():
            del self.fields["confirm_email"]
            self.fields["password"].required = True
            self.fields["password"].error_messages["required"] = (
                "Please enter your password to delete your account."
            )
        else:
            del self.fields["password"]
            self.fields["confirm_email"].required = True

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not right. Nothing was deleted.")
        return password

    def clean_confirm_email(self) -> str:
        typed = normalize_email(self.cleaned_data.get("confirm_email", ""))
        if typed != normalize_email(self.user.email):
            raise forms.ValidationError("That is not your email address. Nothing was deleted.")
        return typed
