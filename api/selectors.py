"""What an organization's API key may read: its own data only, people only with consent.

Every queryset here starts from the organization, so a view cannot forget the scope; each is
annotated with `modified` (the OSDI `modified_date`) and ordered by it, then by id, so a CRM that
syncs "modified since my last run" page by page sees every row exactly once per change.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce, Greatest

from actions.models import Action, ActionCompletion, CallOutcome
from campaigns.models import Campaign, Organization
from pledges.models import Pledge
from supporters.models import Supporter
from supporters.selectors import supporters_for_org_export

# Pledges that exist for an organization: a card was saved (a pledge still waiting for its card
# is not a donation yet).
DONATION_STATUSES = [s for s in Pledge.Status.values if s != Pledge.Status.PENDING_SETUP]
PETITION = Action.Kind.PETITION
EVENT = Action.Kind.EVENT
ADVOCACY = (Action.Kind.CALL, Action.Kind.EMAIL)


def _ordered(qs: QuerySet) -> QuerySet:
    return qs.order_by("modified", "pk")


def people_for_organization(*, organization: Organization) -> QuerySet[Supporter]:
    """The organization's supporters it may contact: exactly the CSV export's rule (confirmed,
    still supporting, consented to hear from the organization)."""
    qs = supporters_for_org_export(Supporter.objects.filter(campaign__organization=organization))
    # Confirmation and consent changes move these columns, not always updated_at.
    modified = Greatest(
        "updated_at",
        Coalesce("confirmed_at", "updated_at"),
        Coalesce("consent_org_at", "updated_at"),
    )
    return _ordered(qs.select_related("campaign").annotate(modified=modified))


def consented_supporter_ids(*, organization: Organization, supporter_ids) -> set[int]:
    """Which of these supporters the organization may see as people (for links in payloads)."""
    return set(
        people_for_organization(organization=organization)
        .filter(pk__in=list(supporter_ids))
        .values_list("pk", flat=True)
    )


def campaigns_for_organization(*, organization: Organization) -> QuerySet[Campaign]:
    """Fundraising pages: the organization's campaigns that were published (drafts stay out)."""
    qs = Campaign.objects.filter(organization=organization).exclude(
        status__in=[Campaign.Status.DRAFT, Campaign.Status.IN_REVIEW]
    )
    return _ordered(qs.annotate(modified=F("updated_at")))


def donations_for_organization(*, organization: Organization) -> QuerySet[Pledge]:
    qs = Pledge.objects.filter(
        campaign__organization=organization, status__in=DONATION_STATUSES
    ).select_related("campaign__organization", "supporter")
    return _ordered(qs.annotate(modified=F("updated_at")))


def actions_for_organization(*, organization: Organization, kinds) -> QuerySet[Action]:
    qs = Action.objects.filter(
        campaign__organization=organization, kind__in=list(kinds), published=True
    ).select_related("campaign")
    qs = qs.exclude(campaign__status__in=[Campaign.Status.DRAFT, Campaign.Status.IN_REVIEW])
    return _ordered(qs.annotate(modified=F("updated_at")))


def completions_for_action(*, action: Action) -> QuerySet[ActionCompletion]:
    """Signatures or attendances: counted completions (a petition signature counts once the
    signer confirmed by email)."""
    qs = ActionCompletion.objects.filter(action=action, counted_at__isnull=False).select_related(
        "action", "supporter"
    )
    return _ordered(qs.annotate(modified=Greatest("created_at", "counted_at")))


def outreaches_for_action(*, action: Action) -> QuerySet:
    """Calls (one row per supporter and target) for a call action; sent emails for an email
    action."""
    if action.kind == Action.Kind.CALL:
        qs = CallOutcome.objects.filter(action=action).select_related(
            "action", "target", "supporter"
        )
        return _ordered(qs.annotate(modified=F("updated_at")))
    return completions_for_action(action=action)


def modified_filter(qs: QuerySet, *, bounds: dict[str, dt.datetime]) -> QuerySet:
    """Narrow to rows whose `modified` is gt/ge/lt/le the given moments."""
    lookups = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
    return qs.filter(**{f"modified__{lookups[op]}": moment for op, moment in bounds.items()})
