"""One-row statements for a charge's path, built once per process from the models' metadata.

The Django ORM spends more CPU building a statement than PostgreSQL spends running it: about a
millisecond of Python per query in the payments worker (filter, chain, compile, convert),
against a few tens of microseconds to send the SQL and read the row. A paid charge runs nine
statements, so issue 14's goal (≤ 10 ms of worker CPU per charge) could not be met through the
ORM. The statements the state machine runs for one row (a conditional UPDATE … RETURNING, an
INSERT, a locked read) are therefore built here, from the same model metadata the ORM reads, and
cached per shape (which columns are set, which are compared): the second call of a shape costs a
dict look-up and the execute.

What stays the ORM's: value preparation (`Field.get_db_prep_save`, `pre_save` for auto_now
columns) and row conversion (the same converters the compiler applies), so a value is written
and read exactly as a queryset would. Only quoted names from the metadata are formatted into
SQL; every value is a parameter. PostgreSQL only: callers keep their ORM path elsewhere
(`enabled`). No signals are sent (none is connected to these models; a test holds that).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from django.db import connections, models, router, transaction
from django.db.models.sql import UpdateQuery

M = TypeVar("M", bound=models.Model)


def enabled(model: type[models.Model]) -> bool:
    """Whether these statements can serve `model`'s writes (its database is PostgreSQL)."""
    return connections[router.db_for_write(model)].vendor == "postgresql"


def _is_expression(value: Any) -> bool:
    return hasattr(value, "resolve_expression")


def plain(values: dict[str, Any]) -> bool:
    """Whether every value is a plain value (no F(), no expression, no model instance): only
    those are built here."""
    return not any(
        _is_expression(value) or isinstance(value, models.Model) for value in values.values()
    )


@functools.cache
def _attnames(model: type[models.Model]) -> frozenset[str]:
    return frozenset(f.attname for f in model._meta.concrete_fields)


def columns_only(model: type[models.Model], *names: dict[str, Any]) -> bool:
    """Whether every key names a column by its attname (`status`, `supporter_id`): only those
    are built here; a lookup (`paid_at__lte`), a relation by name or "pk" goes through the ORM."""
    known = _attnames(model)
    return all(name in known for values in names for name in values)


@functools.cache
def _shape(
    model: type[models.Model],
) -> tuple[str, str, list[str], list[tuple[int, Any, list]]]:
    """(quoted table, quoted column list, attnames in that order, (position, column expression,
    converters) of each column that has converters)."""
    db = router.db_for_write(model)
    connection = connections[db]
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(cast(str, meta.db_table))
    fields = list(meta.concrete_fields)
    columns = ", ".join(f"{table}.{quote(cast(str, f.column))}" for f in fields)
    converters = []
    for index, field in enumerate(fields):
        col = field.get_col(cast(str, meta.db_table))
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((index, col, found))
    return table, columns, [f.attname for f in fields], converters


@functools.cache
def _field(model: type[models.Model], attname: str) -> models.Field:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field
    raise KeyError(f"{model.__name__} has no column {attname}")


@functools.cache
def _column(model: type[models.Model], attname: str) -> str:
    connection = connections[router.db_for_write(model)]
    return connection.ops.quote_name(cast(str, _field(model, attname).column))


def _prep(model: type[models.Model], attname: str, value: Any, connection) -> Any:
    return _field(model, attname).get_db_prep_save(value, connection)


def _instance(model: type[M], row: Sequence[Any], db: str, connection) -> M:
    _table, _columns, attnames, converters = _shape(model)
    if converters:
        row = list(row)
        for index, col, found in converters:
            for converter in found:
                row[index] = converter(row[index], col, connection)
    return cast(M, model.from_db(db, attnames, row))


