"""Many rows in one small statement: `INSERT … SELECT … FROM jsonb_to_recordset(the rows as one JSON array)`.

SQLAlchemy's many-rows insert writes a placeholder per value, which the driver parses again for every batch,
and arrays per column go through the driver's escaping value by value: at the reminder sweep's 130,000
messages either was most of the sweep. Here the rows travel as one JSON document (encoded in C) that
PostgreSQL turns back into typed rows.
"""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql

from .extensions import db

_DIALECT = postgresql.dialect()


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not stored by insert_rows")


def insert_rows(table: Table, rows: list[dict], *, skip_conflicts_on: str | None = None,
                returning: str | None = None) -> list:
    """Insert `rows` (dicts with the same keys) into `table`; with `skip_conflicts_on`, rows whose value of
    that unique column exists already are left out (ON CONFLICT DO NOTHING); with `returning`, that column
    of each row inserted comes back."""
    if not rows:
        return []
    quote = _DIALECT.identifier_preparer.quote
    names = ", ".join(quote(name) for name in rows[0])
    shape = ", ".join(f"{quote(name)} {table.c[name].type.compile(dialect=_DIALECT)}" for name in rows[0])
    sql = (f"INSERT INTO {_DIALECT.identifier_preparer.format_table(table)} ({names}) "
           f"SELECT {names} FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS r({shape})")
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({quote(skip_conflicts_on)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {quote(returning)}"
    result = db.session.execute(text(sql), {"rows": json.dumps(rows, default=_plain)})
    return list(result.scalars()) if returning else []


def unclaimed(column, values: list) -> set:
    """Which of `values` the (unique, indexed) `column` does not hold yet, asked in one statement whatever
    their number (an IN list writes a placeholder per value); only those come back, so a sweep with
    nothing new reads nothing back."""
    if not values:
        return set()
    quote = _DIALECT.identifier_preparer.quote
    kind = column.type.compile(dialect=_DIALECT)
    sql = (f"SELECT v FROM (SELECT CAST(value AS {kind}) AS v FROM jsonb_array_elements_text(CAST(:values AS JSONB))) "
           f"AS wanted WHERE NOT EXISTS (SELECT 1 FROM {_DIALECT.identifier_preparer.format_table(column.table)} AS t "
           f"WHERE t.{quote(column.name)} = wanted.v)")
    return set(db.session.execute(text(sql), {"values": json.dumps(values, default=_plain)}).scalars().all())
