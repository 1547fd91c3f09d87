"""The campaign texts organizers write in English and Spanish (django-modeltranslation adds
`title_en`, `title_es`… beside each field; the admin shows both).

Reading `campaign.title` gives the page's language, and falls back to the other language when
that one is empty (MODELTRANSLATION_FALLBACK_LANGUAGES): with two languages this is the
campaign's main language (`Campaign.language`), which organizers write first. The fallback is
field by field and costs no query (the columns are on the same rows).
"""

from django.utils.translation import pgettext_lazy
from modeltranslation.translator import TranslationOptions, register

from campaigns.models import Campaign, Organization, Section, Tier


@register(Campaign)
class CampaignTranslation(TranslationOptions):
    fields = ("title", "summary", "hero_alt", "hero_caption")
    required_languages = ()


@register(Organization)
class OrganizationTranslation(TranslationOptions):
    """Only the texts the organization writes; its name, address and phone stay as they are."""

    fields = ("about",)
    required_languages = ()


@register(Section)
class SectionTranslation(TranslationOptions):
    fields = ("heading", "body")
    required_languages = ()


@register(Tier)
class TierTranslation(TranslationOptions):
    fields = ("name", "pitch", "benefits")
    required_languages = ()


# "Parts of this campaign are only in English": Spanish writes language names in lower case.
LANGUAGE_NAMES_IN_A_SENTENCE = {
    "en": pgettext_lazy("language name in a sentence", "English"),
    "es": pgettext_lazy("language name in a sentence", "Spanish"),
}


def rows_fallback_language_name(rows) -> str:
    """The name (in the page's language) of the language some translated text of `rows` falls
    back to on this page, or "" when all of it is in the page's language. `rows` are model
    instances of any registered model (campaigns, resources, bills…); reads only the loaded
    rows: no query."""
    from django.conf import settings
    from django.utils.translation import get_language
    from modeltranslation.translator import NotRegistered, translator

    current = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    others = [code for code, _ in settings.LANGUAGES if code != current]
    if current not in dict(settings.LANGUAGES) or not others:
        return ""
    for row in rows:
        try:
            fields = translator.get_options_for_model(type(row)).fields
        except NotRegistered:
            continue
        for name in fields:
            if getattr(row, f"{name}_{current}", None):
                continue
            for other in others:
                if getattr(row, f"{name}_{other}", None):
                    return str(LANGUAGE_NAMES_IN_A_SENTENCE.get(other, other))
    return ""


def fallback_language_name(campaign) -> str:
    """The name (in the page's language) of the language some of `campaign`'s texts fall back
    to on this page, or "" when everything shown is in the page's language. Reads the campaign
    row, its organization (the "About" block) when it was loaded with it, and whatever sections
    and tiers were prefetched: no query."""
    rows = [campaign]
    if Campaign._meta.get_field("organization").is_cached(campaign):
        rows.append(campaign.organization)
    prefetched = getattr(campaign, "_prefetched_objects_cache", {})
    rows += list(prefetched.get("sections", ()))
    rows += list(prefetched.get("tiers", ()))
    return rows_fallback_language_name(rows)
