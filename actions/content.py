"""Turning an action's stored text into what a supporter sees: the call script and sample letter
with their name and ZIP filled in, the `mailto:` link, the event's local date line and its
.ics calendar file.

The script and letter are written by organizers and the values come from supporters, so neither
is ever used as a format string (`str.format` would let `{name.__class__}` reach Python
objects): only the literal placeholders `{name}` and `{zip}` are replaced, and the template
escapes every piece.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy

from actions.models import Action

PLACEHOLDER_RE = re.compile(r"\{(name|zip|target)\}")
NAME_FALLBACK = gettext_lazy("[your name]")
ZIP_FALLBACK = gettext_lazy("[your ZIP code]")
# {target}: the member of Congress's title and name ("Senator Alex Padilla") on actions that
# reach the supporter's own members; otherwise a reminder to say whom they are addressing.
TARGET_FALLBACK = gettext_lazy("[their title and name]")


@dataclass(frozen=True)
class Segment:
    """A piece of a script: organizer text, or a value filled in for the supporter."""

    text: str
    filled: bool = False


def script_segments(
    text: str, *, name: str = "", zip_code: str = "", target: str = ""
) -> list[Segment]:
    """Split `text` at its {name}/{zip}/{target} placeholders, with the caller's values (and
    the addressee's title and name) in between, or a bracketed reminder to say them when we do
    not know them."""
    values = {
        "name": name.strip() or str(NAME_FALLBACK),
        "zip": zip_code.strip() or str(ZIP_FALLBACK),
        "target": target.strip() or str(TARGET_FALLBACK),
    }
    segments: list[Segment] = []
    last = 0
    for match in PLACEHOLDER_RE.finditer(text or ""):
        if match.start() > last:
            segments.append(Segment(text[last : match.start()]))
        segments.append(Segment(values[match.group(1)], filled=True))
        last = match.end()
    if last < len(text or ""):
        segments.append(Segment(text[last:]))
    return segments


def fill_placeholders(text: str, *, name: str = "", zip_code: str = "", target: str = "") -> str:
    """The same substitution as plain text (for the editable letter)."""
    return "".join(
        s.text for s in script_segments(text, name=name, zip_code=zip_code, target=target)
    )


def mailto_url(*, to: str, subject: str, body: str) -> str:
    """A `mailto:` URI (RFC 6068): address as is, subject and body percent-encoded, line breaks
    as CRLF (%0D%0A) so every mail client keeps the paragraphs."""
    body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    query = f"subject={quote(subject, safe='')}&body={quote(body, safe='')}"
    return f"mailto:{quote(to, safe='@')}?{query}"


def local_datetime_display(value: dt.datetime, tz) -> str:
    """ "Saturday, June 30 2018 10:00 AM PDT" in the given zone, in the active language."""
    from campaigns.formatting import datetime_display

    return datetime_display(value, tz)


def event_when_display(action: Action) -> str:
    """The event's start, and its end (time only when on the same local day)."""
    if action.event_starts_at is None:
        return ""
    tz = action.event_tz
    start = local_datetime_display(action.event_starts_at, tz)
    if action.event_ends_at is None:
        return start
    s, e = action.event_starts_at.astimezone(tz), action.event_ends_at.astimezone(tz)
    if s.date() == e.date():
        from campaigns.formatting import time_display

        return f"{start.rsplit(' ', 1)[0]} – {time_display(action.event_ends_at, tz)}"
    return f"{start} – {local_datetime_display(action.event_ends_at, tz)}"


def event_location_line(action: Action) -> str:
    parts = [action.event_place.strip(), " ".join(action.event_address.split())]
    line = ", ".join(p for p in parts if p)
    if action.event_online_url:
        line = f"{line} · Online: {action.event_online_url}" if line else action.event_online_url
    return line


def event_ics(action: Action, *, url: str) -> bytes:
    """The event as an iCalendar (RFC 5545) file with one VEVENT.

    Times are written in UTC (the "Z" form), which every calendar converts to the reader's own
    zone, so no VTIMEZONE block is needed; the UID is stable per action so importing the file
    again updates the entry instead of adding a second one.
    """
    from icalendar import Calendar, Event

    from campaigns.templatetags.rallyround import render_markdown

    cal = Calendar()
    cal.add("prodid", "-//Rallyround//Take action//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "rallyround"
    event.add("uid", f"action-{action.pk}@{host}")
    event.add("dtstamp", timezone.now().astimezone(dt.UTC).replace(microsecond=0))
    event.add("dtstart", action.event_starts_at.astimezone(dt.UTC))
    event.add("dtend", action.event_ends_at.astimezone(dt.UTC))
    event.add("summary", action.title)
    description = html.unescape(strip_tags(render_markdown(action.why_it_matters))).strip()
    event.add("description", f"{description}\n\n{url}".strip())
    location = event_location_line(action)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("status", "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()
