"""One tenant schema's rows out to files and back, by PostgreSQL COPY.

Each table is dumped as COPY text format, in primary-key order, so the same
data always gives the same bytes and checksum. Tenant tables are never named
here: they are read from the catalog of the schema being dumped or restored.

Some integer columns hold ids of rows outside the schema (there is no foreign
key across schemas); the caller names them, and on a restore into another
installation their values are rewritten through a mapping it gives (an id the
mapping lacks becomes NULL, counted).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import text

from .archive_format import CHUNK, ArchiveError, bar

_TABLES_SQL = text("""
    SELECT c.relname::text,
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS columns,
           (SELECT array_agg(pa.attname::text ORDER BY k.ord)
              FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute pa ON pa.attrelid = i.indrelid AND pa.attnum = k.attnum
             WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema)
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'alembic_version'
    GROUP BY c.oid, c.relname
    ORDER BY c.relname
""")

_FKS_SQL = text("""
    SELECT c.relname::text, r.relname::text
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_class r ON r.oid = k.confrelid
    WHERE k.contype = 'f' AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema)
      AND r.relnamespace = k.connamespace
""")

_SEQUENCES_SQL = text("""
    SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = :schema ORDER BY 1
""")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tables(conn, schema: str) -> dict[str, dict]:
    """One catalog query: every table of `schema` with its columns and primary key."""
    return {name: {"columns": list(cols), "pk": list(pk or [])}
            for name, cols, pk in conn.execute(_TABLES_SQL, {"schema": schema})}


def schema_revision(conn, schema: str) -> str | None:
    """The schema's own Alembic revision; None when it is missing or was never migrated."""
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{q(schema)}.alembic_version"}).scalar() is None:
        return None
    return conn.execute(text(f"SELECT version_num FROM {q(schema)}.alembic_version")).scalar()


def sequences(conn, schema: str) -> dict[str, int | None]:
    return {name: value for name, value in conn.execute(_SEQUENCES_SQL, {"schema": schema})}


def referenced_values(conn, schema: str, found: dict, columns: dict[str, frozenset[str]]) -> set[int]:
    """Every distinct non-NULL value of the named columns (those present in `found`)."""
    values: set[int] = set()
    for table, cols in columns.items():
        for col in cols:
            if table in found and col in found[table]["columns"]:
                values.update(conn.execute(text(
                    f"SELECT DISTINCT {q(col)} FROM {q(schema)}.{q(table)} WHERE {q(col)} IS NOT NULL")).scalars())
    return values


def _load_order(conn, schema: str, names) -> list[str]:
    """Parents before children, from the schema's own foreign keys (one catalog query)."""
    deps = {t: set() for t in names}
    for child, parent in conn.execute(_FKS_SQL, {"schema": schema}):
        if child in deps and parent in deps and child != parent:  # self-references are checked per statement
            deps[child].add(parent)
    order, done = [], set()
    while deps:
        ready = sorted(t for t, parents in deps.items() if parents <= done)
        if not ready:  # a cycle: PostgreSQL would need deferred constraints; say so rather than guess
            raise ArchiveError(f"tables {sorted(deps)} reference each other in a cycle; cannot order the load")
        for t in ready:
            order.append(t)
            done.add(t)
            del deps[t]
    return order


def _copy_out_sql(schema: str, table: str, columns: list[str], pk: list[str]) -> str:
    cols = ", ".join(q(c) for c in columns)
    order = f" ORDER BY {', '.join(q(c) for c in pk)}" if pk else ""  # without a key, order is not defined
    return f"COPY (SELECT {cols} FROM {q(schema)}.{q(table)}{order}) TO STDOUT"


def dump_table(raw, schema, table, info, sink) -> tuple[int, int, str]:
    """COPY one table out to `sink` (or nowhere); returns rows, bytes, sha256."""
    digest, size, rows = hashlib.sha256(), 0, 0
    with raw.cursor() as cur:
        with cur.copy(_copy_out_sql(schema, table, info["columns"], info["pk"])) as copy:
            for chunk in copy:
                chunk = bytes(chunk)
                digest.update(chunk)
                size += len(chunk)
                rows += chunk.count(b"\n")  # text format: one line per row, newlines in values are escaped
                if sink is not None:
                    sink.write(chunk)
    return rows, size, digest.hexdigest()


