#!/usr/bin/env python3
"""Tenancy at scale, measured: provisioning, status, upgrades, export/import, size — one line per figure.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/isopath_bench .venv/bin/python benchmarks/tenancy.py
    .venv/bin/python benchmarks/tenancy.py --clients 200        # embedded PostgreSQL under instance/

The script creates its own database and drops it at the end (--keep leaves it). With DATABASE_URL, the
database it names is dropped and recreated, so its name must contain "bench"; without DATABASE_URL it
uses the embedded server with a database `isopath_bench`. Clients are created through the real path
(`app.clients.create_client`: registry row, schema, plan, summary, one transaction). Throwaway
revisions go into a temporary copy of the tenant track; migrations/ is never touched.

Nothing here asserts: the targets are in the README's Performance section, next to these figures.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from common import drop_database, line, ms, p50_p95, pct, prepare_database, settle  # noqa: E402  (benchmarks/ is on sys.path)


# --- steps ---------------------------------------------------------------------------------------------

def time_create_client(account, consultant, n):
    from app.clients import create_client

    samples = []
    for _ in range(n):
        t = time.perf_counter()
        create_client(account, f"Bench client {time.perf_counter_ns()}", consultants=[consultant])
        samples.append(time.perf_counter() - t)
    return samples


def time_provision_schema(engine, method, n, start_id):
    """The schema step alone (CREATE SCHEMA + tables + stamps + registry row, committed), then dropped again."""
    from tenants.provisioning import drop_schema, provision_schema

    samples, names = [], [f"client_{start_id + i}" for i in range(n)]
    for name in names:
        with engine.connect() as conn:
            t = time.perf_counter()
            with conn.begin():
                provision_schema(conn, name, method=method)
            samples.append(time.perf_counter() - t)
    with engine.begin() as conn:
        for name in names:
            drop_schema(conn, name)
    return samples


def cli(env, *args):
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def add_throwaway_revision(track: Path, rev: str, table: str, column: str) -> str:
    from tenants import tracks

    down = tracks.tenant_head(track)
    (track / "versions" / f"{rev}.py").write_text(
        f'"""benchmark: one nullable column"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n    op.add_column({table!r}, sa.Column({column!r}, sa.Integer(), nullable=True))\n\n\n"
        f"def downgrade():\n    op.drop_column({table!r}, {column!r})\n")
    tracks.forget_tenant_script(track)
    return rev


