"""Who is looking at an action page, as far as take-action is concerned.

A logged-in person acts as their own Supporter row on the campaign (linked to the account or
signed on with one of its verified addresses). Anyone else tells us their name, email and ZIP
once (`actions.services.actor_sign_on`); we remember the row and what they typed in their
session, per campaign. Only the logged-in path can unlock advocates-first actions: typing an
Advocate's address proves nothing.

A row remembered because its address was typed (not proven) is this browser's only while it
waits for confirmation: once the owner of the address proves it (the emailed link), a browser
that merely typed it acts as nobody again. Opening the link remembers the row as proven.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.models import Campaign
from supporters.models import Supporter

SESSION_KEY = "rr_actions"


@dataclass(frozen=True)
class Viewer:
    supporter: Supporter | None
    name: str = ""
    zip_code: str = ""
    early_access: bool = False
    by_account: bool = False

    @property
    def known(self) -> bool:
        return self.supporter is not None


def viewer_for(request, campaign: Campaign) -> Viewer:
    """The visitor's identity on this campaign (cached on the request: the campaign page and
    the section tag may both ask)."""
    from actions.selectors import supporter_has_early_access

    cache = request.__dict__.setdefault("_rr_action_viewers", {})
    if campaign.pk in cache:
        return cache[campaign.pk]
    viewer = Viewer(supporter=None)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from supporters.selectors import supporters_for_user

        supporter = (
            supporters_for_user(user=user)
            .filter(campaign=campaign, left_at__isnull=True)
            .order_by("pk")
            .first()
        )
        if supporter is not None:
            viewer = Viewer(
                supporter=supporter,
                name=supporter.name,
                zip_code=supporter.postal_code,
                early_access=supporter_has_early_access(supporter),
                by_account=True,
            )
    if viewer.supporter is None:
        entry = request.session.get(SESSION_KEY, {}).get(str(campaign.pk))
        if entry:
            supporter = Supporter.objects.filter(
                pk=entry.get("s"), campaign=campaign, left_at__isnull=True
            ).first()
            if supporter is not None and not entry.get("p") and supporter.confirmed_at:
                supporter = None  # typed, and proven since by the address's owner
            if supporter is not None:
                viewer = Viewer(
                    supporter=supporter, name=entry.get("n", ""), zip_code=entry.get("z", "")
                )
    cache[campaign.pk] = viewer
    return viewer


def viewer_remember(
    request,
    campaign: Campaign,
    *,
    supporter: Supporter,
    name: str,
    zip_code: str,
    proven: bool = False,
) -> None:
    """Remember who this browser acts as on the campaign. What they typed (not the stored row)
    fills their script, so typing someone else's address never reveals that person's name.
    `proven`: the browser opened a link sent to the address (not only typed it)."""
    entries = dict(request.session.get(SESSION_KEY, {}))
    entries[str(campaign.pk)] = {"s": supporter.pk, "n": name, "z": zip_code, "p": proven}
    request.session[SESSION_KEY] = entries
    request.__dict__.pop("_rr_action_viewers", None)


def viewer_typed(request, campaign: Campaign, supporter: Supporter) -> bool:
    """Whether this browser is the one that typed `supporter`'s address on the campaign (the
    row it remembers acting as): only then may what it reported count as theirs."""
    entry = request.session.get(SESSION_KEY, {}).get(str(campaign.pk)) or {}
    return entry.get("s") == supporter.pk


def viewer_forget(request, campaign: Campaign) -> None:
    entries = dict(request.session.get(SESSION_KEY, {}))
    entries.pop(str(campaign.pk), None)
    request.session[SESSION_KEY] = entries
    request.__dict__.pop("_rr_action_viewers", None)
