"""Writes for congress: loading the public data, a bill's status changes and their
announcement as a campaign update, and marking the campaign page as edited when its bills or
resources change (the anonymous page cache is keyed on the campaign's last edit)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from congress.data import CongressData, CongressDataError
from congress.models import Bill, BillStatusChange, CongressDataLoad, Legislator, ZipDistricts

# A newer file with less than this share of the ZIP codes or members loaded now is refused
# (a truncated download must not wipe the table); `allow_shrink` overrides.
SHRINK_LIMIT = 0.5
LEGISLATOR_FIELDS = [
    "chamber",
    "state",
    "district",
    "name",
    "last_name",
    "party",
    "state_rank",
    "phone",
    "contact_url",
    "website",
    "office",
    "in_office",
    "local_offices",
]


def congress_data_load(*, data: CongressData, allow_shrink: bool = False) -> CongressDataLoad:
    """Replace the loaded members and ZIP code districts with `data`, all at once: in one
    transaction, so readers see the old data or the new, never a mix, and a failure leaves
    the old data untouched. Members no longer in `data` are kept with `in_office=False`
    (bills and call records point at them)."""
    current_zips = ZipDistricts.objects.count()
    current_members = Legislator.objects.filter(in_office=True).count()
    if not allow_shrink:
        if current_zips and len(data.zips) < current_zips * SHRINK_LIMIT:
            raise CongressDataError(
                _(
                    "The new ZIP code file has %(new)d ZIP codes, less than half of the %(old)d "
                    "loaded now; refusing (it looks truncated)."
                )
                % {"new": len(data.zips), "old": current_zips}
            )
        if current_members and len(data.legislators) < current_members * SHRINK_LIMIT:
            raise CongressDataError(
                _(
                    "The new members file has %(new)d members, less than half of the %(old)d "
                    "loaded now; refusing (it looks truncated)."
                )
                % {"new": len(data.legislators), "old": current_members}
            )
    with transaction.atomic():
        existing = set(Legislator.objects.select_for_update().values_list("bioguide", flat=True))
        rows = [
            Legislator(
                **{f: x.get(f) or "" for f in LEGISLATOR_FIELDS if f not in _NOT_TEXT},
                **_keys(x),
                local_offices=x.get("local_offices") or [],
            )
            for x in data.legislators
        ]
        new = [r for r in rows if r.bioguide not in existing]
        old = [r for r in rows if r.bioguide in existing]
        Legislator.objects.bulk_create(new, batch_size=500)
        Legislator.objects.bulk_update(old, LEGISLATOR_FIELDS, batch_size=500)
        Legislator.objects.exclude(bioguide__in=[r.bioguide for r in rows]).update(
            in_office=False, updated_at=timezone.now()
        )
        ZipDistricts.objects.all().delete()
        ZipDistricts.objects.bulk_create(
            [ZipDistricts(zip_code=z, districts=d) for z, d in data.zips.items()],
            batch_size=5000,
        )
        return CongressDataLoad.objects.create(
            source=data.source[:500],
            sha256=data.sha256,
            legislators=len(rows),
            zip_codes=len(data.zips),
        )


def _keys(x: dict) -> dict:
    return {"bioguide": x["bioguide"], "district": x.get("district"), "in_office": True}


_NOT_TEXT = {"district", "in_office", "local_offices"}


def campaign_page_touch(*, campaign_id: int) -> None:
    """Mark the campaign as edited so its cached public page is redrawn at once."""
    Campaign.objects.filter(pk=campaign_id).update(updated_at=timezone.now())


def bill_status_change(
    *, bill: Bill, status: str, status_date: dt.date, user=None
) -> BillStatusChange | None:
    """Move the bill to `status` as of `status_date`, recording the change. Returns the change,
    or None when nothing changed (same status and date)."""
    if status not in Bill.Status.values:
        raise ValueError(f"unknown bill status {status!r}")
    with transaction.atomic():
        locked = Bill.objects.select_for_update().get(pk=bill.pk)
        if locked.status == status and locked.status_date == status_date:
            return None
        change = BillStatusChange.objects.create(
            bill=locked,
            from_status=locked.status,
            to_status=status,
            status_date=status_date,
            changed_by=user if getattr(user, "pk", None) else None,
        )
        Bill.objects.filter(pk=bill.pk).update(
            status=status, status_date=status_date, updated_at=timezone.now()
        )
        campaign_page_touch(campaign_id=locked.campaign_id)
    bill.status, bill.status_date = status, status_date
    return change


def bill_status_announce(*, bill: Bill, user=None):
    """Write a draft campaign update announcing the bill's latest status, for the organizer to
    review and publish through the usual updates machinery (outreach). Returns the update."""
    from outreach.models import CampaignUpdate

    with transaction.atomic():
        change = bill.status_changes.order_by("-created_at", "-id").first()
        status_label = Bill.Status(bill.status).label
        title = _("%(number)s: %(status)s") % {"number": bill.number, "status": status_label}
        when = dateformat.format(bill.status_date, "F j, Y")  # month in the active language
        lines = [
            _("%(number)s, %(title)s, changed status on %(date)s: %(status)s.")
            % {"number": bill.number, "title": bill.title, "date": when, "status": status_label},
            "",
            bill.what_it_would_do,
        ]
        if bill.text_url:
            lines += ["", _("Read the official text: %(url)s") % {"url": bill.text_url}]
        update = CampaignUpdate.objects.create(
            campaign=bill.campaign,
            title=title[:200],
            body="\n".join(lines),
            author=user if getattr(user, "pk", None) else None,
        )
        if change is not None and change.announced_update_id is None:
            BillStatusChange.objects.filter(pk=change.pk).update(announced_update=update)
    return update
