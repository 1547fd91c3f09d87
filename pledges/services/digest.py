"""One email to staff per settlement run of a campaign, instead of one per pledge.

A run is a campaign's charges from the moment they start until nothing of it is due or being
charged (the workers' queue for it has drained): then staff get one digest of what changed
since the last one — how many were charged, which pledges need review and why, how many
supporters were asked to act, how many ended unpaid — with links to the settlement report.
A later run (retries days later, staff charging again, the end of grace) gets its own digest.

The campaign's `settlement_digest_at` marks what has been reported; it moves by conditional
UPDATE, so two beats (or a beat and a foreground run) never send the same digest twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.models import Campaign
from campaigns.selectors import campaign_collection
from campaigns.templatetags.rallyround import money
from pledges.models import Pledge, PledgeEvent
from pledges.services.notify import staff_alert

log = logging.getLogger(__name__)

S = Pledge.Status
# The pledge moves a digest reports.
REPORTED = (S.PAID, S.NEEDS_REVIEW, S.UNPAID, S.ACTION_REQUIRED, S.NEEDS_NEW_METHOD, S.RETRY_DUE)
REVIEW_LISTED = 50  # pledges needing review named one by one; the rest are counted
# The beat looks for finished runs among campaigns whose pledges changed this recently.
LOOKBACK = dt.timedelta(minutes=30)


def _still_running(campaign_id: int, now: dt.datetime) -> bool:
    """Whether some of the campaign's pledges are still to be charged in this run."""
    return Pledge.objects.filter(
        Q(status__in=[S.ACTIVE, S.CHARGE_DUE, S.CHARGING])
        | Q(status=S.RETRY_DUE, next_attempt_at__lte=now),
        campaign_id=campaign_id,
    ).exists()


def _moves(campaign_id: int, since: dt.datetime | None, until: dt.datetime):
    events = PledgeEvent.objects.filter(
        pledge__campaign_id=campaign_id, to_status__in=REPORTED, created_at__lte=until
    ).exclude(from_status=F("to_status"))
    if since is not None:
        events = events.filter(created_at__gt=since)
    return events


def settlement_digest_send(*, campaign_id: int, now: dt.datetime | None = None) -> bool:
    """Send staff the digest of the campaign's run if the run is over and changed something.
    Returns whether a digest was sent (enqueued after commit)."""
    now = now or timezone.now()
    campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SUCCEEDED).first()
    if campaign is None or _still_running(campaign_id, now):
        return False
    since = campaign.settlement_digest_at
    if not _moves(campaign_id, since, now).exists():
        return False
    with transaction.atomic():
        mark = Campaign.objects.filter(pk=campaign_id)
        mark = (
            mark.filter(settlement_digest_at__isnull=True)
            if since is None
            else mark.filter(settlement_digest_at=since)
        )
        if not mark.update(settlement_digest_at=now):
            return False  # another beat or run sent it
        campaign.refresh_from_db()
        staff_alert(level=logging.INFO, **_digest(campaign, _moves(campaign_id, since, now)))
    return True


def settlement_digests_send(*, now: dt.datetime | None = None) -> int:
    """The beat's sweep: a digest for every collecting campaign whose run has just ended.

    Only campaigns whose pledges changed within LOOKBACK are looked at (one range over the
    indexed event time), so the minute's sweep stays cheap however many campaigns ever
    succeeded."""
    now = now or timezone.now()
    sent = 0
    recent = PledgeEvent.objects.filter(created_at__gte=now - LOOKBACK).values(
        "pledge__campaign_id"
    )
    succeeded = Campaign.objects.filter(status=Campaign.Status.SUCCEEDED, pk__in=recent)
    for campaign_id in succeeded.values_list("pk", flat=True):
        try:
            sent += settlement_digest_send(campaign_id=campaign_id, now=now)
        except Exception:  # a digest must never stop the settlement beat
            log.exception("settlement digest for campaign %s failed", campaign_id)
    return sent


def _digest(campaign: Campaign, moves) -> dict[str, str]:
    """Subject and body of the digest, every amount through the money formatter."""
    currency = campaign.currency
    per_status = {
        row["to_status"]: (row["n"], row["cents"] or 0)
        for row in moves.values("to_status").annotate(n=Count("id"), cents=Sum("amount_cents"))
    }
    charged, charged_cents = per_status.get(S.PAID, (0, 0))
    review, _cents = per_status.get(S.NEEDS_REVIEW, (0, 0))
    unpaid, _cents = per_status.get(S.UNPAID, (0, 0))
    asked = per_status.get(S.ACTION_REQUIRED, (0, 0))[0]
    asked += per_status.get(S.NEEDS_NEW_METHOD, (0, 0))[0]
    retry, _cents = per_status.get(S.RETRY_DUE, (0, 0))
    collection = campaign_collection(campaign=campaign)
    report_url = settings.SITE_URL + reverse(
        "admin:pledges_campaignsettlement_change", args=[campaign.pk]
    )
    subject = _(
        "Settlement run for “%(title)s”: %(charged)s charged · needs review: %(review)s · "
        "unpaid: %(unpaid)s"
    ) % {"title": campaign.title, "charged": charged, "review": review, "unpaid": unpaid}
    lines = [
        ngettext(
            "Charged: %(count)s pledge, %(amount)s.",
            "Charged: %(count)s pledges, %(amount)s.",
            charged,
        )
        % {"count": charged, "amount": money(charged_cents, currency)},
        _("Needs staff review: %(count)s.") % {"count": review},
    ]
    if review:
        needing = (
            moves.filter(to_status=S.NEEDS_REVIEW)
            .select_related("pledge")
            .order_by("created_at", "id")[:REVIEW_LISTED]
        )
        for event in needing:
            lines.append(
                _("  · Pledge R-%(id)s (%(amount)s): %(code)s — %(reason)s")
                % {
                    "id": event.pledge_id,
                    "amount": money(event.pledge.amount_cents, currency),
                    "code": event.code or _("no code"),
                    "reason": event.note,
                }
            )
        if review > REVIEW_LISTED:
            lines.append(_("  · and %(count)s more.") % {"count": review - REVIEW_LISTED})
        lines.append(
            _("Review them: %(url)s") % {"url": f"{report_url}?status={S.NEEDS_REVIEW.value}"}
        )
    lines += [
        _("Unpaid (not collected): %(count)s.") % {"count": unpaid},
        _("Supporters asked to confirm or to add a card: %(count)s.") % {"count": asked},
        _("Soft declines to be retried later: %(count)s.") % {"count": retry},
        "",
        _(
            "Campaign so far: %(collected)s collected of %(pledged)s pledged; %(paid)s paid, "
            "%(collecting)s still being collected, %(uncollected)s not collected (%(state)s)."
        )
        % {
            "collected": money(campaign.collected_cents, currency),
            "pledged": money(campaign.frozen_pledged_cents or 0, currency),
            "paid": collection.paid if collection else 0,
            "collecting": collection.collecting if collection else 0,
            "uncollected": collection.uncollected if collection else 0,
            "state": collection.label if collection else campaign.get_status_display(),
        },
        _("Settlement report: %(url)s") % {"url": report_url},
    ]
    return {"subject": subject, "body": "\n".join(lines)}
