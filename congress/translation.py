"""The congress texts organizers write, in English and Spanish (see campaigns/translation.py):
a campaign's resources, and what a bill would do in plain words.

A bill's number, official title and sponsors are Congress's own record and stay in English;
the bills block says so to readers of another language (templates/congress/_bills.html).
"""

from modeltranslation.translator import TranslationOptions, register

from congress.models import Bill, CampaignResource


@register(CampaignResource)
class CampaignResourceTranslation(TranslationOptions):
    fields = ("title", "description", "phone_note")
    required_languages = ()


@register(Bill)
class BillTranslation(TranslationOptions):
    fields = ("what_it_would_do",)
    required_languages = ()
