"""Operator commands: `flask --app wsgi db …`, `tenants …`, `clients …`, `demo …`, `jobs …`.

Thin on purpose: parse options, call `tenants`, print. The mechanics (and their
tests) live in `tenants/`.

The groups reach `flask` as plugins (`flask.commands` entry points in
pyproject.toml), not through the app: Flask then runs a command without
building the web app unless the command asks for it (`with_appcontext`). The
schema commands (`db`, `tenants`) don't: they need the configuration and one
database connection, so a no-op upgrade over 2,000 client schemas costs the
interpreter start-up and a few queries. `clients` and `demo` work on models and
files, and load the app.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from tenants import migrate, tracks

from .config import Config

db_cli = click.Group("db", help="Schema migrations: the shared schema, then every client schema.")
tenants_cli = click.Group("tenants", help="Client schemas: status, upgrades, spares.")
clients_cli = click.Group("clients", help="One client at a time: export, import, drop.")
demo_cli = click.Group("demo", help="Demo data.")
jobs_cli = click.Group("jobs", help="Background jobs: what failed for good.")


def _settings() -> Config:
    """The app's configuration, read from the environment exactly as `create_app` reads it."""
    try:
        settings = Config()
    except (RuntimeError, ValueError) as exc:  # e.g. no SECRET_KEY in production, MAX_UPLOAD_MB not a number
        raise click.ClickException(f"Configuration: {exc}")
    if not settings.SQLALCHEMY_DATABASE_URI:
        raise click.ClickException("DATABASE_URL is not set: start the app with `python3 dev.py run`, or set it.")
    return settings


def _engine(settings: Config):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    # One command, a few connections at most: no pool to keep.
    return create_engine(settings.SQLALCHEMY_DATABASE_URI, poolclass=NullPool)


def _progress(total_label: str, unit: str = "schema"):
    from tqdm import tqdm

    # tqdm's default format shows count, rate and ETA; disable=None: no bar when stderr is not a terminal.
    return tqdm(total=0, unit=unit, desc=total_label, file=sys.stderr, dynamic_ncols=True, disable=None)


def _bar_factory(desc: str, total: int, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", unit_divisor=1024, file=sys.stderr,
                dynamic_ncols=True, disable=None, leave=False)


def upgrade_all(engine, *, spare_schemas: int, cache_dir, jobs: int = 1, target: str = "head",
                quiet: bool = False) -> migrate.UpgradeReport:
    """Shared track first, then every client schema that is not at the target, then the spares."""
    from tenants import spares

    migrate.upgrade_shared(engine, cache_dir=cache_dir)
    bar = None if quiet else _progress("client schemas")
    try:
        report = migrate.upgrade_tenants(engine, target=target, jobs=jobs, progress=bar, cache_dir=cache_dir)
    finally:
        if bar is not None:
            bar.close()
    if target in ("head", "heads") and not report.interrupted:
        # Spares built for the previous head are dropped and rebuilt at the new one.
        spares.replenish(engine, spare_schemas, cache_dir=cache_dir)
    return report


def _print_report(report: migrate.UpgradeReport, as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    click.echo(f"target {report.target}: {len(report.upgraded)} upgraded, {report.already_current} already current, "
               f"{len(report.failed)} failed ({report.seconds:.2f} s)")
    for schema, error in sorted(report.failed.items()):
        click.echo(f"  FAILED {schema}: {error}", err=True)
    if report.interrupted:
        click.echo(f"Interrupted: {report.not_reached} schemas not reached; every schema is at its old or its new "
                   "revision. Run the command again to finish.", err=True)
    elif report.failed:
        click.echo("Fix the cause and run the command again: finished schemas are skipped.", err=True)


def _exit_code(report: migrate.UpgradeReport) -> int:
    return 130 if report.interrupted else 1 if report.failed else 0


_JOBS = click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
                     help="Worker processes for client schemas, each with its own connection.")


