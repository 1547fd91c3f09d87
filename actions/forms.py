"""Forms for take-action pages: messages a person understands."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from actions.models import Action, CallOutcome
from supporters.forms import POSTAL_RE, PersonForm


class ActorForm(PersonForm):
    """Who is acting: asked once per campaign of visitors we do not know yet."""

    postal_code = forms.CharField(
        label=_("ZIP code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
        error_messages={"required": _("Please enter your ZIP code: offices ask for it.")},
    )

    def clean_postal_code(self) -> str:
        code = self.cleaned_data["postal_code"].strip().upper()
        if not POSTAL_RE.match(code):
            raise forms.ValidationError("Please enter a ZIP or postal code, like 94609.")
        return code


class CallOutcomeForm(forms.Form):
    target = forms.TypedChoiceField(
        coerce=int, error_messages={"invalid_choice": "Please choose who you called."}
    )
    outcome = forms.ChoiceField(
        choices=CallOutcome.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please tell us how the call went."),
            "invalid_choice": "Please tell us how the call went.",
        },
    )

    def __init__(self, *args, action: Action, **kwargs):
        super().__init__(*args, **kwargs)
        # Members of Congress are reported through MemberCallOutcomeForm, which checks the
        # member represents the caller's ZIP code.
        self.fields["target"].choices = [
            (t.pk, str(t)) for t in action.targets.all() if not t.legislator_id
        ]


class MemberCallOutcomeForm(forms.Form):
    """A call to one of the supporter's members of Congress (chosen by id from their ZIP)."""

    member = forms.RegexField(
        regex=r"^[A-Z][0-9]{6}$",
        error_messages={
            "required": _("Please choose who you called."),
            "invalid": _("Please choose who you called."),
        },
    )
    zip = forms.CharField(max_length=12, required=False)
    district = forms.RegexField(regex=r"^[A-Z]{2}-[0-9]{1,2}$", required=False)
    outcome = forms.ChoiceField(
        choices=CallOutcome.Outcome.choices,
        error_messages={
            "required": _("Please tell us how the call went."),
            "invalid_choice": _("Please tell us how the call went."),
        },
    )
