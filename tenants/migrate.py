"""Migrations over the shared schema and every client schema.

The shared track is plain Alembic. The tenant track is run here, not through
`alembic.command`, because the naive loop (a new engine, connection and script
load per schema) costs tens of seconds at 2,000 schemas. Instead: the script
directory is loaded once, one connection serves a whole batch, and each schema
gets its own transaction in which `search_path` is set locally, the revisions
run, and both the schema's own `alembic_version` and the shared registry row
are written — the DDL and its version stamp commit together or not at all.

Alembic operations ignore `schema_translate_map`, which is why tenant revisions
are written unqualified and resolved through `search_path`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update

from .base import is_tenant_schema_name
from .registry import tenant_schemas

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
TRACKS = {"shared": MIGRATIONS / "shared", "tenant": MIGRATIONS / "tenant"}


def alembic_config(track: str, url: str | None = None, connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(TRACKS[track]))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


_scripts: dict[str, ScriptDirectory] = {}


def tenant_script() -> ScriptDirectory:
    """The tenant track's revisions, loaded once per process."""
    if "tenant" not in _scripts:
        _scripts["tenant"] = ScriptDirectory.from_config(alembic_config("tenant"))
    return _scripts["tenant"]


def tenant_head() -> str:
    return tenant_script().get_current_head()


def upgrade_shared(engine) -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config("shared", connection=conn), "head")


def _set_search_path(conn, schema: str) -> None:
    conn.execute(text("SELECT set_config('search_path', :p, true)"), {"p": f'"{schema}", public'})


def migrate_schema_in_transaction(conn, schema: str, target: str = "head") -> str:
    """Bring `schema` to `target` inside the caller's open transaction; returns the new revision.

    Used for upgrades and for provisioning a new schema alike, so both paths
    run the very same revisions.
    """
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    script = tenant_script()
    previous_path = conn.execute(text("SELECT current_setting('search_path')")).scalar()
    _set_search_path(conn, schema)
    dest = resolve_target(script, target)

    def steps(rev, context):
        current = rev[0] if rev else None
        if current == dest:
            return []
        if dest is None or (current is not None and _is_descendant(script, current, dest)):
            return script._downgrade_revs(dest or "base", current)
        return script._upgrade_revs(dest, current)

    ctx = MigrationContext.configure(
        connection=conn,
        opts={"version_table_schema": schema, "script": script, "transactional_ddl": True, "fn": steps},
    )
    with Operations.context(ctx):
        ctx.run_migrations()
    conn.execute(
        update(tenant_schemas)
        .where(tenant_schemas.c.schema_name == schema)
        .values(revision=dest, upgraded_at=text("now()"), last_error=None, last_error_at=None)
    )
    conn.execute(text("SELECT set_config('search_path', :p, true)"), {"p": previous_path})
    return dest


def resolve_target(script: ScriptDirectory, target: str | None) -> str | None:
    """'head' → the head revision; 'base' or None → None (no tables); else the named revision."""
    if target in ("head", "heads"):
        return script.get_current_head()
    if target in (None, "base"):
        return None
    return script.get_revision(target).revision


def _is_descendant(script: ScriptDirectory, current: str, dest: str) -> bool:
    """True when `current` is newer than `dest` (so reaching dest is a downgrade)."""
    return any(r.revision == dest for r in script.iterate_revisions(current, "base"))


@dataclass
class SchemaState:
    schema_name: str
    revision: str | None
    upgraded_at: object
    last_error: str | None

    def is_current(self, head: str) -> bool:
        return self.revision == head


def status(conn) -> list[SchemaState]:
    """Every client schema's revision and last error, in one query."""
    rows = conn.execute(
        select(
            tenant_schemas.c.schema_name,
            tenant_schemas.c.revision,
            tenant_schemas.c.upgraded_at,
            tenant_schemas.c.last_error,
        ).order_by(tenant_schemas.c.schema_name)
    )
    return [SchemaState(*row) for row in rows]


@dataclass
class UpgradeReport:
    target: str
    upgraded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    already_current: int = 0
    seconds: float = 0.0


def pending_schemas(conn, target: str, only: list[str] | None = None) -> tuple[list[str], int]:
    q = select(tenant_schemas.c.schema_name, tenant_schemas.c.revision).order_by(tenant_schemas.c.schema_name)
    if only:
        q = q.where(tenant_schemas.c.schema_name.in_(only))
    rows = conn.execute(q).all()
    pending = [name for name, rev in rows if rev != target]
    return pending, len(rows) - len(pending)


def upgrade_batch(engine, schemas, target: str, on_done=None) -> dict[str, str | None]:
    """Migrate each schema in its own transaction on one connection; returns schema → error or None."""
    results: dict[str, str | None] = {}
    with engine.connect() as conn:
        for schema in schemas:
            try:
                with conn.begin():
                    migrate_schema_in_transaction(conn, schema, target)
                results[schema] = None
            except Exception as exc:  # a broken schema is reported and skipped, never fatal for the rest
                message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:500]}"
                results[schema] = message
                with conn.begin():
                    conn.execute(
                        update(tenant_schemas)
                        .where(tenant_schemas.c.schema_name == schema)
                        .values(last_error=message, last_error_at=text("now()"))
                    )
            if on_done:
                on_done(schema, results[schema])
    return results


def _worker(url: str, schemas: list[str], target: str, queue) -> None:
    """Entry point of one upgrade process: its own engine, its own connection."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        upgrade_batch(engine, schemas, target, on_done=lambda s, err: queue.put((s, err)))
    finally:
        engine.dispose()


def upgrade_tenants(engine, target: str = "head", jobs: int = 1, only=None, progress=None) -> UpgradeReport:
    """Upgrade (or downgrade) every client schema that is not at `target`.

    Parallel work uses processes, never threads: `alembic.op` is one
    module-level proxy, and threads sharing it corrupt schemas silently.
    """
    started = time.perf_counter()
    script = tenant_script()
    target_rev = resolve_target(script, target)
    with engine.connect() as conn:
        pending, current = pending_schemas(conn, target_rev, only)
    report = UpgradeReport(target=target_rev or "base", already_current=current)
    if progress:
        progress.reset(total=len(pending))

    def record(schema, error):
        if error is None:
            report.upgraded.append(schema)
        else:
            report.failed[schema] = error
        if progress:
            progress.update(1)

    if pending and jobs > 1:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        chunks = [pending[i::jobs] for i in range(jobs)]
        url = engine.url.render_as_string(hide_password=False)
        procs = [ctx.Process(target=_worker, args=(url, chunk, target_rev, queue)) for chunk in chunks if chunk]
        for p in procs:
            p.start()
        try:
            for _ in range(len(pending)):
                schema, error = queue.get()
                record(schema, error)
        finally:
            for p in procs:
                p.join(timeout=5)
                if p.is_alive():
                    p.terminate()
    elif pending:
        upgrade_batch(engine, pending, target_rev, on_done=record)
    report.seconds = time.perf_counter() - started
    return report


def cpu_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
