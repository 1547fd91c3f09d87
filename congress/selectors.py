"""Reads for congress: who represents a ZIP code, and a campaign's or action's bills and
resources.

A ZIP code (strictly, a ZCTA) may reach several districts, even in two states. The lookup never
guesses: it returns every candidate district with its representative, and the page asks the
supporter to pick one. Senators follow the state; a cross-state ZIP has its senators decided by
the picked district too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from congress.data import territory_for_zip
from congress.models import NON_STATES, Bill, CampaignResource, Legislator, ZipDistricts

ZIP_IN_TEXT_RE = re.compile(r"^\s*([0-9]{5})(?:[- ]?[0-9]{4})?\s*$")


@dataclass
class District:
    state: str
    number: int
    representative: Legislator | None  # None: the seat is vacant

    @property
    def key(self) -> str:
        return f"{self.state}-{self.number}"

    @property
    def label(self) -> str:
        if self.state in NON_STATES:
            return self.state
        if self.number == 0:
            return _("%(state)s at-large") % {"state": self.state}
        return self.key


@dataclass
class ZipLookup:
    zip_code: str  # the five digits looked up ("" when what was typed is not a US ZIP code)
    districts: list[District] = field(default_factory=list)
    senators: dict[str, list[Legislator]] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.districts)

    @property
    def split(self) -> bool:
        return len(self.districts) > 1

    @property
    def states(self) -> list[str]:
        return sorted({d.state for d in self.districts})

    def district(self, key: str | None) -> District | None:
        return next((d for d in self.districts if d.key == key), None)

    def members(self, *, chamber: str, district_key: str | None = None) -> list[Legislator]:
        """The members to contact for `chamber` ("house", "senate" or "both"): the chosen
        (or only) district's representative, then the senators of its state. Without a choice
        on a split ZIP, no representative; senators only when every candidate is in one state."""
        chosen = self.district(district_key) if district_key else None
        if chosen is None and len(self.districts) == 1:
            chosen = self.districts[0]
        result: list[Legislator] = []
        if chamber in {"house", "both"} and chosen and chosen.representative:
            result.append(chosen.representative)
        if chamber in {"senate", "both"}:
            states = [chosen.state] if chosen else self.states
            if len(states) == 1:
                result += self.senators.get(states[0], [])
        return result

    def all_members(self, *, chamber: str = "both") -> list[Legislator]:
        """Every member of `chamber` any candidate district could lead to (for checking that a
        reported call went to one of the supporter's own members)."""
        result: list[Legislator] = []
        if chamber in {"house", "both"}:
            result += [d.representative for d in self.districts if d.representative]
        if chamber in {"senate", "both"}:
            result += [s for state in self.states for s in self.senators.get(state, [])]
        return result


def zip_normalize(text: str) -> str:
    """The five digits of a ZIP code as typed ("94609", "94609-1234"), or ""."""
    match = ZIP_IN_TEXT_RE.match(text or "")
    return match.group(1) if match else ""


def _senior_first(senator: Legislator) -> tuple:
    return (0 if senator.state_rank == "senior" else 1, senator.last_name)


def congress_lookup(*, zip_code: str) -> ZipLookup:
    """Who represents `zip_code`: its candidate districts with their representatives, and the
    senators of their states. Two queries."""
    code = zip_normalize(zip_code)
    lookup = ZipLookup(zip_code=code)
    if not code:
        return lookup
    row = ZipDistricts.objects.filter(zip_code=code).first()
    seats: list[tuple[str, int]] = []
    if row is not None:
        for label in row.districts.split():
            state, _sep, number = label.partition("-")
            seats.append((state, int(number or 0)))
    else:
        territory = territory_for_zip(code)
        if territory:
            seats.append((territory, 0))
    if not seats:
        return lookup
    states = {state for state, _n in seats}
    members = list(Legislator.objects.filter(in_office=True, state__in=states))
    reps = {(m.state, m.district): m for m in members if m.chamber == Legislator.Chamber.HOUSE}
    for state, number in seats:
        # At-large seats and delegates are stored as district 0.
        lookup.districts.append(District(state, number, reps.get((state, number))))
    for state in sorted(states):
        senators = [
            m for m in members if m.chamber == Legislator.Chamber.SENATE and m.state == state
        ]
        lookup.senators[state] = sorted(senators, key=_senior_first)
    return lookup


def bills_for_campaign(*, campaign) -> list[Bill]:
    return list(
        Bill.objects.filter(campaign=campaign).prefetch_related(
            Prefetch("sponsors", queryset=Legislator.objects.order_by("last_name"))
        )
    )


def bills_for_action(*, action) -> list[Bill]:
    return list(
        action.bills.all().prefetch_related(
            Prefetch("sponsors", queryset=Legislator.objects.order_by("last_name"))
        )
    )


def resources_for_campaign(*, campaign) -> QuerySet[CampaignResource]:
    return CampaignResource.objects.filter(campaign=campaign).order_by("position", "id")


def legislators_in_office() -> QuerySet[Legislator]:
    return Legislator.objects.filter(in_office=True)


def congress_data_loaded() -> bool:
    return ZipDistricts.objects.exists()
