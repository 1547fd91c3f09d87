"""The pledge state machine.

Every status change goes through `pledge_transition`: a conditional
`UPDATE … WHERE id = … AND status = <expected>`, so two workers (or a worker and a webhook)
racing on the same pledge can never both win; the loser gets False and moves on. The campaign's
denormalized totals and the audit row are written in the same transaction.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import connections, router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from api.events import event_emit, events_emit_many
from campaigns.models import Campaign
from pledges import rowsql
from pledges.models import Pledge, PledgeEvent

S = Pledge.Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_SETUP: frozenset({S.ACTIVE, S.CANCELED}),
    S.ACTIVE: frozenset({S.CANCELED, S.RELEASED, S.CHARGE_DUE}),
    S.CHARGE_DUE: frozenset({S.CHARGING, S.PAID}),
    S.CHARGING: frozenset(
        {S.PAID, S.ACTION_REQUIRED, S.RETRY_DUE, S.NEEDS_NEW_METHOD, S.NEEDS_REVIEW, S.CHARGING}
    ),
    S.RETRY_DUE: frozenset({S.CHARGING, S.PAID, S.NEEDS_NEW_METHOD, S.UNPAID}),
    S.ACTION_REQUIRED: frozenset({S.PAID, S.CHARGING, S.NEEDS_NEW_METHOD, S.UNPAID}),
    S.NEEDS_NEW_METHOD: frozenset({S.PAID, S.CHARGING, S.ACTION_REQUIRED, S.UNPAID}),
    S.NEEDS_REVIEW: frozenset({S.PAID, S.CHARGING, S.UNPAID}),
    S.UNPAID: frozenset({S.PAID}),
    S.PAID: frozenset({S.REFUNDED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.PAID, S.REFUNDED}),
    S.REFUNDED: frozenset(),
    S.CANCELED: frozenset(),
    S.RELEASED: frozenset(),
}

# Pledges that count towards "$X pledged" and the backer count. A pledge counts from the moment
# its card is saved; cancelling before the deadline removes it. After the deadline the totals are
# frozen on the campaign, so later states keep counting (collection is tracked separately).
COUNTED = frozenset(ALLOWED_TRANSITIONS) - {S.PENDING_SETUP, S.CANCELED}

# What the public page says about collection, as counters on the campaign (column → the states
# it counts), moved here with every transition: collected (money held), still to collect, and
# ended uncollected. Refunded and released pledges are in none of them.
COLLECTION_COUNTERS: dict[str, frozenset[str]] = {
    "paid_count": frozenset({S.PAID, S.DISPUTED}),
    "collecting_count": frozenset(
        {S.ACTIVE, S.CHARGE_DUE, S.CHARGING, S.RETRY_DUE, S.ACTION_REQUIRED}
        | {S.NEEDS_NEW_METHOD, S.NEEDS_REVIEW}
    ),
    "uncollected_count": frozenset({S.UNPAID}),
}


def _counter_deltas(expected: str, to: str, count: int = 1) -> dict[str, int]:
    """How the collection counters move for `count` pledges moving expected → to."""
    deltas = {}
    for column, states in COLLECTION_COUNTERS.items():
        delta = int(to in states) - int(expected in states)
        if delta:
            deltas[column] = delta * count
    return deltas


# Who made a history line, from the label callers already pass (the label stays, in full).
_SOURCE_BY_LABEL = {
    "supporter": PledgeEvent.Source.SUPPORTER,
    "card step": PledgeEvent.Source.SUPPORTER,
    "browser return": PledgeEvent.Source.SUPPORTER,
    "staff": PledgeEvent.Source.STAFF,
    "settlement": PledgeEvent.Source.SETTLEMENT,
    "webhook": PledgeEvent.Source.WEBHOOK,
    "reconciler": PledgeEvent.Source.RECONCILER,
    "setup reconciler": PledgeEvent.Source.RECONCILER,
    "grace": PledgeEvent.Source.GRACE,
}


def event_source(*, actor_label: str, actor=None) -> str:
    """The `PledgeEvent.source` of a line made by `actor_label` (a person acting without a
    label is the supporter: staff paths always say "staff")."""
    if actor_label in _SOURCE_BY_LABEL:
        return _SOURCE_BY_LABEL[actor_label]
    if not actor_label and getattr(actor, "pk", None):
        return PledgeEvent.Source.SUPPORTER
    return PledgeEvent.Source.SYSTEM


class IllegalTransition(Exception):
    """A transition the state machine does not allow (a programming error, not a race)."""


def pledge_lock_with_campaign(pledge_id: int, *, related: tuple[str, ...] = ()) -> Pledge:
    """Lock a pledge for a money change, and its campaign's row after it, in the one lock
    order (README, "Lock order": pledge rows in ascending id, then their campaign's row). Call
    inside `transaction.atomic()`."""
    pledge = (
        Pledge.objects.select_for_update(of=("self",)).select_related(*related).get(pk=pledge_id)
    )
    list(Campaign.objects.select_for_update().filter(pk=pledge.campaign_id).values_list("pk"))
    return pledge


def pledge_transition(
    *,
    pledge: Pledge,
    to: str,
    expected: str | None = None,
    actor=None,
    actor_label: str = "",
    note: str = "",
    stripe_object_id: str = "",
    code: str = "",
    amount_cents: int | None = None,
    updates: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
    campaign_deltas: dict[str, int] | None = None,
) -> bool:
    """Move `pledge` from `expected` (default: its in-memory status) to `to`.

    Returns True if this call won the change, False if the row was no longer in `expected`
    (somebody else moved it first). `updates` are extra fields written in the same UPDATE;
    `where` adds conditions to it (e.g. "and its lease has expired"), so the check and the
    change stay one statement. `campaign_deltas` are added to the campaign's columns in the
    same UPDATE as its counters (e.g. the amount collected). On success the in-memory `pledge`
    is refreshed.
    """
    expected = expected or pledge.status
    if to not in ALLOWED_TRANSITIONS.get(expected, frozenset()):
        raise IllegalTransition(f"pledge {pledge.pk}: {expected} → {to} is not allowed")
    fields = {"status": to, "updated_at": timezone.now(), **(updates or {})}
    # No savepoint inside a caller's transaction (the claim, the record): two round trips
    # fewer per transition, and a failed statement here fails the caller's whole transaction,
    # which is what every caller wants (none goes on after a database error).
    with transaction.atomic(savepoint=False):
        # The row as our UPDATE wrote it (the amount that counts) is also what the in-memory
        # `pledge` is refreshed from: one statement, and the row stays locked until commit.
        current = _pledge_update_returning(pledge.pk, expected, where or {}, fields)
        if current is None:
            return False
        _refresh_from(pledge, current)
        delta_sign = int(to in COUNTED) - int(expected in COUNTED)
        deltas = _counter_deltas(expected, to)
        if delta_sign:
            deltas["pledged_cents"] = delta_sign * current.amount_cents
            deltas["backer_count"] = delta_sign
        for column, delta in (campaign_deltas or {}).items():
            deltas[column] = deltas.get(column, 0) + delta
        Campaign.objects.counters_add(current.campaign_id, **deltas)
        event = PledgeEvent(
            pledge=current,
            source=event_source(actor_label=actor_label, actor=actor),
            kind=PledgeEvent.Kind.STATUS_CHANGED,
            from_status=expected,
            to_status=to,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label,
            note=note,
            stripe_object_id=stripe_object_id,
            code=code,
            amount_cents=amount_cents,
        )
        if rowsql.enabled(PledgeEvent):
            rowsql.row_insert(event)
        else:
            event.save(force_insert=True)
        event_emit(f"pledge.status:{to}", current.pk)  # webhooks, after commit
    return True


def _pledge_update_returning(
    pk: int, expected: str, where: dict[str, Any], fields: dict[str, Any]
) -> Pledge | None:
    """The transition's conditional UPDATE … RETURNING: built once per shape (pledges/rowsql.py)
    when every condition is an equality and every value plain, as on a charge's path; through
    the ORM otherwise (a lookup such as `lease_expires_at__lte`, an F() expression)."""
    conditions = {"id": pk, "status": expected, **where}
    if (
        rowsql.enabled(Pledge)
        and rowsql.plain(fields)
        and rowsql.plain(conditions)
        and rowsql.columns_only(Pledge, conditions, fields)
    ):
        return rowsql.row_update_returning(Pledge, where=conditions, fields=fields)
    queryset = Pledge.objects.filter(pk=pk, status=expected).filter(**where)
    return _update_returning(queryset, fields, pk=pk)


def _update_returning(
    queryset: QuerySet[Pledge], fields: dict[str, Any], *, pk: int
) -> Pledge | None:
    """`queryset.update(**fields)` for the one pledge `pk` (if the queryset still matches it),
    returning the row as written, or None if it did not match. On PostgreSQL one
    `UPDATE … RETURNING`; elsewhere the UPDATE, then a read of the row it locked."""
    if not rowsql.enabled(Pledge):
        return Pledge.objects.get(pk=pk) if queryset.update(**fields) else None
    rows = rowsql.queryset_update_returning(queryset, fields)
    return rows[0] if rows else None


def _refresh_from(pledge: Pledge, row: Pledge) -> None:
    """`pledge.refresh_from_db()` from a row already read: every column, and the related
    objects cached on it forgotten (as refresh_from_db does) except the supporter, which a
    pledge never changes."""
    supporter = pledge.supporter if Pledge.supporter.is_cached(pledge) else None
    for field in Pledge._meta.concrete_fields:
        setattr(pledge, field.attname, getattr(row, field.attname))
        # Relation fields are cache mixins at run time; django-stubs types them as plain fields.
        if field.is_relation and field.is_cached(pledge):  # type: ignore[attr-defined]
            field.delete_cached_value(pledge)  # type: ignore[attr-defined]
    for related in Pledge._meta.related_objects:
        if related.is_cached(pledge):
            related.delete_cached_value(pledge)
    if supporter is not None and supporter.pk == pledge.supporter_id:
        Pledge.supporter.field.set_cached_value(pledge, supporter)


def pledges_transition_bulk(
    *,
    pledge_ids: list[int],
    expected: str,
    to: str,
    actor=None,
    actor_label: str = "",
    note: str = "",
    updates: dict[str, Any] | None = None,
) -> list[int]:
    """Move many pledges from `expected` to `to` at once (release or mark due a whole campaign).

    Same guarantees as `pledge_transition`, in one transaction per call: the rows are locked
    (skipping none: a row another transaction holds is waited for), only those still in
    `expected` move, each gets its PledgeEvent, and campaign totals move by the sum. `updates`
    are extra fields written in the same UPDATE (marking due also sets the fan-out's queue
    mark: every index entry of a row is rewritten once, not twice). Returns the ids that moved.
    Callers pass chunks of a few thousand ids at most so memory stays flat.
    """
    if to not in ALLOWED_TRANSITIONS.get(expected, frozenset()):
        raise IllegalTransition(f"pledges: {expected} → {to} is not allowed")
    if not pledge_ids:
        return []
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Pledge.objects.select_for_update()
            .filter(pk__in=pledge_ids, status=expected)
            .order_by("pk")
            .values_list("pk", "campaign_id", "amount_cents")
        )
        if not rows:
            return []
        moved = [pk for pk, _, _ in rows]
        Pledge.objects.filter(pk__in=moved, status=expected).update(
            status=to, updated_at=now, **(updates or {})
        )
        delta_sign = int(to in COUNTED) - int(expected in COUNTED)
        per_campaign: dict[int, list[int]] = {}
        for _, campaign_id, amount in rows:
            per_campaign.setdefault(campaign_id, [0, 0])
            per_campaign[campaign_id][0] += amount
            per_campaign[campaign_id][1] += 1
        for campaign_id, (cents, count) in per_campaign.items():
            deltas = _counter_deltas(expected, to, count)
            if delta_sign:
                deltas["pledged_cents"] = delta_sign * cents
                deltas["backer_count"] = delta_sign * count
            Campaign.objects.counters_add(campaign_id, **deltas)
        _events_create_alike(
            moved,
            source=event_source(actor_label=actor_label, actor=actor),
            kind=PledgeEvent.Kind.STATUS_CHANGED,
            from_status=expected,
            to_status=to,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label,
            note=note,
        )
        events_emit_many(f"pledge.status:{to}", moved)  # webhooks, after commit
    return moved


def _events_create_alike(pledge_ids: list[int], **fields: Any) -> None:
    """One PledgeEvent per pledge, alike but for the pledge. On PostgreSQL one
    `INSERT … SELECT … FROM unnest(ids)`: bulk_create spent longer building a 1,000-row VALUES
    list (ten parameters a row) than PostgreSQL took to insert it (issue 14). Elsewhere
    bulk_create."""
    db = router.db_for_write(PledgeEvent)
    connection = connections[db]
    if connection.vendor != "postgresql":
        PledgeEvent.objects.using(db).bulk_create(
            PledgeEvent(pledge_id=pk, **fields) for pk in pledge_ids
        )
        return
    template = PledgeEvent(**fields)
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for field in PledgeEvent._meta.concrete_fields:
        if field.primary_key or field.attname == "pledge_id":
            continue
        # pre_save fills created_at (auto_now_add) as a save would; the cast types each value.
        value = field.get_db_prep_save(field.pre_save(template, True), connection)
        columns.append(quote(cast(str, field.column)))
        values.append(f"%s::{field.cast_db_type(connection)}")
        params.append(value)
    table = quote(cast(str, PledgeEvent._meta.db_table))
    # Only quoted names from the model's metadata are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({quote('pledge_id')}, {', '.join(columns)}) "  # noqa: S608
        f"SELECT pledge_id, {', '.join(values)} FROM unnest(%s::bigint[]) AS pledge_id"
    )
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(pledge_ids)])


def pledge_log(
    *,
    pledge: Pledge,
    note: str,
    actor=None,
    actor_label: str = "",
    code: str = "",
    stripe_object_id: str = "",
    amount_cents: int | None = None,
    kind: str = PledgeEvent.Kind.NOTE,
) -> PledgeEvent:
    """Append a history line that is not a status change (an amount change, a reminder sent)."""
    return PledgeEvent.objects.create(
        pledge=pledge,
        source=event_source(actor_label=actor_label, actor=actor),
        kind=kind,
        from_status=pledge.status,
        to_status=pledge.status,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label,
        note=note,
        code=code,
        stripe_object_id=stripe_object_id,
        amount_cents=amount_cents,
    )
