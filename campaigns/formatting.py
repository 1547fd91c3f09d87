"""Dates and money written for the active language.

English keeps the project's long-standing forms exactly ("Friday, November 22 2019 7:59 PM PST",
"$1,500", "$12,345.67"); Spanish is written as a US Spanish reader expects it (Babel's CLDR data
for es_US: "viernes, 22 de noviembre de 2019, 7:59 p.m. PST", "$1,500", "$12,345.67"). Emails
call these inside `translation.override(<the supporter's language>)`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_datetime
from babel.numbers import format_currency
from django.utils.translation import get_language

# The CLDR locale each interface language is formatted in: the campaigns are in the US.
BABEL_LOCALES = {"es": "es_US"}


def _babel_locale() -> str | None:
    return BABEL_LOCALES.get((get_language() or "en").split("-")[0])


def datetime_display(when: datetime, tz: tzinfo) -> str:
    """A moment in `tz`, long form with weekday and the zone's abbreviation."""
    local = when.astimezone(tz)
    locale = _babel_locale()
    if locale is None:
        hour = local.hour % 12 or 12
        return f"{local:%A, %B} {local.day} {local.year} {hour}:{local:%M %p %Z}"
    return format_datetime(local, "EEEE, d 'de' MMMM 'de' y, h:mm a z", tzinfo=tz, locale=locale)


def time_display(when: datetime, tz: tzinfo) -> str:
    """The time of day only: "5:00 PM PST" ("5:00 p.m. PST")."""
    local = when.astimezone(tz)
    locale = _babel_locale()
    if locale is None:
        hour = local.hour % 12 or 12
        return f"{hour}:{local:%M %p %Z}"
    return format_datetime(local, "h:mm a z", tzinfo=tz, locale=locale)


def money_display(cents: int, currency: str) -> str:
    """1234567 → "$12,345.67"; whole amounts drop the cents: 150000 → "$1,500"."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    locale = _babel_locale()
    if locale is None:
        symbol = "$" if (currency or "usd").lower() == "usd" else f"{currency.upper()} "
        text = f"{dollars:,}" if rest == 0 else f"{dollars:,}.{rest:02d}"
        return f"{sign}{symbol}{text}"
    pattern = "¤#,##0" if rest == 0 else "¤#,##0.00"
    text = format_currency(
        abs(cents) / 100,
        (currency or "usd").upper(),
        format=pattern,
        locale=locale,
        currency_digits=False,
    )
    return f"{sign}{text}"