@functools.cache
def _update_sql(
    model: type[models.Model], set_names: tuple[str, ...], where: tuple[tuple[str, bool], ...]
) -> str:
    table, columns, _names, _conv = _shape(model)
    sets = ", ".join(f"{_column(model, name)} = %s" for name in set_names)
    conditions = " AND ".join(
        f"{table}.{_column(model, name)} IS NULL"
        if is_null
        else f"{table}.{_column(model, name)} = %s"
        for name, is_null in where
    )
    return f"UPDATE {table} SET {sets} WHERE {conditions} RETURNING {columns}"  # noqa: S608


def row_update_returning(
    model: type[M], *, where: dict[str, Any], fields: dict[str, Any]
) -> M | None:
    """`model.objects.filter(**where).update(**fields)` for one row, returning it as written
    (None if no row matched). `where` compares columns for equality (None: IS NULL) and must
    name the primary key; `fields` are plain values. The row stays locked until commit."""
    db = router.db_for_write(model)
    connection = connections[db]
    shape = tuple((name, value is None) for name, value in where.items())
    sql = _update_sql(model, tuple(fields), shape)
    params = [_prep(model, name, value, connection) for name, value in fields.items()]
    params += [
        _prep(model, name, value, connection) for name, value in where.items() if value is not None
    ]
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else _instance(model, row, db, connection)


def queryset_update_returning(queryset: models.QuerySet[M], fields: dict[str, Any]) -> list[M]:
    """`queryset.update(**fields)` compiled by the ORM (any lookup, F() expressions), as one
    `UPDATE … RETURNING` of every column: the rows as written, converted as
    `row_update_returning`'s are. For the shapes that function does not build."""
    model = queryset.model
    db = router.db_for_write(model)
    connection = connections[db]
    query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    query.add_update_values(fields)
    statement, params = query.get_compiler(db).as_sql()
    _table, columns, _names, _conv = _shape(model)
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(f"{statement} RETURNING {columns}", params)
        rows = cursor.fetchall()
    return [_instance(model, row, db, connection) for row in rows]


@functools.cache
def _insert_sql(model: type[models.Model]) -> tuple[str, tuple[str, ...]]:
    table, _columns, _names, _conv = _shape(model)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = tuple(f.attname for f in fields)
    columns = ", ".join(_column(model, name) for name in names)
    values = ", ".join(["%s"] * len(names))
    pk = _pk_column(model)
    return f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {pk}", names  # noqa: S608


def row_insert(instance: M) -> M:
    """`instance.save()` for a new row (auto_now columns filled as a save would), in one
    INSERT … RETURNING id; the instance gets its primary key and counts as saved."""
    model = type(instance)
    db = router.db_for_write(model)
    connection = connections[db]
    sql, names = _insert_sql(model)
    params = []
    for name in names:
        field = _field(model, name)
        params.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        (pk,) = cursor.fetchone()
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = db
    return instance


def _pk_column(model: type[models.Model]) -> str:
    return _column(model, cast(models.Field, model._meta.pk).attname)


@functools.cache
def _locked_sql(model: type[models.Model], through: type[models.Model] | None, fk: str) -> str:
    table, columns, _names, _conv = _shape(model)
    pk = _pk_column(model)
    if through is None:
        return f"SELECT {columns} FROM {table} WHERE {table}.{pk} = %s FOR UPDATE"  # noqa: S608
    child, _c, _n, _v = _shape(through)
    return (
        f"SELECT {columns} FROM {table} INNER JOIN {child} "  # noqa: S608
        f"ON {table}.{pk} = {child}.{_column(through, fk)} "
        f"WHERE {child}.{_pk_column(through)} = %s FOR UPDATE OF {table}"
    )


def row_locked(
    model: type[M], pk: Any, *, through: type[models.Model] | None = None, fk: str = ""
) -> M | None:
    """The row `pk` of `model`, locked FOR UPDATE (None if there is none). With `through`, `pk`
    is the id of a `through` row and the `model` row its foreign key column `fk` points at is
    read and locked (only that row: the `through` row is joined, not locked)."""
    db = router.db_for_write(model)
    connection = connections[db]
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(_locked_sql(model, through, fk), [pk])
        row = cursor.fetchone()
    return None if row is None else _instance(model, row, db, connection)
