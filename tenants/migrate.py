"""Migrations over the shared schema and every client schema.

The shared track is plain Alembic. The tenant track is run here, not through
`alembic.command`, because the naive loop (a new engine, connection and script
load per schema) costs tens of seconds at 2,000 schemas. Instead: the script
directory is loaded once, one connection serves a whole batch, and each schema
gets its own transaction in which `search_path` is set locally, the revisions
run, and both the schema's own `alembic_version` and the shared registry row
are written — the DDL and its version stamp commit together or not at all, so a
run interrupted at any point (Ctrl-C, SIGKILL, a lost connection) leaves every
schema fully at its old revision or fully at the new one, and a rerun finishes.

Which schema is at which revision is read from the registry (`tenant_schemas`)
in one query, so an upgrade with nothing to do costs milliseconds. Alembic
itself is imported only when there is work to do: with a heads cache (see
`tracks.track_head`) a no-op command never pays for importing it. Where the
tracks are, their heads and revisions, live in `tracks`.

Alembic operations ignore `schema_translate_map`, which is why tenant revisions
are written unqualified and resolved through `search_path`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from sqlalchemy import select, text, update

from .names import is_tenant_schema_name
from .registry import tenant_schemas
from .search_path import restore_search_path, set_local_search_path
from .tracks import alembic_config, is_descendant, resolve_target, tenant_script, track_head, track_location


# --- the shared schema --------------------------------------------------------------------------

def shared_revision(conn) -> str | None:
    exists = conn.execute(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar()
    if not exists:
        return None
    return conn.execute(text("SELECT version_num FROM public.alembic_version")).scalar()


def upgrade_shared(engine, cache_dir=None) -> bool:
    """Bring the shared schema to head; returns False when it already was (checked without Alembic)."""
    head = track_head("shared", cache_dir=cache_dir)
    with engine.connect() as conn:
        if shared_revision(conn) == head:
            return False
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config("shared", connection=conn), "head")
    return True


# --- one schema ---------------------------------------------------------------------------------

def migrate_schema_in_transaction(conn, schema: str, target: str = "head", location=None) -> str:
    """Bring `schema` to `target` inside the caller's open transaction; returns the new revision.

    Used for upgrades, restores and provisioning by migrations alike, so every
    path runs the very same revisions.
    """
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    script = tenant_script(location)
    previous_path = set_local_search_path(conn, schema)
    dest = resolve_target(script, target)

    def steps(rev, context):
        current = rev[0] if rev else None
        if current == dest:
            return []
        if dest is None or (current is not None and is_descendant(script, current, dest)):
            return script._downgrade_revs(dest or "base", current)
        return script._upgrade_revs(dest, current)

    # version_table_schema makes Alembic's has_table an index lookup on this schema,
    # instead of a pg_table_is_visible() scan over every schema's version table.
    ctx = MigrationContext.configure(
        connection=conn,
        opts={"version_table_schema": schema, "script": script, "transactional_ddl": True, "fn": steps},
    )
    _fast_version_table_check(ctx, conn, schema)
    with Operations.context(ctx):
        ctx.run_migrations()
    conn.execute(
        update(tenant_schemas)
        .where(tenant_schemas.c.schema_name == schema)
        .values(revision=dest, upgraded_at=text("now()"), last_error=None, last_error_at=None)
    )
    restore_search_path(conn, previous_path)
    return dest


def _fast_version_table_check(ctx, conn, schema: str) -> None:
    """Replace Alembic's version-table lookup with an index lookup.

    Alembic asks SQLAlchemy's `has_table()`, whose query compares `relname` with a
    VARCHAR parameter; PostgreSQL then walks every schema's `alembic_version` entry
    in pg_class to find this schema's (6 ms per schema at 2,000 schemas, growing with
    each new one — the super-linear trap of STACK-NOTES). `to_regclass` on the
    qualified name is one index probe. Private Alembic hooks, hence the guard: if
    they change, the runner stays correct and is merely slower.
    """
    if not (hasattr(ctx, "_has_version_table") and hasattr(ctx, "_ensure_version_table") and hasattr(ctx, "_version")):
        return
    qualified = f'"{schema}".alembic_version'

    def has_version_table() -> bool:
        return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": qualified}).scalar()

    def ensure_version_table(purge: bool = False) -> None:
        if not has_version_table():
            ctx._version.create(conn)
        if purge:
            conn.execute(ctx._version.delete())

    ctx._has_version_table = has_version_table
    ctx._ensure_version_table = ensure_version_table


# --- all schemas: status ----------------------------------------------------------------------

@dataclass
class SchemaState:
    schema_name: str
    revision: str | None
    upgraded_at: object
    last_error: str | None
    registered: bool = True  # has a row in tenant_schemas
    exists: bool = True  # the schema is in pg_namespace

    def is_current(self, head: str) -> bool:
        return self.revision == head and self.registered and self.exists


_STATUS_SQL = text(r"""
    SELECT coalesce(t.schema_name, n.nspname) AS name, t.revision, t.upgraded_at, t.last_error,
           t.schema_name IS NOT NULL AS registered, n.nspname IS NOT NULL AS present
    FROM public.tenant_schemas t
    FULL JOIN (SELECT nspname::text AS nspname FROM pg_catalog.pg_namespace
               WHERE nspname ~ '^client_[0-9]+$') n ON n.nspname = t.schema_name
    ORDER BY length(coalesce(t.schema_name, n.nspname)), 1