def dump_schema(conn, schema: str, found: dict, staging: Path, progress=None) -> dict[str, dict]:
    """Every table to staging/<table>.tsv; returns the manifest's "tables" section.

    Run it inside one REPEATABLE READ transaction so the tables are mutually consistent.
    """
    raw = conn.connection.driver_connection
    progress_bar = bar(progress, "tables", len(found), "table")
    entries = {}
    for name, info in found.items():
        with open(staging / f"{name}.tsv", "wb") as sink:
            rows, size, digest = dump_table(raw, schema, name, info, sink)
        entries[name] = {"member": f"data/{name}.tsv", "columns": info["columns"], "primary_key": info["pk"],
                         "rows": rows, "bytes": size, "sha256": digest}
        progress_bar.update(1)
    progress_bar.close()
    return entries


def table_members(manifest) -> dict[str, tuple[int, str]]:
    """The archive members holding table data, with their size and checksum."""
    for name in manifest["tables"]:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ArchiveError(f"the archive names an invalid table {name!r}")
    return {e["member"]: (e["bytes"], e["sha256"]) for e in manifest["tables"].values()}


def changed_tables(conn, schema: str, archived: dict) -> list[str]:
    """How the schema's rows differ from a dump's "tables" section (dumped again, compared by checksum)."""
    found = tables(conn, schema)
    raw = conn.connection.driver_connection
    problems = []
    for name in sorted(set(found) | set(archived)):
        if name not in archived:
            problems.append(f"table {name} is not in the export")
            continue
        if name not in found:
            problems.append(f"table {name} of the export no longer exists")
            continue
        info = dict(found[name], columns=archived[name]["columns"])
        rows, _size, digest = dump_table(raw, schema, name, info, None)
        if digest != archived[name]["sha256"]:
            problems.append(f"{name} changed since the export ({archived[name]['rows']} rows then, {rows} now)")
    return problems


def load_schema(conn, schema, manifest, work: Path, remap_columns, id_map, identity: bool, progress=None):
    """COPY every table in, parents first, rewriting the remapped columns; then sequences and row counts.

    Returns (table → (rows in dump, rows restored), values cleared because `id_map` lacked them).
    """
    found = tables(conn, schema)
    archived = manifest["tables"]
    for name, entry in archived.items():
        if name not in found:
            raise ArchiveError(f"table {name} of the archive does not exist at revision "
                               f"{manifest['tenant_revision']}; the archive does not match its revision")
        unknown = set(entry["columns"]) - set(found[name]["columns"])
        if unknown:
            raise ArchiveError(f"columns {sorted(unknown)} of {name} do not exist at revision "
                               f"{manifest['tenant_revision']}; the archive does not match its revision")
    raw = conn.connection.driver_connection
    progress_bar = bar(progress, "restore", sum(e["bytes"] for e in archived.values()), "B")
    cleared = 0
    try:
        for name in _load_order(conn, schema, [t for t in found if t in archived]):
            entry = archived[name]
            cols = entry["columns"]
            ref_idx = [i for i, c in enumerate(cols) if c in remap_columns.get(name, ())]
            sql = f"COPY {q(schema)}.{q(name)} ({', '.join(q(c) for c in cols)}) FROM STDIN"
            with raw.cursor() as cur, cur.copy(sql) as copy, open(work / entry["member"], "rb") as f:
                if not ref_idx or identity:  # nothing to rewrite: the data goes in byte for byte
                    for chunk in iter(lambda: f.read(CHUNK), b""):
                        copy.write(chunk)
                        progress_bar.update(len(chunk))
                else:
                    for line in f:
                        fields = line.rstrip(b"\n").split(b"\t")
                        for i in ref_idx:
                            if fields[i] != b"\\N":
                                new = id_map.get(int(fields[i]))
                                if new is None:
                                    cleared += 1
                                fields[i] = b"\\N" if new is None else str(new).encode()
                        copy.write(b"\t".join(fields) + b"\n")
                        progress_bar.update(len(line))
    finally:
        progress_bar.close()
    for seq, value in manifest["sequences"].items():
        if value is not None:
            conn.execute(text("SELECT setval(:s, :v, true)"), {"s": f"{q(schema)}.{q(seq)}", "v": value})
    counts = {}
    for name, entry in archived.items():
        got = conn.execute(text(f"SELECT count(*) FROM {q(schema)}.{q(name)}")).scalar()
        if got != entry["rows"]:
            raise ArchiveError(f"{name}: {got} rows restored but the archive holds {entry['rows']}")
        counts[name] = (entry["rows"], got)
    return counts, cleared
