"""Input for outreach: the organizer's update form (admin) and the profile-picture frame upload."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.forms import ValidatedImageField
from outreach.images import frame_validate
from outreach.models import CampaignUpdate


class CampaignUpdateAdminForm(forms.ModelForm):
    class Meta:
        model = CampaignUpdate
        fields = ["campaign", "title", "audience", "segment", "body", "image", "image_alt"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14})}
        # Our checks run before Django's, so a bomb or a non-image gets a clear sentence
        # instead of "Upload a valid image".
        field_classes = {"image": ValidatedImageField}
        help_texts = {
            "audience": "Who may read it on the updates page and who gets it by email. "
            "Everyone includes Allies and the public.",
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("image") and not cleaned.get("image_alt", "").strip():
            self.add_error(
                "image_alt", "Describe the image in a sentence for people using screen readers."
            )
        segment, audience = cleaned.get("segment"), cleaned.get("audience")
        if (
            segment == CampaignUpdate.Segment.ALLIES_NOT_PLEDGED
            and audience != CampaignUpdate.Audience.EVERYONE
        ):
            self.add_error(
                "segment",
                _("Allies read only updates for everyone: choose the audience “Everyone”."),
            )
        if self.instance.pk and self.instance.published_at and self.has_changed():
            changed = set(self.changed_data) & {"campaign", "audience", "segment"}
            if changed:
                raise forms.ValidationError(
                    "This update is already published: its campaign and audience can no longer "
                    "change (it has been emailed to that audience). Write a new update instead."
                )
        return cleaned


class FrameForm(forms.Form):
    photo = forms.FileField(
        label=_("Your photo"),
        help_text=_(
            "A JPEG, PNG or WebP up to 5 MB. We frame it and give it straight back; "
            "we do not keep it."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def clean_photo(self):
        photo = self.cleaned_data["photo"]
        frame_validate(photo)
        return photo
