"""Operator commands: `flask --app wsgi db …`, `tenants …`, `demo …`."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from tenants import migrate

from .extensions import db


def register_cli(app):
    app.cli.add_command(db_cli)
    app.cli.add_command(tenants_cli)
    app.cli.add_command(demo_cli)


db_cli = AppGroup("db", help="Schema migrations.")
tenants_cli = AppGroup("tenants", help="Client schemas: status and upgrades.")
demo_cli = AppGroup("demo", help="Demo data.")


def _progress(total_label: str):
    from tqdm import tqdm

    return tqdm(total=0, unit="schema", desc=total_label, file=sys.stderr, dynamic_ncols=True,
                disable=None)  # disable=None: no bar when stderr is not a terminal


def upgrade_all(jobs: int = 1, target: str = "head", quiet: bool = False) -> migrate.UpgradeReport:
    """Shared track first, then every client schema that is not at the target."""
    migrate.upgrade_shared(db.engine)
    bar = None if quiet else _progress("client schemas")
    try:
        report = migrate.upgrade_tenants(db.engine, target=target, jobs=jobs, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    return report


def _print_report(report: migrate.UpgradeReport) -> None:
    click.echo(f"target {report.target}: {len(report.upgraded)} upgraded, {report.already_current} already current, "
               f"{len(report.failed)} failed ({report.seconds:.2f} s)")
    for schema, error in sorted(report.failed.items()):
        click.echo(f"  FAILED {schema}: {error}", err=True)
    if report.failed:
        click.echo("Fix the cause and run the command again: finished schemas are skipped.", err=True)


@db_cli.command("upgrade")
@click.option("--jobs", default=1, show_default=True, help="Worker processes for client schemas.")
def db_upgrade(jobs):
    """Upgrade the shared schema, then every client schema."""
    report = upgrade_all(jobs=jobs)
    _print_report(report)
    sys.exit(1 if report.failed else 0)


@tenants_cli.command("upgrade")
@click.option("--jobs", default=1, show_default=True, help="Worker processes, each with its own connection.")
@click.option("--to", "target", default="head", show_default=True, help="Target revision (or 'base').")
def tenants_upgrade(jobs, target):
    """Upgrade (or downgrade) every client schema; resumable, one transaction per schema."""
    report = upgrade_all(jobs=jobs, target=target)
    _print_report(report)
    sys.exit(1 if report.failed else 0)


@tenants_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenants_status(as_json):
    """Every client schema, its revision, and the last upgrade error (one query)."""
    head = migrate.tenant_head()
    with db.engine.connect() as conn:
        states = migrate.status(conn)
    if as_json:
        click.echo(json.dumps({"head": head, "schemas": [
            {"schema": s.schema_name, "revision": s.revision, "current": s.is_current(head),
             "upgraded_at": s.upgraded_at.isoformat() if s.upgraded_at else None, "last_error": s.last_error}
            for s in states]}, indent=2))
        return
    behind = sum(1 for s in states if not s.is_current(head))
    click.echo(f"{'schema':<16} {'revision':<14} {'current':<8} last error")
    for s in states:
        click.echo(f"{s.schema_name:<16} {(s.revision or '-'):<14} {'yes' if s.is_current(head) else 'NO':<8} "
                   f"{s.last_error or ''}")
    click.echo(f"{len(states)} schemas, head {head}, {behind} behind")


@db_cli.command("revision")
@click.option("--track", type=click.Choice(["shared", "tenant"]), required=True)
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True)
def db_revision(track, message, autogenerate):
    """Create a new revision; tenant autogenerate compares against a scratch reference schema."""
    from alembic import command
    from sqlalchemy import text

    from tenants.provisioning import drop_schema, provision_schema

    if track == "shared":
        with db.engine.begin() as conn:
            command.revision(migrate.alembic_config("shared", connection=conn), message=message,
                             autogenerate=autogenerate)
        return
    with db.engine.connect() as conn:
        trans = conn.begin()
        if autogenerate:
            provision_schema(conn, "client_0")
        cfg = migrate.alembic_config("tenant", connection=conn)
        cfg.attributes["reference_schema"] = "client_0"
        command.revision(cfg, message=message, autogenerate=autogenerate)
        trans.rollback()  # the reference schema was scratch


@demo_cli.command("seed")
def demo_seed():
    """Create the demo consultancies, clients and logins (idempotent)."""
    from .demo import seed_demo

    created = seed_demo()
    click.echo("demo data created" if created else "demo data already present")
