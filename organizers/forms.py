"""Forms for applying to run campaigns and for accepting an organizer invitation."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.validators import MinLengthValidator
from django.utils.translation import gettext_lazy as _

from organizers.models import OrganizationApplication


class ApplicationForm(forms.ModelForm):
    # Left empty by people; bots fill every field they see.
    website_url = forms.CharField(required=False, label=_("Leave this empty"))

    class Meta:
        model = OrganizationApplication
        fields = ["organization_name", "contact_name", "contact_email", "website", "about"]
        labels = {
            "organization_name": _("Organization name"),
            "contact_name": _("Your name"),
            "contact_email": _("Your email"),
            "website": _("Website (optional)"),
            "about": _("What is the campaign about?"),
        }
        help_texts = {
            "about": _(
                "The change you want, who decides it, and roughly how much you need to raise. "
                "A few sentences are enough."
            ),
            "contact_email": _("We write to this address when your application is reviewed."),
        }
        widgets = {
            "about": forms.Textarea(attrs={"rows": 6}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "contact_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "organization_name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "website": forms.URLInput(attrs={"autocomplete": "url"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["website"].assume_scheme = "https"
        self.fields["about"].validators.append(
            MinLengthValidator(
                20, message=_("Tell us a little more: at least a couple of sentences.")
            )
        )

    def is_bot(self) -> bool:
        return bool(self.data.get("website_url"))


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the application declined?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("The applicant receives this by email."),
    )


class AcceptInvitationForm(forms.Form):
    password1 = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("The same password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", _("The two passwords differ."))
        elif one:
            try:
                validate_password(one)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
