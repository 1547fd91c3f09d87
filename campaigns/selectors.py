"""Reads for campaigns: what the public may see, what an organizer may edit, what a page needs.

Every page read here runs a fixed number of queries whatever the number of pledges or
supporters: counts come from the campaign's denormalized totals, lists are prefetched.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext

from campaigns.models import Campaign, IssueArea, Organization, Section, Tier
from campaigns.roles import ORGANIZERS, PLATFORM_STAFF

C = Campaign.Status
PLATFORM_STAFF_GROUP = PLATFORM_STAFF
ORGANIZERS_GROUP = ORGANIZERS
# Ended campaigns stay on the discover page this long after their deadline.
RECENTLY_ENDED = dt.timedelta(days=90)
SUPPORTERS_SHOWN = 60


# --- who may do what -----------------------------------------------------------------------
def user_is_platform_staff(user) -> bool:
    """Superusers and members of the "Platform staff" group see and approve every campaign."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_rr_platform_staff", None)
    if cached is None:
        cached = user.is_staff and user.groups.filter(name=PLATFORM_STAFF_GROUP).exists()
        user._rr_platform_staff = cached
    return cached


def user_is_organizer(user) -> bool:
    """Active staff in the "Organizers" group (campaigns/roles.py) who belong to at least one
    organization: the people the admin narrows to their own organizations' data."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.is_staff:
        return False
    cached = getattr(user, "_rr_organizer", None)
    if cached is None:
        cached = bool(user_organization_ids(user)) and (
            user.groups.filter(name=ORGANIZERS_GROUP).exists()
        )
        user._rr_organizer = cached
    return cached


def user_organization_ids(user) -> set[int]:
    """The organizations whose campaigns this user may edit (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_rr_org_ids", None)
    if cached is None:
        cached = set(Organization.objects.filter(members=user).values_list("pk", flat=True))
        user._rr_org_ids = cached
    return cached


def campaigns_editable_by(user) -> QuerySet[Campaign]:
    """Every campaign for platform staff; an organizer's own organizations' campaigns otherwise."""
    qs = Campaign.objects.select_related("organization")
    if user_is_platform_staff(user):
        return qs
    if not getattr(user, "is_staff", False):
        return qs.none()
    return qs.filter(organization__in=user_organization_ids(user))


def user_can_edit_campaign(user, campaign: Campaign) -> bool:
    if user_is_platform_staff(user):
        return True
    return bool(getattr(user, "is_staff", False)) and (
        campaign.organization_id in user_organization_ids(user)
    )


# --- public reads --------------------------------------------------------------------------
def campaign_is_open(campaign: Campaign, *, now: dt.datetime | None = None) -> bool:
    """Pledges may be made, changed and canceled, and supporters sign on, only while the
    campaign is LIVE and before its deadline; after that the totals are frozen for settlement.
    The queryset twin is `Campaign.objects.open()`."""
    now = now or timezone.now()
    return campaign.status == C.LIVE and now < campaign.deadline


def campaigns_public() -> QuerySet[Campaign]:
    """Campaigns anyone may see: never drafts or campaigns in review."""
    return Campaign.objects.exclude(status__in=[C.DRAFT, C.IN_REVIEW])


@dataclass(frozen=True)
class DiscoverQuery:
    q: str = ""
    issue: str = ""
    type: str = ""
    sort: str = "ending"


SORTS = {
    "ending": (gettext_lazy("Ending soon"), ["deadline", "id"]),
    "supported": (gettext_lazy("Most supported"), ["-supporter_count", "-pledged_cents", "id"]),
    "newest": (gettext_lazy("Newest"), ["-published_at", "-created_at", "-id"]),
}


def campaigns_discover(*, query: DiscoverQuery, now: dt.datetime | None = None) -> QuerySet:
    """Live campaigns first, then those that ended recently; filtered, searched and sorted."""
    now = now or timezone.now()
    qs = (
        campaigns_public()
        .filter(Q(status=C.LIVE) | Q(deadline__gte=now - RECENTLY_ENDED))
        .select_related("organization")
        .prefetch_related("issue_areas")
        .annotate(
            open_rank=Case(
                When(status=C.LIVE, deadline__gt=now, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
    )
    if query.q:
        # Both languages' texts (a Spanish search finds an English-only campaign, and back).
        found = Q()
        for code, _name in settings.LANGUAGES:
            found |= Q(**{f"title_{code}__icontains": query.q})
            found |= Q(**{f"summary_{code}__icontains": query.q})
        qs = qs.filter(found)
    if query.issue:
        qs = qs.filter(issue_areas__slug=query.issue)
    if query.type in Campaign.Type.values:
        qs = qs.filter(campaign_type=query.type)
    order = SORTS.get(query.sort, SORTS["ending"])[1]
    if query.sort not in SORTS or query.sort == "ending":
        # Among ended campaigns, the most recently ended first.
        qs = qs.annotate(
            deadline_key=Case(When(open_rank=0, then="deadline"), default=None),
        )
        order = ["open_rank", "deadline_key", "-deadline", "id"]
    else:
        order = ["open_rank", *order]
    return qs.order_by(*order).distinct()


def discover_params_name_a_page(params, *, issue_slugs: set[str], page_number: int) -> bool:
    """Whether the discover filters in `params` (a QueryDict) are each given at most once and
    exactly as a real page names them: an issue area in use, a campaign type, a sort, the page
    number actually shown (or empty, as the filter form sends them). Only such pages may be
    stored by the page cache: their number is bounded by what exists, where made-up values
    (`?issue=<random>`, `?page=999`, `?page=01`) are not."""
    allowed = {
        "issue": issue_slugs,
        "type": set(Campaign.Type.values),
        "sort": set(SORTS),
        "page": {str(page_number)},
    }
    for key, values in params.lists():
        if key in allowed and (len(values) != 1 or values[0] not in allowed[key] | {""}):
            return False
    return True


def issue_areas_in_use() -> QuerySet[IssueArea]:
    return IssueArea.objects.filter(campaigns__in=campaigns_public()).distinct().order_by("name")


def campaign_for_page(*, slug: str, user) -> Campaign | None:
    """The campaign at /c/<slug>/ with everything its page shows, or None if this user may not
    see it (drafts and campaigns in review are visible only to their organizers and staff)."""
    from supporters.models import Supporter

    listed = (
        Supporter.objects.filter(
            tier=Tier.Kind.CHAMPION,
            public_listing=True,
            confirmed_at__isnull=False,
            left_at__isnull=True,
        )
        .only("id", "campaign_id", "name", "display_name", "tier", "created_at")
        .order_by("created_at", "id")
    )
    campaign = (
        Campaign.objects.select_related("organization")
        .prefetch_related(
            "issue_areas",
            Prefetch("sections", queryset=Section.objects.order_by("position", "id")),
            Prefetch("tiers", queryset=Tier.objects.order_by("min_cents", "id")),
            "coalition",
            "news",
            Prefetch(
                "supporters",
                queryset=listed[: SUPPORTERS_SHOWN + 1],
                to_attr="listed_champions",
            ),
        )
        .filter(slug=slug)
        .first()
    )
    if campaign is None:
        return None
    if not campaign.is_public and not user_can_edit_campaign(user, campaign):
        return None
    return campaign


@dataclass(frozen=True)
class Countdown:
    value: int
    unit: str  # "days", "hours" or "" once ended
    ended: bool

    @property
    def label(self) -> str:
        if self.ended:
            return str(gettext_lazy("Ended"))
        if self.unit == "hours":
            return ngettext("hour to go", "hours to go", self.value)
        return ngettext("day to go", "days to go", self.value)


def campaign_countdown(*, campaign: Campaign, now: dt.datetime | None = None) -> Countdown:
    """Whole days to go; hours (rounded up) in the last day; ended after the deadline."""
    now = now or timezone.now()
    remaining = campaign.deadline - now
    if remaining <= dt.timedelta(0):
        return Countdown(0, "", True)
    if remaining < dt.timedelta(days=1):
        return Countdown(max(1, math.ceil(remaining.total_seconds() / 3600)), "hours", False)
    return Countdown(remaining.days, "days", False)


def campaign_phase(*, campaign: Campaign, now: dt.datetime | None = None) -> str:
    """What the page should say about where the campaign is: "open", "settling",
    "succeeded", "failed" or "preview" (a draft seen by its organizers)."""
    now = now or timezone.now()
    if not campaign.is_public:
        return "preview"
    if campaign.status == C.LIVE:
        return "open" if campaign.deadline > now else "settling"
    if campaign.status == C.CLOSED:
        collected = campaign.approved_for_collection_at or campaign.collected_cents
        return "succeeded" if collected else "failed"
    return str(campaign.status)


@dataclass(frozen=True)
class Collection:
    """Where collecting the money of a campaign that may collect stands, from its counters.

    `state` is "collecting" (payments still being collected), "collected" (every pledge paid)
    or "partly_collected" (done, but some pledges could not be collected)."""

    state: str
    collected_cents: int
    paid: int
    collecting: int
    uncollected: int

    @property
    def label(self) -> str:
        return COLLECTION_LABELS[self.state]


COLLECTION_LABELS = {
    "collecting": gettext_lazy("Collecting"),
    "collected": gettext_lazy("Collected"),
    "partly_collected": gettext_lazy("Partly collected"),
}


def campaign_collection(*, campaign: Campaign) -> Collection | None:
    """What has been collected of an approved campaign (None before approval or when it failed).

    Read from the campaign's counters, which the pledge state machine moves with every
    transition: no pledge is counted here."""
    approved = campaign.status == C.SUCCEEDED or (
        campaign.status == C.CLOSED and campaign.approved_for_collection_at is not None
    )
    if not approved:
        return None
    paid = max(0, campaign.paid_count)
    collecting = max(0, campaign.collecting_count)
    uncollected = max(0, campaign.uncollected_count)
    if collecting:
        state = "collecting"
    elif uncollected:
        state = "partly_collected"
    else:
        state = "collected"
    return Collection(
        state=state,
        collected_cents=campaign.collected_cents,
        paid=paid,
        collecting=collecting,
        uncollected=uncollected,
    )


def platform_staff_emails() -> list[str]:
    """Who reviews campaigns and applications: the staff alert addresses and every active
    platform staff member."""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True, groups__name=PLATFORM_STAFF))
    )
    emails = set(settings.STAFF_ALERT_EMAILS) | set(users.values_list("email", flat=True))
    emails.discard("")
    return sorted(emails)


def campaign_organizer_emails(campaign: Campaign) -> list[str]:
    """Who hears about a campaign's review and settlement: its contact address and the members
    of its organization."""
    emails = {campaign.contact_email} if campaign.contact_email else set()
    emails |= set(campaign.organization.members.values_list("email", flat=True))
    emails.discard("")
    return sorted(emails)


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    hint: str = ""


def campaign_review_checklist(campaign: Campaign) -> list[ChecklistItem]:
    """What review needs before a campaign can be submitted. `campaign_submit_for_review`
    refuses while any item is open; the admin shows the list so nobody has to guess."""
    from django.utils.translation import gettext as _

    sections = list(campaign.sections.all())
    empty = [s.heading or _("(untitled)") for s in sections if not s.body.strip()]
    tiers = {t.kind: t for t in campaign.tiers.all()}
    tiers_ok = len(tiers) == 3 and all(t.name.strip() and t.benefit_list for t in tiers.values())
    return [
        ChecklistItem(
            "goal",
            _("A goal and a deadline in the future"),
            bool(campaign.goal_cents) and campaign.deadline > timezone.now(),
        ),
        ChecklistItem(
            "summary", _("A one- or two-sentence summary"), bool(campaign.summary.strip())
        ),
        ChecklistItem(
            "sections",
            _("Content sections, each with text"),
            bool(sections) and not empty,
            _("Empty: %(names)s. Write them or delete them.") % {"names": ", ".join(empty)}
            if empty
            else "",
        ),
        ChecklistItem(
            "image",
            _("A hero photo with its description and credit"),
            bool(campaign.hero_image)
            and bool(campaign.hero_alt.strip())
            and bool(campaign.hero_credit.strip()),
        ),
        ChecklistItem("tiers", _("Three tiers, each with a name and benefits"), tiers_ok),
        ChecklistItem(
            "contact",
            _("An organizer contact name and email"),
            bool(campaign.contact_name.strip()) and bool(campaign.contact_email.strip()),
        ),
    ]
