"""Campaign updates in English and Spanish (see campaigns/translation.py)."""

from modeltranslation.translator import TranslationOptions, register

from outreach.models import CampaignUpdate


@register(CampaignUpdate)
class CampaignUpdateTranslation(TranslationOptions):
    fields = ("title", "body", "image_alt")
    required_languages = ()