def seed_realistic_client(db, client, users, upload_root: Path, rows: int, files: int):
    """Thousands of rows and hundreds of files in one client, through the models (bulk inserts)."""
    import random

    from sqlalchemy import insert, select

    import tenants
    from app.models import ActivityEntry, Attachment, Task, TaskComment

    rnd = random.Random(9)
    folder = upload_root / client.schema_name
    with tenants.tenant_scope(db.session, client.schema_name):
        task_ids = db.session.scalars(select(Task.id)).all()
        comments = [{"task_id": rnd.choice(task_ids), "author_id": u.id, "author_name": u.name,
                     "body": f"Comment {i}: evidence reviewed, see attached.\nNext step agreed."}
                    for i in range(rows // 2) for u in [rnd.choice(users)]]
        activity = [{"actor_id": u.id, "actor_name": u.name, "action": "task.status", "object_type": "task",
                     "object_id": str(rnd.choice(task_ids)), "summary": f"Status changed ({i})",
                     "before": {"status": "todo"}, "after": {"status": "in_progress"}}
                    for i in range(rows - rows // 2) for u in [rnd.choice(users)]]
        attachments, total = [], 0
        for i in range(files):
            data = os.urandom(rnd.randint(5_000, 200_000))  # incompressible: the worst case for the archive
            rel = f"attachments/{hashlib.sha1(str(i).encode()).hexdigest()}"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
            total += len(data)
            u = rnd.choice(users)
            attachments.append({"task_id": rnd.choice(task_ids), "filename": f"evidence-{i}.pdf",
                                "content_type": "application/pdf", "size_bytes": len(data),
                                "sha256": hashlib.sha256(data).hexdigest(), "storage_path": rel,
                                "uploaded_by_id": u.id, "uploaded_by_name": u.name})
        db.session.execute(insert(TaskComment), comments)
        db.session.execute(insert(ActivityEntry), activity)
        db.session.execute(insert(Attachment), attachments)
        db.session.commit()
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000, help="clients to create (default 2000)")
    parser.add_argument("--samples", type=int, default=20, help="provisions timed at 0 and at N (default 20)")
    parser.add_argument("--rows", type=int, default=5000, help="extra rows in the exported client (default 5000)")
    parser.add_argument("--files", type=int, default=300, help="files in the exported client (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    started = time.perf_counter()
    url, admin, dbname, services, version = prepare_database(args)
    scratch = Path(tempfile.mkdtemp(prefix="isopath-bench-"))
    upload_root = scratch / "uploads"
    env = {**os.environ, "DATABASE_URL": url, "UPLOAD_ROOT": str(upload_root), "ISOPATH_ENV": "development",
           "EXPORTS_DIR": str(scratch / "exports")}
    try:
        run(args, url, env, scratch, upload_root, version)
    finally:
        from app.extensions import db

        try:
            db.session.remove()
            db.engine.dispose()
        except Exception:
            pass
        if args.keep:
            print(f"database {dbname} kept", flush=True)
        else:
            drop_database(admin, dbname)
        shutil.rmtree(scratch, ignore_errors=True)
        if services is not None:
            services.stop()
    line("whole benchmark", f"{time.perf_counter() - started:.0f} s (load average {os.getloadavg()[0]:.2f} at end; "
         "other work on the machine shows up in every figure)")


def run(args, url, env, scratch, upload_root, version):
    from sqlalchemy import func, select, text
    from tqdm import tqdm

    from app import create_app
    from app.cli import upgrade_all
    from app.config import Config
    from app.extensions import db
    from app.models import Account, AccountMember, Client, User
    from app import client_archive as archive
    from tenants import migrate, spares, tracks
    from tenants.base import SharedModel, TenantModel

    app = create_app(Config(env={k: v for k, v in env.items() if k in ("DATABASE_URL", "UPLOAD_ROOT", "ISOPATH_ENV")}))
    n = args.clients
    with app.app_context():
        upgrade_all(db.engine, spare_schemas=app.config["SPARE_SCHEMAS"], cache_dir=app.config["CACHE_DIR"],
                    quiet=True)
        engine = db.engine
        line("machine", f"{os.cpu_count()} cores, PostgreSQL {version}, Python {sys.version.split()[0]}, "
             f"load average {os.getloadavg()[0]:.2f} at start")
        line("tenant head", tracks.tenant_head())

        owner = User(email="owner@bench.example", name="Bench Owner")
        consultant = User(email="consultant@bench.example", name="Bench Consultant")
        staff = [User(email=f"staff{i}@bench.example", name=f"Staff {i}") for i in range(5)]
        account = Account(name="Bench Consultancy")
        db.session.add_all([owner, consultant, *staff, account])
        db.session.flush()
        db.session.add_all([AccountMember(account_id=account.id, user_id=owner.id, role="owner"),
                            AccountMember(account_id=account.id, user_id=consultant.id, role="consultant")])
        db.session.commit()

        def drop_spares():
            with engine.begin() as conn:
                for name in sum(spares.list_spares(conn), []):
                    conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))

        def provision_figures(at):
            spares.replenish(engine, args.samples)
            samples = time_create_client(account, consultant, args.samples)
            line(f"create a client (registry+schema+plan+summary) at {at}, spare ready", p50_p95(samples))
            drop_spares()
            samples = time_create_client(account, consultant, args.samples)
            line(f"create a client at {at}, no spare (rendered SQL)", p50_p95(samples))
            spares.replenish(engine, args.samples)
            renamed = time_provision_schema(engine, "fast", args.samples, 900_000)
            line(f"  schema step: rename a spare at {at}", p50_p95(renamed))
            rendered = time_provision_schema(engine, "sql", args.samples, 900_000)
            line(f"  schema step: rendered SQL at {at}", p50_p95(rendered))
            slow = time_provision_schema(engine, "migrations", args.samples, 900_000)
            line(f"  schema step: running the migrations at {at}", p50_p95(slow))
            t = time.perf_counter()
            spares.replenish(engine, args.samples)
            line(f"  building {args.samples} spares (off the request path) at {at}",
                 f"{ms((time.perf_counter() - t) / args.samples)} each")

        provision_figures(0)

        t = time.perf_counter()
        existing = db.session.scalar(select(func.count()).select_from(Client))
        with tqdm(total=n, initial=existing, desc="clients", unit="client", file=sys.stderr, disable=None) as bar:
            from app.clients import create_client

            for i in range(existing, n):
                create_client(account, f"Client {i:05d}", consultants=[consultant])
                bar.update(1)
        made = n - existing
        if made > 0:
            line(f"created {made} more clients (to {n})", f"{time.perf_counter() - t:.0f} s, "
                 f"{(time.perf_counter() - t) / made * 1000:.0f} ms each")
        db.session.expire_all()
        db.session.rollback()
        # Measure the steady state, not the aftermath of the bulk load: creating N clients leaves autovacuum
        # analysing thousands of freshly filled tables (minutes of CPU and I/O on 2 cores) and a checkpoint
        # to write. Do both now, timed, instead of letting them run under the figures below.
        line(f"settle after the bulk load: VACUUM (ANALYZE) + CHECKPOINT at {n}", f"{settle(engine.url):.0f} s")
        provision_figures(n)
        total = db.session.scalar(select(func.count()).select_from(Client))

        # Status and upgrades run as commands do: in a fresh process with a fresh connection, not on a
        # pooled connection whose catalog cache already holds every schema (web requests, above, do that).
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        cmd_engine = create_engine(engine.url, poolclass=NullPool)

        # --- status ---------------------------------------------------------------------------------
        samples = []
        for _ in range(7):
            with cmd_engine.connect() as conn:
                t = time.perf_counter()
                states = migrate.status(conn)
                samples.append(time.perf_counter() - t)
        line(f"status of {len(states)} schemas (one query, in process)", f"median {ms(statistics.median(samples))}")
        cli(env, "tenants", "status", "--json")  # warms the heads cache like any earlier command would
        walls = [cli(env, "tenants", "status", "--json")[0] for _ in range(3)]
        line(f"`flask tenants status --json` at {total} (whole command)",
             f"median {ms(statistics.median(walls))} ({', '.join(ms(w) for w in walls)})")
        t = time.perf_counter()
        mismatches = migrate.verify_registry(cmd_engine)
        line("  `--verify`: every schema's own alembic_version against the registry",
             f"{ms(time.perf_counter() - t)}, {len(mismatches)} disagreement(s)")

        # --- no-op upgrade ----------------------------------------------------------------------------
        walls = [cli(env, "tenants", "upgrade")[0] for _ in range(5)]
        line(f"no-op `flask tenants upgrade` at {total} (whole command)",
             f"median {ms(statistics.median(walls))} ({', '.join(ms(w) for w in walls)})")
        walls = [cli(env, "db", "upgrade")[0] for _ in range(3)]
        line(f"no-op `flask db upgrade` (shared + tenants) at {total}", f"median {ms(statistics.median(walls))}")
        walls = [cli(env, "--version")[0] for _ in range(3)]
        line("  of which: starting Python and `flask` (`flask --version`)", f"median {ms(statistics.median(walls))}")
        t = time.perf_counter()
        report = migrate.upgrade_tenants(cmd_engine)
        line("  of which: the no-op upgrade itself (in process)", ms(time.perf_counter() - t))
        walls = [cli(env, "--help")[0] for _ in range(3)]
        line("  not part of it: building the web app (`flask --app wsgi --help`)",
             f"median {ms(statistics.median(walls))}")

        # --- one-column migration over every schema --------------------------------------------------
        track = scratch / "tenant_track"
        shutil.copytree(tracks.TRACKS["tenant"], track, ignore=shutil.ignore_patterns("__pycache__"))
        with engine.connect() as conn:
            schema = db.session.scalar(select(Client.schema_name).order_by(Client.id))
            table = conn.execute(text("""SELECT min(relname) FROM pg_class WHERE relkind = 'r'
                AND relname <> 'alembic_version' AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :s)"""),
                {"s": schema}).scalar()
        base_head = tracks.tenant_head()
        for rev, jobs in (("bench0001", 1), ("bench0002", 4)):
            add_throwaway_revision(track, rev, table, f"{rev}_col")
            with tqdm(total=0, desc=f"{rev} --jobs {jobs}", unit="schema", file=sys.stderr, disable=None) as bar:
                report = migrate.upgrade_tenants(cmd_engine, jobs=jobs, location=track, progress=bar)
            line(f"one-column migration over {len(report.upgraded)} schemas, --jobs {jobs}",
                 f"{report.seconds:.1f} s ({len(report.upgraded) / report.seconds:.0f} schemas/s), "
                 f"{len(report.failed)} failed")
        with tqdm(total=0, desc="downgrade", unit="schema", file=sys.stderr, disable=None) as bar:
            report = migrate.upgrade_tenants(cmd_engine, target=base_head, jobs=4, location=track, progress=bar)
        line(f"downgrade of both revisions over {len(report.upgraded)} schemas, --jobs 4",
             f"{report.seconds:.1f} s, {len(report.failed)} failed")

        # --- export / import of one client with realistic data -------------------------------------------
        victim = db.session.scalar(select(Client).order_by(Client.id))
        users = [owner, consultant, *staff]
        size = seed_realistic_client(db, victim, users, upload_root, args.rows, args.files)
        kwargs = {"registry": archive.Registry.from_metadata(SharedModel.metadata),
                  "user_refs": archive.user_ref_columns(TenantModel.metadata), "upload_root": upload_root}
        out = scratch / "client.tar.gz"
        exp = archive.export_client(engine, victim.slug, out, **kwargs)
        rows = sum(exp.tables.values())
        line(f"export one client: {rows} rows, {exp.files} files ({size / 2**20:.0f} MB)",
             f"{exp.seconds:.2f} s, archive {exp.archive_bytes / 2**20:.0f} MB")
        imp = archive.import_client(engine, out, slug="bench-restored", **kwargs)
        ok = all(a == b for a, b in imp.tables.values())
        line("import it as a new client (verify, restore, place files)",
             f"{imp.seconds:.2f} s, row counts {'match' if ok else 'DIFFER'}")
        t, _ = cli(env, "clients", "export", victim.slug, "--output", str(scratch / "cli.tar.gz"))
        line("  the same export as a CLI command (whole command)", f"{t:.2f} s")

        # --- size ----------------------------------------------------------------------------------------
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            classes = conn.execute(text("SELECT count(*) FROM pg_class")).scalar()
            attrs = conn.execute(text("SELECT count(*) FROM pg_attribute")).scalar()
            schemas = conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^client_[0-9]+$'")).scalar()
        line(f"database at {schemas} client schemas", f"{size / 2**20:.0f} MB, pg_class {classes} rows, "
             f"pg_attribute {attrs} rows")


if __name__ == "__main__":
    main()