@db_cli.command("upgrade")
@_JOBS
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def db_upgrade(jobs, as_json):
    """Upgrade the shared schema, then every client schema."""
    settings = _settings()
    report = upgrade_all(_engine(settings), spare_schemas=settings.SPARE_SCHEMAS, cache_dir=settings.CACHE_DIR,
                         jobs=jobs, quiet=as_json)
    _print_report(report, as_json)
    sys.exit(_exit_code(report))


@tenants_cli.command("upgrade")
@_JOBS
@click.option("--to", "target", default="head", show_default=True, help="Target revision (or 'base').")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def tenants_upgrade(jobs, target, as_json):
    """Upgrade (or downgrade) every client schema; resumable, one transaction per schema."""
    settings = _settings()
    try:
        report = upgrade_all(_engine(settings), spare_schemas=settings.SPARE_SCHEMAS, cache_dir=settings.CACHE_DIR,
                             jobs=jobs, target=target, quiet=as_json)
    except tracks.UnknownRevision as exc:
        raise click.ClickException(f"{exc}: use a revision id from migrations/tenant/versions/, 'head' or 'base'.")
    _print_report(report, as_json)
    sys.exit(_exit_code(report))


@tenants_cli.command("spares")
@click.option("--count", type=click.IntRange(0, 1000), default=None,
              help="Spare schemas to keep ready (default: SPARE_SCHEMAS, else 5).")
def tenants_spares(count):
    """Build spare schemas at the current head (and drop those of older heads): provisioning renames one."""
    from tenants import spares

    settings = _settings()
    count = settings.SPARE_SCHEMAS if count is None else count
    built, dropped, ready = spares.replenish(_engine(settings), count, cache_dir=settings.CACHE_DIR)
    click.echo(f"{ready} spare schemas ready ({built} built, {dropped} of older revisions dropped)")


@tenants_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verify", is_flag=True,
              help="Also read every schema's own alembic_version (in chunks) and report disagreements.")
def tenants_status(as_json, verify):
    """Every client schema, its revision, and the last upgrade error (one query)."""
    from tenants import spares

    settings = _settings()
    engine = _engine(settings)
    head = tracks.track_head("tenant", cache_dir=settings.CACHE_DIR)
    with engine.connect() as conn:
        states = migrate.status(conn)
        ready, stale = spares.list_spares(conn, head=head)
    mismatches = migrate.verify_registry(engine) if verify else {}

    def note(s):
        if not s.exists:
            return "schema missing"
        if not s.registered:
            return "not in registry"
        return ""

    if as_json:
        out = {"head": head, "schemas": [
            {"schema": s.schema_name, "revision": s.revision, "current": s.is_current(head),
             "upgraded_at": s.upgraded_at.isoformat() if s.upgraded_at else None, "last_error": s.last_error,
             "registered": s.registered, "exists": s.exists}
            for s in states], "spares": {"ready": len(ready), "older_revisions": len(stale)}}
        if verify:
            out["mismatches"] = {k: {"registry": v[0], "schema": v[1]} for k, v in mismatches.items()}
        click.echo(json.dumps(out, indent=2))
        return
    behind = sum(1 for s in states if not s.is_current(head))
    failed = sum(1 for s in states if s.last_error)
    lines = [f"{'schema':<16} {'revision':<14} {'current':<8} last error"]
    for s in states:
        lines.append(f"{s.schema_name:<16} {(s.revision or '-'):<14} {'yes' if s.is_current(head) else 'NO':<8} "
                     f"{note(s) or s.last_error or ''}")
    click.echo("\n".join(lines))
    click.echo(f"{len(states)} schemas, head {head}, {behind} behind, {failed} with an error; "
               f"{len(ready)} spare schemas ready" + (f", {len(stale)} of older revisions" if stale else ""))
    if verify:
        for schema, (reg, act) in mismatches.items():
            click.echo(f"  MISMATCH {schema}: registry says {reg or '-'}, schema says {act or '-'}", err=True)
        click.echo(f"verified: {len(mismatches)} disagreement(s) between the registry and the schemas")


