"""Account deletion: erase a person's personal data at their request, keeping the money trail.

It lives here, above both apps, because it cancels pledges (pledging) and anonymizes supporter
rows (supporters); keeping it out of supporters/services.py means supporters never reaches up
into pledging.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from pledges.models import OPEN_STATUSES, Pledge
from pledges.services.pledging import PledgeFrozen, pledge_cancel
from supporters.models import Supporter
from supporters.selectors import supporters_for_user
from supporters.services import supporter_leave

DELETED_NAME = "Deleted supporter"
# A pledge in one of these may still move money and email its payer about it.
UNSETTLED = frozenset(
    {
        Pledge.Status.ACTIVE,
        Pledge.Status.CHARGE_DUE,
        Pledge.Status.CHARGING,
        Pledge.Status.RETRY_DUE,
        Pledge.Status.ACTION_REQUIRED,
        Pledge.Status.NEEDS_NEW_METHOD,
        Pledge.Status.NEEDS_REVIEW,
    }
)


def account_delete(*, user) -> dict[str, int]:
    """Erase a person's personal data at their request, keeping the money trail.

    The account is deactivated and its email and names replaced; each Supporter row of theirs
    (linked, or signed on with one of their verified addresses) loses name, email, phone,
    postal code, consents and listing, and stops counting — except the email of a row whose
    payment is still being collected, kept until it is settled so the payer can still be told
    what to do. Pledges, payment attempts and their history stay (financial records), now
    pointing at the anonymized supporter. Active pledges
    on campaigns still before their deadline are canceled first, so nobody is charged later
    for a promise they withdrew.
    """
    supporters = list(supporters_for_user(user=user).select_related("campaign"))
    # One transaction: if the erasure fails, no pledge has been canceled either.
    with transaction.atomic():
        canceled = _cancel_open_pledges(supporters=supporters, user=user)
        # A payment still being collected needs a way to reach its payer (a card to replace, a
        # 3-D Secure request): that row keeps its address, and only that, until it is settled
        # (deleted_supporters_erase_settled erases it then, finding it through the account).
        reachable = set(
            Pledge.objects.filter(supporter__in=supporters, status__in=UNSETTLED).values_list(
                "supporter_id", flat=True
            )
        )
        linked = _rows_to_link(supporters=supporters, user=user, reachable=reachable)
        # Unlink first: an account has at most one row per campaign (supporter_one_per_user).
        Supporter.objects.filter(user=user).exclude(pk__in=linked).update(user=None)
        for supporter in supporters:
            supporter_leave(supporter=supporter)
            keep_email = supporter.pk in reachable
            Supporter.objects.filter(pk=supporter.pk).update(
                user=user if supporter.pk in linked else None,
                name=DELETED_NAME,
                email=supporter.email if keep_email else _erased_email(supporter.pk),
                phone="",
                postal_code="",
                display_name="",
                public_listing=False,
                consent_updates=False,
                consent_updates_text="",
                consent_org=False,
                consent_org_text="",
                referrer="",
                updated_at=timezone.now(),
            )
        EmailAddress.objects.filter(user=user).delete()
        user.organizations.clear()
        user.email = f"deleted-user-{user.pk}@deleted.invalid"
        user.first_name = ""
        user.last_name = ""
        user.display_name = ""
        user.is_active = False
        user.is_staff = False
        user.set_unusable_password()
        user.save()
    return {"supporters": len(supporters), "pledges_canceled": canceled}


def _rows_to_link(*, supporters: list[Supporter], user, reachable: set[int]) -> set[int]:
    """Which of the person's rows stay linked to the (deactivated) account: one per campaign,
    as the database allows, preferring a row whose address is kept for a payment (the hourly
    sweep finds kept addresses through the account), then the row already linked."""
    chosen: dict[int, Supporter] = {}
    for supporter in supporters:
        current = chosen.get(supporter.campaign_id)
        rank = (supporter.pk in reachable, supporter.user_id == user.pk)
        if current is None or rank > (current.pk in reachable, current.user_id == user.pk):
            chosen[supporter.campaign_id] = supporter
    return {supporter.pk for supporter in chosen.values()}


def _erased_email(supporter_id: int) -> str:
    return f"deleted-{supporter_id}@deleted.invalid"


def deleted_supporters_erase_settled() -> int:
    """Erase the addresses kept after an account deletion once the payments they were kept for
    are settled (paid, unpaid, refunded, released...). Runs with the hourly grace sweep."""
    kept = Supporter.objects.filter(name=DELETED_NAME, user__is_active=False).exclude(
        email__endswith="@deleted.invalid"
    )
    erased = 0
    for supporter_id in kept.values_list("pk", flat=True):
        if Pledge.objects.filter(supporter_id=supporter_id, status__in=UNSETTLED).exists():
            continue
        erased += (
            Supporter.objects.filter(pk=supporter_id, name=DELETED_NAME)
            .exclude(email__endswith="@deleted.invalid")
            .update(email=_erased_email(supporter_id), updated_at=timezone.now())
        )
    return erased


def _cancel_open_pledges(*, supporters: list[Supporter], user) -> int:
    """Cancel the person's still-cancelable pledges (campaign live, before its deadline) through
    the pledges app's own service, so totals, tier and history move the usual way. Runs inside
    the anonymizing transaction (a failed erasure cancels nothing); a pledge whose campaign froze
    meanwhile is kept as it is."""
    canceled = 0
    for pledge in Pledge.objects.filter(
        supporter__in=supporters,
        status__in=OPEN_STATUSES,
        campaign__in=Campaign.objects.open(),
    ):
        try:
            if pledge_cancel(pledge=pledge, actor=user):
                canceled += 1
        except PledgeFrozen:
            continue  # the deadline passed a moment ago: the pledge belongs to settlement now
    return canceled
