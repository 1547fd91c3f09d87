"""Forms for take-action pages: messages a person understands."""

from __future__ import annotations

from django import forms

from actions.models import Action, CallOutcome
from supporters.forms import POSTAL_RE, PersonForm


class ActorForm(PersonForm):
    """Who is acting: asked once per campaign of visitors we do not know yet."""

    postal_code = forms.CharField(
        label="ZIP code",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
        error_messages={"required": "Please enter your ZIP code: offices ask for it."},
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
            "required": "Please tell us how the call went.",
            "invalid_choice": "Please tell us how the call went.",
        },
    )

    def __init__(self, *args, action: Action, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(t.pk, str(t)) for t in action.targets.all()]
