"""Action texts in English and Spanish (see campaigns/translation.py)."""

from modeltranslation.translator import TranslationOptions, register

from actions.models import Action


@register(Action)
class ActionTranslation(TranslationOptions):
    fields = (
        "title",
        "why_it_matters",
        "call_script",
        "key_messages",
        "email_subject",
        "email_body",
        "petition_text",
    )
    required_languages = ()