""")


def status(conn) -> list[SchemaState]:
    """Every client schema's revision and last error, in one query.

    The registry is joined with `pg_namespace` (one row per schema, cheap at any
    size), so a registered schema that is missing, or a client schema nobody
    registered, shows up too.
    """
    return [SchemaState(*row) for row in conn.execute(_STATUS_SQL)]


def verify_registry(engine, chunk: int = 200) -> dict[str, tuple[str | None, str | None]]:
    """Compare the registry with each schema's own `alembic_version`; returns the mismatches.

    schema → (registry revision, revision in the schema). Not needed for status
    or upgrades (the two are written in one transaction); this is the audit. It
    reads the version tables in chunks, each in its own short transaction: one
    UNION over thousands of tables is slow to plan and holds a lock per table.
    """
    with engine.connect() as conn:
        registry = {s.schema_name: s.revision for s in status(conn) if s.registered}
        with_table = set(conn.execute(text(r"""
            SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = 'alembic_version' AND n.nspname ~ '^client_[0-9]+$'""")).scalars())
        conn.rollback()  # end the catalog read; each chunk below gets its own short transaction
        actual: dict[str, str | None] = {}
        names = sorted(with_table)
        for i in range(0, len(names), chunk):
            part = names[i:i + chunk]
            sql = " UNION ALL ".join(
                f"SELECT '{s}'::text, (SELECT max(version_num) FROM \"{s}\".alembic_version)" for s in part)
            with conn.begin():
                actual.update(dict(conn.execute(text(sql)).all()))
    mismatches = {}
    for schema in sorted(set(registry) | set(actual)):
        reg, act = registry.get(schema), actual.get(schema)
        if reg != act:
            mismatches[schema] = (reg, act)
    return mismatches


# --- all schemas: upgrades --------------------------------------------------------------------

@dataclass
class UpgradeReport:
    target: str
    upgraded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    already_current: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    not_reached: int = 0  # pending schemas left untouched by an interruption

    def as_dict(self) -> dict:
        return {"target": self.target, "upgraded": len(self.upgraded), "already_current": self.already_current,
                "failed": self.failed, "interrupted": self.interrupted, "not_reached": self.not_reached,
                "seconds": round(self.seconds, 3)}


def pending_schemas(conn, target: str | None, only: list[str] | None = None) -> tuple[list[str], int]:
    """Schemas not at `target` (by the registry), and how many already are."""
    q = select(tenant_schemas.c.schema_name, tenant_schemas.c.revision)
    if only:
        q = q.where(tenant_schemas.c.schema_name.in_(only))
    rows = conn.execute(q).all()
    pending = sorted((name for name, rev in rows if rev != target), key=lambda n: (len(n), n))
    return pending, len(rows) - len(pending)


def _error_message(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines() or [""]
    return f"{type(exc).__name__}: {lines[0][:500]}"


def upgrade_batch(engine, schemas, target: str | None, on_done=None, location=None) -> dict[str, str | None]:
    """Migrate each schema in its own transaction on one connection; returns schema → error or None."""
    results: dict[str, str | None] = {}
    with engine.connect() as conn:
        for schema in schemas:
            try:
                with conn.begin():
                    migrate_schema_in_transaction(conn, schema, target or "base", location=location)
                results[schema] = None
            except Exception as exc:  # a broken schema is reported and skipped, never fatal for the rest
                message = _error_message(exc)
                results[schema] = message
                try:
                    with conn.begin():
                        conn.execute(
                            update(tenant_schemas)
                            .where(tenant_schemas.c.schema_name == schema)
                            .values(last_error=message, last_error_at=text("now()"))
                        )
                except Exception:  # e.g. the connection itself is gone: the report still names the error
                    pass
            if on_done:
                on_done(schema, results[schema])
    return results


def _worker(url: str, location: str, target: str | None, tasks, results, stop) -> None:
    """One upgrade process: its own engine and connection, schemas pulled from a shared queue.

    Ctrl-C reaches every process of the terminal's group; workers ignore it and
    let the parent decide, so they stop between schemas, never inside one.
    """
    import signal

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    import queue as queue_mod

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    engine = create_engine(url, poolclass=NullPool)

    def next_schemas():
        # Between schemas only: stop when asked, or when the parent died (killed, say),
        # rather than carry on unobserved.
        while not stop.is_set() and os.getppid() == parent:
            try:
                schema = tasks.get(timeout=1.0)
            except queue_mod.Empty:
                continue
            if schema is None:
                return
            yield schema

    try:
        upgrade_batch(engine, next_schemas(), target, on_done=lambda s, err: results.put((s, err)),
                      location=location)
    except Exception as exc:  # cannot connect, say: the parent marks what is left as not reached
        results.put((None, _error_message(exc)))
    finally:
        engine.dispose()
        if os.getppid() != parent:
            results.cancel_join_thread()  # nobody reads the results any more: don't hang at exit


def upgrade_tenants(engine, target: str = "head", jobs: int = 1, only=None, progress=None, location=None,
                    cache_dir=None) -> UpgradeReport:
    """Upgrade (or downgrade) every client schema that is not at `target`.

    Parallel work uses processes, never threads: `alembic.op` is one
    module-level proxy, and threads sharing it corrupt schemas silently. On
    Ctrl-C the schemas in flight finish or roll back and the report says
    `interrupted`; a rerun picks up what is left.
    """
    started = time.perf_counter()
    if target in ("head", "heads"):
        target_rev = track_head("tenant", location, cache_dir)  # no Alembic import when nothing is pending
    else:
        target_rev = resolve_target(tenant_script(location), target)
    with engine.connect() as conn:
        pending, current = pending_schemas(conn, target_rev, only)
    report = UpgradeReport(target=target_rev or "base", already_current=current)
    if progress is not None:
        progress.reset(total=len(pending))

    def record(schema, error):
        if error is None:
            report.upgraded.append(schema)
        else:
            report.failed[schema] = error
            if progress is not None and hasattr(progress, "set_postfix_str"):
                progress.set_postfix_str(f"{len(report.failed)} failed", refresh=False)
        if progress is not None:
            progress.update(1)

    try:
        if pending and jobs > 1:
            _upgrade_in_processes(engine, pending, target_rev, jobs, location, record, report)
        elif pending:
            upgrade_batch(engine, pending, target_rev, on_done=record, location=location)
    except KeyboardInterrupt:
        report.interrupted = True
    report.not_reached = len(pending) - len(report.upgraded) - len(report.failed)
    report.seconds = time.perf_counter() - started
    return report


def _upgrade_in_processes(engine, pending, target_rev, jobs, location, record, report) -> None:
    import multiprocessing as mp
    import queue as queue_mod

    ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited connections or locks
    tasks, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    for schema in pending:
        tasks.put(schema)
    jobs = min(jobs, len(pending))
    for _ in range(jobs):
        tasks.put(None)
    url = engine.url.render_as_string(hide_password=False)
    location = track_location("tenant", location)
    procs = [ctx.Process(target=_worker, args=(url, location, target_rev, tasks, results, stop), daemon=True)
             for _ in range(jobs)]
    for p in procs:
        p.start()
    done = 0
    try:
        while done < len(pending):
            try:
                schema, error = results.get(timeout=0.5)
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs):
                    # Workers exited early; drain what they reported, leave the rest for a rerun.
                    while True:
                        try:
                            schema, error = results.get_nowait()
                        except queue_mod.Empty:
                            return
                        if schema is not None:
                            record(schema, error)
                continue
            if schema is None:  # a worker could not run at all
                report.failed.setdefault("(worker)", error)
                continue
            record(schema, error)
            done += 1
    except KeyboardInterrupt:
        stop.set()  # workers finish the schema in hand, then stop
        deadline = time.monotonic() + 30
        while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
            try:
                schema, error = results.get(timeout=0.2)
                if schema is not None:
                    record(schema, error)
            except queue_mod.Empty:
                pass
        raise
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()  # the server rolls back whatever that connection had open


def cpu_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
