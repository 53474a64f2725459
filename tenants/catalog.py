"""A comparable description of one schema's structure, read from the PostgreSQL catalog.

Used to prove that two ways of building a client schema (rendered SQL,
migrations, a restore) give the same result. Every object is described by
what PostgreSQL itself prints for it (`format_type`, `pg_get_constraintdef`,
`pg_get_indexdef`, …) with the schema's own name replaced by `<schema>`, so
two schemas compare equal exactly when their definitions are the same.

A handful of catalog queries for one schema: fine for tests and audits, not
meant for loops over every schema.
"""
from __future__ import annotations

import re

from sqlalchemy import text

from .names import is_tenant_schema_name

_QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind::text, c.relpersistence::text, coalesce(c.reloptions::text, '')
        FROM pg_class c WHERE c.relnamespace = :ns ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text,
               coalesce(co.collname, ''),
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
            AND co.collname <> 'default'
        WHERE c.relnamespace = :ns AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0
          AND NOT a.attisdropped
        ORDER BY 1, 9""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid, true), k.condeferrable,
               k.condeferred
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = :ns ORDER BY 1, 2""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = :ns ORDER BY 1, 2""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid, true), t.tgenabled::text
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = :ns AND NOT t.tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p WHERE p.pronamespace = :ns AND p.prokind IN ('f', 'p') ORDER BY 1, 2""",
    "sequences": """
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
               s.seqcache, s.seqcycle,
               coalesce((SELECT oc.relname || '.' || a.attname FROM pg_depend d
                         JOIN pg_class oc ON oc.oid = d.refobjid
                         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
                         LIMIT 1), '')
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
        WHERE c.relnamespace = :ns ORDER BY 1""",
    "views": """
        SELECT c.relname, pg_get_viewdef(c.oid, true)
        FROM pg_class c WHERE c.relnamespace = :ns AND c.relkind IN ('v', 'm') ORDER BY 1""",
    "types": """
        SELECT t.typname, t.typtype::text,
               coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
                         WHERE e.enumtypid = t.oid), ''),
               coalesce(format_type(t.typbasetype, t.typtypmod), '')
        FROM pg_type t
        WHERE t.typnamespace = :ns AND t.typtype IN ('e', 'd', 'r', 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
        ORDER BY 1""",
    "comments": """
        SELECT c.relname, coalesce(a.attname, ''), d.description
        FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
        WHERE c.relnamespace = :ns ORDER BY 1, 2""",
}


def snapshot(conn, schema: str, include_version: bool = True) -> dict[str, list[tuple]]:
    """Tables, columns (type, nullability, default, position), constraints, indexes, triggers,
    functions, sequences, views, types and comments of `schema`, plus its Alembic version."""
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    ns = conn.execute(text("SELECT oid FROM pg_namespace WHERE nspname = :s"), {"s": schema}).scalar()
    if ns is None:
        raise LookupError(f"schema {schema} does not exist")
    pattern = re.compile(r'"?\b' + re.escape(schema) + r'\b"?\.')
    result: dict[str, list[tuple]] = {}
    for name, sql in _QUERIES.items():
        rows = conn.execute(text(sql), {"ns": ns}).all()
        result[name] = [tuple(pattern.sub("<schema>.", v) if isinstance(v, str) else v for v in row)
                        for row in rows]
    if include_version:
        result["alembic_version"] = [tuple(r) for r in conn.execute(
            text(f'SELECT version_num FROM "{schema}".alembic_version ORDER BY 1')).all()]
    return result


def differences(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> list[str]:
    """Human-readable differences between two snapshots; empty when identical."""
    out = []
    for kind in sorted(set(a) | set(b)):
        left, right = set(a.get(kind, [])), set(b.get(kind, []))
        out += [f"{kind}: only in first:  {row}" for row in sorted(left - right, key=repr)]
        out += [f"{kind}: only in second: {row}" for row in sorted(right - left, key=repr)]
    return out