@db_cli.command("revision")
@click.option("--track", type=click.Choice(["shared", "tenant"]), required=True)
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True)
def db_revision(track, message, autogenerate):
    """Create a new revision; tenant autogenerate compares against a scratch reference schema."""
    from alembic import command

    from tenants.provisioning import provision_schema

    engine = _engine(_settings())
    if track == "shared":
        with engine.begin() as conn:
            command.revision(tracks.alembic_config("shared", connection=conn), message=message,
                             autogenerate=autogenerate)
        return
    with engine.connect() as conn:
        trans = conn.begin()
        if autogenerate:
            provision_schema(conn, "client_0", method="migrations")
        cfg = tracks.alembic_config("tenant", connection=conn)
        cfg.attributes["reference_schema"] = "client_0"
        command.revision(cfg, message=message, autogenerate=autogenerate)
        trans.rollback()  # the reference schema was scratch


# --- clients ---------------------------------------------------------------------------------------

def _archive_args():
    from flask import current_app

    from . import client_archive as archive
    from tenants.base import SharedModel, TenantModel

    from . import models  # noqa: F401  (every table on the metadata, user_ref marks included)

    return {"registry": archive.Registry.from_metadata(SharedModel.metadata),
            "user_refs": archive.user_ref_columns(TenantModel.metadata),
            "upload_root": current_app.config["UPLOAD_ROOT"]}


@clients_cli.command("export")
@click.argument("slug")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Archive to write (.tar.gz). Default: <exports folder>/<slug>-<UTC time>.tar.gz")
@with_appcontext
def clients_export(slug, output):
    """Write one client (data, files, registry rows) to a self-contained archive."""
    from datetime import datetime, timezone

    from flask import current_app

    from . import client_archive as archive

    from .extensions import db

    records = Path(current_app.config["EXPORTS_DIR"])
    if not output:
        records.mkdir(parents=True, exist_ok=True)
        output = records / f"{slug}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.tar.gz"
    try:
        result = archive.export_client(db.engine, slug, output, progress=_bar_factory, **_archive_args())
    except archive.ArchiveError as exc:
        raise click.ClickException(str(exc))
    archive.record_export(records, result)
    rows = sum(result.tables.values())
    click.echo(f"exported {result.slug} ({result.schema}, revision {result.revision}) to {result.path}")
    click.echo(f"  {len(result.tables)} tables, {rows} rows, {result.files} files ({_mb(result.file_bytes)}), "
               f"archive {_mb(result.archive_bytes)}, sha256 {result.archive_sha256[:16]}…, "
               f"{result.seconds:.2f} s")


@clients_cli.command("import")
@click.argument("archive_file", type=click.Path(dir_okay=False))
@click.option("--slug", help="Address of the restored client (default: the one in the archive).")
@click.option("--account", help="Consultancy to restore into: its id or exact name (default: the one it came from).")
@with_appcontext
def clients_import(archive_file, slug, account):
    """Restore an archive as a new client (verified first; all or nothing)."""
    from . import client_archive as archive

    from .extensions import db

    try:
        result = archive.import_client(db.engine, archive_file, slug=slug, account=account, progress=_bar_factory,
                                       **_archive_args())
    except archive.ArchiveError as exc:
        raise click.ClickException(f"{exc}\nNothing was created.")
    click.echo(f"imported {result.slug} as {result.schema} into consultancy {result.account_id} "
               f"({result.seconds:.2f} s)")
    if result.upgraded:
        click.echo(f"  restored at revision {result.revision_in_archive}, then upgraded to {result.revision}")
    click.echo(f"  {'table':<24} {'exported':>9} {'restored':>9}")
    for name, (exported, restored) in sorted(result.tables.items()):
        click.echo(f"  {name:<24} {exported:>9} {restored:>9}{'' if exported == restored else '  MISMATCH'}")
    click.echo(f"  files: {result.files} ({_mb(result.file_bytes)}), every checksum verified")
    if result.users_created:
        click.echo(f"  {len(result.users_created)} user(s) created without a password (invite them or let them "
                   f"use “forgot password”): {', '.join(result.users_created)}")
    if result.consultants_dropped:
        click.echo(f"  not assigned (not members of the target consultancy): {', '.join(result.consultants_dropped)}")
    if result.cleared_user_refs:
        click.echo(f"  {result.cleared_user_refs} reference(s) to users that no longer exist were cleared")


