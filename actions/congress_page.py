"""What an action page adds for Congress: the supporter's own members (call and email actions
that target them), the bills attached to the action, and its key messages.

The ZIP code comes from the page's `?zip=` (the supporter typed it in the "find your members"
box) or else from what they told us when they said who they are. A ZIP code that reaches
several districts is never resolved silently: the page lists each candidate district's
representative and the supporter picks one (`?district=CA-12`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from actions.content import fill_placeholders, mailto_url, script_segments
from actions.identity import Viewer
from actions.models import Action, CallOutcome
from actions.selectors import my_call_outcomes
from congress.models import NON_STATES, Legislator
from congress.selectors import (
    ZipLookup,
    bills_for_action,
    congress_data_loaded,
    congress_lookup,
    zip_normalize,
)


@dataclass
class MemberCard:
    member: Legislator
    addressed_as: str  # "Senator Alex Padilla"
    target: object | None  # the CallTarget counting calls to this member, once one exists
    mine: str = ""
    mine_label: str = ""
    segments: list = field(default_factory=list)
    letter: str = ""
    mailto: str = ""


@dataclass
class CongressBlock:
    chamber: str
    zip_code: str  # what we looked up (five digits), "" when we have nothing usable
    typed: str  # what the supporter typed, to show back
    lookup: ZipLookup | None
    district_key: str = ""
    cards: list[MemberCard] = field(default_factory=list)
    needs_choice: bool = False
    notes: list[str] = field(default_factory=list)
    problem: str = ""


def key_messages(action: Action) -> list[str]:
    return [
        line.strip(" -•*\t") for line in action.key_messages.splitlines() if line.strip(" -•*\t")
    ]


def congress_block(
    *, action: Action, viewer: Viewer, typed_zip: str, district_key: str
) -> CongressBlock:
    """The member cards (or the choice of district, or why there are none) for this visitor."""
    typed = (typed_zip or viewer.zip_code or "").strip()[:12]
    block = CongressBlock(
        chamber=action.congress_targets, zip_code=zip_normalize(typed), typed=typed, lookup=None
    )
    if not typed:
        return block
    lookup = _block_lookup(block)
    if lookup is None:
        return block
    chosen = lookup.district(district_key)
    block.district_key = chosen.key if chosen else ""
    wants_house = action.congress_targets in {"house", "both"}
    if lookup.split and chosen is None and (wants_house or len(lookup.states) > 1):
        block.needs_choice = True
    members = lookup.members(chamber=action.congress_targets, district_key=block.district_key)
    district = chosen or (lookup.districts[0] if not lookup.split else None)
    block.notes.extend(_seat_notes(action, lookup, district, wants_house=wants_house))
    outcomes = my_call_outcomes(supporter=viewer.supporter, action=action)
    targets = {t.legislator_id: t for t in action.targets.all() if t.legislator_id}
    block.cards = [
        _member_card(action, viewer, member, targets=targets, outcomes=outcomes)
        for member in members
    ]
    return block


def _block_lookup(block: CongressBlock) -> ZipLookup | None:
    """The districts of the block's ZIP code, or None with `block.problem` saying why not."""
    if not block.zip_code:
        block.problem = _("“%(zip)s” is not a U.S. ZIP code. Enter five digits, like 94609.") % {
            "zip": block.typed
        }
        return None
    lookup = congress_lookup(zip_code=block.zip_code)
    block.lookup = lookup
    if not lookup.found and not congress_data_loaded():
        block.problem = _(
            "The list of members of Congress is not loaded yet, so we cannot look up ZIP codes "
            "right now."
        )
        return None
    if not lookup.found:
        block.problem = _(
            "We could not find ZIP code %(zip)s among the congressional districts we know. Check "
            "it, or look your members up on house.gov and senate.gov."
        ) % {"zip": block.zip_code}
        return None
    return lookup


def _seat_notes(action: Action, lookup, district, *, wants_house: bool) -> list[str]:
    """Why a seat has nobody to call: a vacant House seat, a place without senators."""
    notes = []
    if wants_house and district is not None and district.representative is None:
        notes.append(
            _("The House seat for %(district)s is vacant right now.") % {"district": district.label}
        )
    if action.congress_targets in {"senate", "both"}:
        for state in [district.state] if district else lookup.states:
            if state in NON_STATES:
                notes.append(
                    _(
                        "%(place)s has no senators. Its member of the House is a non-voting "
                        "delegate who still speaks and votes in committee."
                    )
                    % {"place": state}
                )
    return notes


def _member_card(action: Action, viewer: Viewer, member, *, targets, outcomes) -> MemberCard:
    """One member's card: the script to read (a call) or the letter to send (an email)."""
    addressed = f"{member.title} {member.name}"
    target = targets.get(member.pk)
    mine = outcomes.get(target.pk, "") if target else ""
    card = MemberCard(
        member=member,
        addressed_as=addressed,
        target=target,
        mine=mine,
        mine_label=CallOutcome.Outcome(mine).label if mine else "",
    )
    if action.kind == Action.Kind.CALL:
        card.segments = script_segments(
            action.call_script, name=viewer.name, zip_code=viewer.zip_code, target=addressed
        )
    else:
        card.letter = fill_placeholders(
            action.email_body, name=viewer.name, zip_code=viewer.zip_code, target=addressed
        )
        if action.email_to:
            card.mailto = mailto_url(
                to=action.email_to, subject=action.email_subject, body=card.letter
            )
    return card


def action_page_extras(*, request, action: Action, viewer: Viewer) -> dict:
    """Context the action page adds for bills, key messages and members of Congress."""
    extras = {"bills": bills_for_action(action=action), "key_messages": key_messages(action)}
    if action.congress_targets and action.kind in {Action.Kind.CALL, Action.Kind.EMAIL}:
        extras["congress"] = congress_block(
            action=action,
            viewer=viewer,
            typed_zip=request.GET.get("zip", ""),
            district_key=request.GET.get("district", ""),
        )
    return extras
