"""Campaign texts in both languages in the admin (issue 18).

The admin edits each translated field twice: the plain field (`title`) is the English column
and a "Spanish" section holds the `_es` columns (django-modeltranslation's). The change form is
rendered in English with modeltranslation's fallback off, so an empty English text shows empty
rather than the Spanish one it falls back to on the public pages (and is not saved over).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from modeltranslation.utils import fallbacks


def spanish(*names: str) -> list[str]:
    return [f"{name}_es" for name in names]


class OptionalTranslationsMixin:
    """For a ModelAdmin or inline: the Spanish texts may be left empty (they fall back)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name.endswith("_es"):
            formfield.required = False
            formfield.label = f"{formfield.label} (Spanish)"
        if formfield is not None and db_field.name == "language":
            formfield.required = False  # a form that leaves it out keeps the default
        return formfield


class BothLanguagesMixin(OptionalTranslationsMixin):
    """For a ModelAdmin whose model has translated fields: the change form edits the raw
    English and Spanish columns."""

    def changeform_view(self, request, *args, **kwargs):
        with fallbacks(False), translation.override(settings.LANGUAGE_CODE):
            response = super().changeform_view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response