@clients_cli.command("drop")
@click.argument("slug")
@click.option("--export-file", type=click.Path(dir_okay=False), help="An export of this client to check against.")
@click.option("--i-have-no-export", "no_export", is_flag=True, help="Drop even though no current export exists.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def clients_drop(slug, export_file, no_export, yes):
    """Remove a client for good: schema, registry rows, memberships, files.

    Refused unless an export holding exactly the client's current data exists
    (the newest one recorded by `clients export`, or --export-file).
    """
    from flask import current_app
    from sqlalchemy import select

    from . import client_archive as archive

    from .extensions import db
    from .models import Client

    args = _archive_args()
    client = db.session.scalar(select(Client).where(Client.slug == slug))
    if client is None:
        raise click.ClickException(f"No client with the address “{slug}”.")
    client_id, schema, name = client.id, client.schema_name, client.name
    db.session.rollback()
    how = (f"flask clients export {slug} --output FILE — or, to drop it without an export, "
           "add --i-have-no-export.")
    if not no_export:
        candidates = [export_file] if export_file else [
            e["path"] for e in reversed(archive.recorded_exports(Path(current_app.config["EXPORTS_DIR"]), schema))]
        if not candidates:
            raise click.ClickException(f"No export of {slug} is recorded. Export it first: {how}")
        problems = archive.export_problems(db.engine, candidates[0], registry=args["registry"], schema=schema,
                                           client_id=client_id, upload_root=args["upload_root"])
        if problems:
            listed = "\n  ".join(problems[:10]) + (f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else "")
            raise click.ClickException(f"The export {candidates[0]} is not a current, intact export of {slug}:\n  "
                                       f"{listed}\nExport it again: {how}")
        click.echo(f"export {candidates[0]} verified: it holds exactly the client's current data and files")
    if not yes:
        click.confirm(f"Drop client “{name}” ({slug}, {schema}) with its data and files for good?", abort=True)
    try:
        result = archive.drop_client(db.engine, slug, registry=args["registry"], upload_root=args["upload_root"])
    except archive.ArchiveError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"dropped {result.slug}: schema {result.schema}, registry rows, memberships and "
               f"{result.files_removed} file(s)")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


@demo_cli.command("seed")
@with_appcontext
def demo_seed():
    """Create the demo consultancies, clients and logins (idempotent)."""
    from .demo import seed_demo

    created = seed_demo()
    click.echo("demo data created" if created else "demo data already present")


@jobs_cli.command("failed")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def jobs_failed(limit, as_json):
    """List the jobs that failed for good (after their retries): id, function, when, the error's last line."""
    from .jobs.failed import failed_jobs

    jobs = failed_jobs(limit)
    if as_json:
        click.echo(json.dumps([{**j.__dict__, "failed_at": j.failed_at.isoformat() if j.failed_at else None}
                               for j in jobs], indent=2))
        return
    if not jobs:
        click.echo("No failed jobs.")
        return
    for j in jobs:
        when = j.failed_at.strftime("%Y-%m-%d %H:%M:%S") if j.failed_at else "?"
        click.echo(f"{j.id}  {when}  {j.queue}  {j.function}({j.args})\n    {j.error}")
    click.echo(f"{len(jobs)} failed job{'s' if len(jobs) != 1 else ''}.")
