"""Reads for take-action pages: which actions a visitor may see now, what they already did, and
the totals. Every read here runs a fixed number of queries whatever the number of completions
(totals are denormalized on the rows; visibility is decided in Python over one campaign's
handful of actions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from actions.models import Action, ActionCompletion, ActionLink, CallOutcome, CallTarget
from campaigns.models import Campaign, Tier
from supporters.milestones import next_supporter_milestone
from supporters.models import Supporter

EARLY_ACCESS_TIERS = {Tier.Kind.ADVOCATE, Tier.Kind.CHAMPION}


class State:
    HIDDEN = "hidden"  # unpublished, or not yet open to this visitor
    EARLY = "early"  # open to this visitor (an Advocate or Champion) before everyone else
    OPEN = "open"
    CLOSED = "closed"  # past its end (or its event is over)


def action_state(action: Action, *, now: dt.datetime, early_access: bool) -> str:
    """Where `action` stands for a visitor at `now`.

    Before `starts_at` an action is open only during its advocates-first window, and only to
    Advocates and Champions (`early_access`); before that window nobody sees it.
    """
    if not action.published:
        return State.HIDDEN
    if action.ends_at is not None and now >= action.ends_at:
        return State.CLOSED
    if action.starts_at is not None and now < action.starts_at:
        opens_early = action.advocates_open_at
        if early_access and action.advocates_first_hours and now >= opens_early:
            return State.EARLY
        return State.HIDDEN
    if action.kind == Action.Kind.EVENT and action.event_ends_at and now >= action.event_ends_at:
        return State.CLOSED
    return State.OPEN


def supporter_has_early_access(supporter: Supporter | None) -> bool:
    return bool(
        supporter is not None and supporter.is_confirmed and supporter.tier in EARLY_ACCESS_TIERS
    )


def actions_visible(
    *, campaign: Campaign, now: dt.datetime, early_access: bool, include_closed: bool = False
) -> list[Action]:
    """The campaign's actions this visitor may see now, in the organizer's order, each with a
    `state` attribute. One query."""
    wanted = {State.OPEN, State.EARLY} | ({State.CLOSED} if include_closed else set())
    result = []
    for action in Action.objects.filter(campaign=campaign, published=True).order_by(
        "position", "id"
    ):
        action.campaign = campaign
        action.state = action_state(action, now=now, early_access=early_access)
        if action.state in wanted:
            result.append(action)
    return result


def action_for_page(
    *, campaign: Campaign, pk: int, now: dt.datetime, early_access: bool, preview: bool = False
) -> Action | None:
    """One action with its targets and links, or None when this visitor may not see it (a
    closed action still has its page, saying so). With `preview` (the campaign's organizers)
    unpublished and not-yet-open actions are returned too, in state HIDDEN."""
    qs = Action.objects.filter(campaign=campaign, pk=pk)
    if not preview:
        qs = qs.filter(published=True)
    action = qs.prefetch_related(
        Prefetch("targets", queryset=CallTarget.objects.order_by("position", "id")),
        Prefetch("links", queryset=ActionLink.objects.order_by("position", "id")),
    ).first()
    if action is None:
        return None
    action.campaign = campaign
    action.state = action_state(action, now=now, early_access=early_access)
    return None if action.state == State.HIDDEN and not preview else action


def action_upcoming(*, campaign: Campaign, pk: int, now: dt.datetime) -> Action | None:
    """A published action that has not opened yet (to this visitor): its page is a teaser
    that says when it opens (and that Advocates and Champions start first), never a 404."""
    action = (
        Action.objects.filter(campaign=campaign, pk=pk, published=True, starts_at__gt=now)
        .exclude(ends_at__lte=now)
        .first()
    )
    if action is not None:
        action.campaign = campaign
    return action


def completions_by_action(
    *, supporter: Supporter | None, action_ids: list[int]
) -> dict[int, ActionCompletion]:
    """The supporter's completions among `action_ids` (counted or waiting), by action id."""
    if supporter is None or not action_ids:
        return {}
    return {
        c.action_id: c
        for c in ActionCompletion.objects.filter(supporter=supporter, action_id__in=action_ids)
    }


def my_call_outcomes(*, supporter: Supporter | None, action: Action) -> dict[int, str]:
    """What this supporter reported for each target of a call action, by target id."""
    if supporter is None:
        return {}
    return dict(
        CallOutcome.objects.filter(supporter=supporter, action=action).values_list(
            "target_id", "outcome"
        )
    )


# Below this many, a count reads as a reason not to act ("0 have signed"): the page invites
# instead ("Be among the first to sign").
COUNT_SHOWN_FROM = 5


def action_total_label(action: Action, *, invite: bool = True) -> str:
    """The total a page shows next to an action: "1,204 calls made", "312 emails sent"..., or
    with `invite`, an invitation while the count is under COUNT_SHOWN_FROM (staff screens and
    closed actions pass invite=False: they report, they do not invite)."""
    n = action.outcome_count if action.kind == Action.Kind.CALL else action.completed_count
    invite = invite and n < COUNT_SHOWN_FROM
    if action.kind == Action.Kind.CALL:
        if invite:
            return gettext("Be among the first to call")
        return ngettext("%(n)s call made", "%(n)s calls made", n) % {"n": intcomma(n)}
    if action.kind == Action.Kind.EMAIL:
        if invite:
            return gettext("Be among the first to write")
        return ngettext("%(n)s email sent", "%(n)s emails sent", n) % {"n": intcomma(n)}
    if action.kind == Action.Kind.PETITION:
        if invite:
            return gettext("Be among the first to sign")
        return ngettext("%(n)s has signed", "%(n)s have signed", n) % {"n": intcomma(n)}
    if action.kind == Action.Kind.EVENT:
        if invite:
            return gettext("Be among the first to say you are going")
        return gettext("%(n)s going") % {"n": intcomma(n)}
    return ""


def petition_count_line(action: Action) -> dict[str, int]:
    """ "N have signed. Let's get to M!" with how far along the way to M we are; `shown` is
    false under COUNT_SHOWN_FROM, where the page invites instead."""
    count = action.completed_count
    target = next_supporter_milestone(count)
    return {
        "count": count,
        "shown": count >= COUNT_SHOWN_FROM,
        "next_milestone": target,
        "percent_to_next": min(100, count * 100 // target) if target else 100,
    }


@dataclass
class SectionRow:
    action: Action
    done: bool
    waiting: bool  # petition signed, confirmation email not clicked yet
    total: str


@dataclass
class ActionSection:
    rows: list[SectionRow] = field(default_factory=list)
    any_done: bool = False


def campaign_action_section(
    *, campaign: Campaign, supporter: Supporter | None, early_access: bool, now=None
) -> ActionSection:
    """The "Take action" block: open actions in order, what this visitor did ticked, totals.
    Two queries (actions, this supporter's completions) whatever the number of completions."""
    now = now or timezone.now()
    actions = actions_visible(campaign=campaign, now=now, early_access=early_access)
    mine = completions_by_action(supporter=supporter, action_ids=[a.pk for a in actions])
    section = ActionSection()
    for action in actions:
        completion = mine.get(action.pk)
        done = completion is not None and completion.counted_at is not None
        section.rows.append(
            SectionRow(
                action=action,
                done=done,
                waiting=completion is not None and not done,
                total=action_total_label(action),
            )
        )
        section.any_done = section.any_done or done
    return section


def calls_per_office(*, campaign: Campaign) -> list[CallTarget]:
    """Every office called through the campaign's call actions (fixed targets and the members
    of Congress supporters reached by ZIP code), most reported calls first, for the organizer's
    dashboard. One query; the counts are denormalized on the targets."""
    targets = list(
        CallTarget.objects.filter(action__campaign=campaign, action__kind=Action.Kind.CALL)
        .select_related("action")
        .order_by("action__position", "action_id", "position", "id")
    )
    return sorted(targets, key=lambda t: -t.reported_count)


def supporter_next_steps(
    *,
    campaign: Campaign,
    supporter: Supporter | None,
    share_code: str = "",
    after_action_id: int | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """What a thank-you page offers next (Action Network's "ladder"): share links carrying the
    supporter's own `?source=` code (so who they bring in counts as theirs in the organizer's
    referral figures), the next open action they have not done yet, and for an Ally the
    upgrade to a pledge. Three queries at most."""
    from campaigns.selectors import campaign_is_open
    from outreach.selectors import share_links

    now = now or timezone.now()
    early = supporter_has_early_access(supporter)
    actions = [
        a
        for a in actions_visible(campaign=campaign, now=now, early_access=early)
        if a.pk != after_action_id
    ]
    done = completions_by_action(supporter=supporter, action_ids=[a.pk for a in actions])
    next_action = next((a for a in actions if a.pk not in done), None)
    is_open = campaign_is_open(campaign)
    return {
        "links": share_links(campaign=campaign, share_code=share_code),
        "counted": bool(share_code),
        "next_action": next_action,
        "upgrade": is_open and (supporter is None or supporter.tier == Tier.Kind.ALLY),
    }
