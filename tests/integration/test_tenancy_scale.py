"""Provisioning and upgrades as an operator relies on them at scale, against a real PostgreSQL.

- a fast-provisioned schema is identical (catalog) to one built by the migrations, and stays so when a
  migration is added — the fast path follows the new head by itself;
- an upgrade killed with SIGKILL (a real subprocess, with and without worker processes) leaves every schema
  fully at the old revision or fully at the new one, and a rerun finishes;
- a failing schema is reported and skipped in worker processes too;
- status sees registry/catalog disagreements; the CLI's --json outputs are complete and bad input is refused
  with a message, not a traceback.

Throwaway revisions live in a temporary copy of the tenant track, never in migrations/tenant/versions/.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from tenants import catalog, fastpath, migrate, spares, tracks
from tenants.provisioning import drop_schema, provision_schema
from tenants.registry import tenant_schemas

ROOT = Path(__file__).resolve().parents[2]
_next_schema = iter(range(700000 + (os.getpid() % 1000) * 100, 10**9))


def fresh_schema() -> str:
    return f"client_{next(_next_schema)}"


def add_revision(track: Path, rev: str, upgrade: str, downgrade: str = "pass") -> str:
    """Append a revision to a copied track (chained on its head); returns the new revision id."""
    down = tracks.tenant_head(track)
    body = (f'"""throwaway {rev}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
            f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n" + "".join(f"    {line}\n" for line in upgrade.strip().splitlines()) +
            "\n\ndef downgrade():\n" + "".join(f"    {line}\n" for line in downgrade.strip().splitlines()))
    (track / "versions" / f"{rev}_throwaway.py").write_text(body)
    tracks.forget_tenant_script(track)  # the copy changed: load it again
    return rev


@pytest.fixture()
def track(tmp_path):
    """A private copy of the tenant track to add throwaway revisions to."""
    copy = tmp_path / "tenant_track"
    shutil.copytree(tracks.TRACKS["tenant"], copy, ignore=shutil.ignore_patterns("__pycache__"))
    yield copy
    tracks.forget_tenant_script(copy)


@pytest.fixture()
def schemas(db):
    """Creates bare client schemas (registry row + schema, no client) and drops them afterwards."""
    made = []

    # One transaction per schema: a schema's tables, indexes and constraints each take a lock, and two dozen
    # schemas in one transaction outgrow PostgreSQL's default lock table (max_locks_per_transaction 64).
    def make(n, location=None):
        names = [fresh_schema() for _ in range(n)]
        for name in names:
            with db.engine.begin() as conn:
                provision_schema(conn, name, location=location)
        made.extend(names)
        return names

    yield make
    for name in made:
        with db.engine.begin() as conn:
            drop_schema(conn, name)


def first_table(conn, schema: str) -> str:
    """Some tenant table that exists at head, found in the catalog rather than named here."""
    return conn.execute(text("""SELECT min(relname) FROM pg_class WHERE relkind = 'r' AND relname <> 'alembic_version'
                                AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :s)"""),
                        {"s": schema}).scalar()


def schema_revisions(conn, names):
    """schema → (registry revision, the schema's own alembic_version)."""
    reg = dict(conn.execute(select(tenant_schemas.c.schema_name, tenant_schemas.c.revision)
                            .where(tenant_schemas.c.schema_name.in_(names))).all())
    return {n: (reg.get(n), conn.execute(text(f'SELECT max(version_num) FROM "{n}".alembic_version')).scalar())
            for n in names}


def has_column(conn, schema, table, column) -> bool:
    return bool(conn.execute(text("""SELECT 1 FROM information_schema.columns WHERE table_schema = :s
                                     AND table_name = :t AND column_name = :c"""),
                             {"s": schema, "t": table, "c": column}).scalar())


# --- fast provisioning ≡ migrations -------------------------------------------------------------

def only_spares(engine, count, location=None):
    """Exactly `count` spares of this track ready (none of any other)."""
    with engine.begin() as conn:
        for name in sum(spares.list_spares(conn, location), []):
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    assert spares.replenish(engine, count, location)[2] == count


@pytest.fixture()
def restore_spares(db):
    yield
    spares.replenish(db.engine, 5)  # as `flask db upgrade` leaves them, for the tests that follow


def test_every_provisioning_path_builds_the_same_schema_as_the_migrations(db, restore_spares):
    only_spares(db.engine, 1)
    renamed, rendered, migrated = fresh_schema(), fresh_schema(), fresh_schema()
    head = tracks.tenant_head()
    with db.engine.connect() as conn:
        trans = conn.begin()
        (spare,), _ = spares.list_spares(conn)
        assert provision_schema(conn, renamed) == head  # takes the spare …
        assert spares.list_spares(conn) == ([], [])
        assert provision_schema(conn, rendered, method="sql") == head
        assert provision_schema(conn, migrated, method="migrations") == head
        snaps = {name: catalog.snapshot(conn, name) for name in (renamed, rendered, migrated)}
        assert catalog.differences(snaps[renamed], snaps[migrated]) == []
        assert catalog.differences(snaps[rendered], snaps[migrated]) == []
        # The comparison covers something real: every kind of object the track creates.
        a = snaps[migrated]
        assert a["relations"] and a["columns"] and a["constraints"] and a["indexes"] and a["sequences"]
        assert a["alembic_version"] == [(head,)]
        regs = dict(conn.execute(select(tenant_schemas.c.schema_name, tenant_schemas.c.revision)
                                 .where(tenant_schemas.c.schema_name.in_(list(snaps)))).all())
        assert regs == {renamed: head, rendered: head, migrated: head}
        trans.rollback()
    with db.engine.connect() as conn:
        assert spares.list_spares(conn)[0] == [spare]  # … and a rollback gives it back


def test_two_transactions_never_take_the_same_spare(db, restore_spares):
    only_spares(db.engine, 1)
    first, second = fresh_schema(), fresh_schema()
    a, b = db.engine.connect(), db.engine.connect()
    try:
        ta = a.begin()
        provision_schema(a, first)  # holds the only spare, uncommitted
        tb = b.begin()
        b.execute(text("SET LOCAL lock_timeout = '5s'"))  # a wait on the spare would fail the test, not hang it
        started = time.monotonic()
        provision_schema(b, second)  # sees the spare still listed, cannot lock it: builds from SQL instead
        assert time.monotonic() - started < 5
        tb.commit()
        ta.commit()
    finally:
        a.close()
        b.close()
    with db.engine.connect() as conn:
        snaps = [catalog.snapshot(conn, n) for n in (first, second)]
        assert catalog.differences(*snaps) == [] and spares.list_spares(conn) == ([], [])
    with db.engine.begin() as conn:
        drop_schema(conn, first)
        drop_schema(conn, second)


def test_fast_path_follows_a_new_migration_and_a_stale_one_would_be_caught(db, track, restore_spares):
    old_head = tracks.tenant_head(track)
    only_spares(db.engine, 1, location=track)  # a spare built before the new migration exists
    with db.engine.connect() as conn:
        trans = conn.begin()
        probe = fresh_schema()
        provision_schema(conn, probe, method="sql")
        table = first_table(conn, probe)
        trans.rollback()
    # A revision with the kinds of things that trip replayed SQL: a server default and a CHECK with '%',
    # an index, a function and trigger from raw SQL, and seeded rows.
    new_rev = add_revision(track, "aa01throwaway", f"""
op.add_column({table!r}, sa.Column('bench_note', sa.String(40), server_default='100% done', nullable=False))
op.create_index('ix_{table}_bench_note', {table!r}, ['bench_note'])
op.create_table('throwaway_codes', sa.Column('code', sa.String(20), primary_key=True),
                sa.Column('label', sa.Text(), nullable=False),
                sa.CheckConstraint("code NOT LIKE '%x%'", name='ck_throwaway_codes_no_x'))
op.bulk_insert(sa.table('throwaway_codes', sa.column('code', sa.String), sa.column('label', sa.Text)),
               [{{'code': 'a', 'label': "it's 50%"}}, {{'code': 'b', 'label': 'plain'}}])
op.execute("CREATE FUNCTION throwaway_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.label := NEW.label || ' (5%)'; RETURN NEW; END $$")
op.execute("CREATE TRIGGER throwaway_touch BEFORE INSERT ON throwaway_codes FOR EACH ROW EXECUTE FUNCTION throwaway_touch()")
""")
    head, sql = fastpath.provisioning_sql(track)
    assert head == new_rev and "bench_note" in sql  # keyed by head: the new migration is in it

    fast, migrated, stale = fresh_schema(), fresh_schema(), fresh_schema()
    with db.engine.connect() as conn:
        trans = conn.begin()
        ready, older = spares.list_spares(conn, track)
        assert ready == [] and len(older) == 1  # the spare built before the migration is never taken …
        assert provision_schema(conn, fast, location=track) == new_rev
        assert spares.list_spares(conn, track) == ([], older)
        assert provision_schema(conn, migrated, method="migrations", location=track) == new_rev
        a, b = catalog.snapshot(conn, fast), catalog.snapshot(conn, migrated)
        assert catalog.differences(a, b) == []
        assert has_column(conn, fast, table, "bench_note")
        rows = [conn.execute(text(f'SELECT code, label FROM "{s}".throwaway_codes ORDER BY code')).all()
                for s in (fast, migrated)]
        assert rows[0] == rows[1] == [("a", "it's 50%"), ("b", "plain")]

        # A fast path that did not follow (SQL rendered for the previous head) is detected by the comparison.
        conn.execute(text(f'CREATE SCHEMA "{stale}"'))
        conn.execute(text("SELECT set_config('search_path', :p, true)"), {"p": f'"{stale}", public'})
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(fastpath.render_upgrade_sql(tracks.tenant_script(track), old_head))
        diff = catalog.differences(catalog.snapshot(conn, stale), b)
        assert any("bench_note" in line for line in diff) and any("throwaway_codes" in line for line in diff)
        trans.rollback()
    # … and replenishing replaces it with one at the new head, which provisioning then takes.
    assert spares.replenish(db.engine, 1, location=track) == (1, 1, 1)
    with db.engine.connect() as conn:
        trans = conn.begin()
        assert provision_schema(conn, fast, location=track) == new_rev
        assert spares.list_spares(conn, track) == ([], [])
        assert catalog.differences(catalog.snapshot(conn, fast), b) == []
        trans.rollback()


def test_catalog_snapshot_sees_an_extra_index(db):
    a_name, b_name = fresh_schema(), fresh_schema()
    with db.engine.connect() as conn:
        trans = conn.begin()
        provision_schema(conn, a_name)
        provision_schema(conn, b_name)
        table = first_table(conn, b_name)
        col = conn.execute(text("""SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attnum > 0
                                   AND NOT attisdropped AND NOT attnotnull ORDER BY attnum LIMIT 1"""),
                           {"t": f'"{b_name}".{table}'}).scalar()
        conn.execute(text(f'CREATE INDEX extra_ix ON "{b_name}".{table} ({col})'))
        diff = catalog.differences(catalog.snapshot(conn, a_name), catalog.snapshot(conn, b_name))
        assert any("extra_ix" in line for line in diff)
        trans.rollback()


# --- upgrades: killed, failing, parallel ------------------------------------------------------------

SLOW_REVISION = """
op.execute("SELECT pg_sleep(0.08)")
op.add_column({table!r}, sa.Column('kill_probe', sa.Integer(), nullable=True))
op.create_index('ix_kill_probe', {table!r}, ['kill_probe'])
"""

RUNNER = """
import sys
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from tenants import migrate
engine = create_engine(sys.argv[1], poolclass=NullPool)
report = migrate.upgrade_tenants(engine, only=sys.argv[2].split(","), location=sys.argv[3], jobs=int(sys.argv[4]))
print(len(report.upgraded), len(report.failed))
"""


def _wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("jobs,kill", [(1, "process"), (2, "group"), (2, "parent only")])
def test_an_upgrade_killed_mid_way_leaves_every_schema_old_or_new(db, schemas, track, jobs, kill):
    names = schemas(24)
    old = tracks.tenant_head()
    with db.engine.connect() as conn:
        table = first_table(conn, names[0])
    new = add_revision(track, "bb02killprobe", SLOW_REVISION.format(table=table),
                       f"op.drop_index('ix_kill_probe', table_name={table!r})\nop.drop_column({table!r}, 'kill_probe')")
    # Tagged, so the test can wait for the killed runner's server sessions to end (see below).
    url = db.engine.url.update_query_dict({"application_name": "kill-test-runner"}).render_as_string(
        hide_password=False)
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, url, ",".join(names), str(track), str(jobs)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        def some_done():
            with db.engine.connect() as conn:
                return conn.execute(select(tenant_schemas.c.schema_name).where(
                    tenant_schemas.c.schema_name.in_(names), tenant_schemas.c.revision == new)).first() is not None
        _wait_for(lambda: proc.poll() is not None or some_done(), what="the first upgraded schema")
        assert proc.poll() is None, f"upgrade finished before it could be killed: {proc.communicate()}"
        time.sleep(0.3)  # well inside the run: about 24 × 0.1 s of work
        children = psutil.Process(proc.pid).children(recursive=True)
        if kill == "group":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # Orphaned workers notice, finish (or roll back) the schema in hand, and leave.
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"worker processes still running after the parent was killed: {alive}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.stdout:
            proc.stdout.close()
            proc.stderr.close()

    # A killed client's server session may still be finishing a COMMIT it had sent: only once every
    # such session has ended is the outcome final (old or new, never half), and safe to check and rerun.
    def runner_sessions_gone():
        with db.engine.connect() as conn:
            return not conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE application_name = 'kill-test-runner'")).first()

    _wait_for(runner_sessions_gone, timeout=30, what="the killed runner's database sessions to end")
    with db.engine.connect() as conn:
        states = schema_revisions(conn, names)
        columns = {n: has_column(conn, n, table, "kill_probe") for n in names}
    for n in names:
        assert states[n] in ((old, old), (new, new)), f"{n} is inconsistent: {states[n]}"
        assert columns[n] == (states[n][0] == new), f"{n}: stamp {states[n]} but column present={columns[n]}"
    upgraded = sum(1 for n in names if states[n][0] == new)
    assert 0 < upgraded < len(names), f"kill did not land mid-way ({upgraded}/{len(names)} upgraded)"

    rerun = migrate.upgrade_tenants(db.engine, only=names, location=track)
    assert not rerun.failed and len(rerun.upgraded) == len(names) - upgraded
    assert rerun.already_current == upgraded
    with db.engine.connect() as conn:
        assert set(schema_revisions(conn, names).values()) == {(new, new)}
        assert all(has_column(conn, n, table, "kill_probe") for n in names)
    back = migrate.upgrade_tenants(db.engine, target=old, only=names, location=track)  # leave them at head
    assert not back.failed and len(back.upgraded) == len(names)


def test_worker_processes_skip_and_report_a_failing_schema_and_a_rerun_finishes(db, schemas, track):
    names = schemas(5)
    with db.engine.connect() as conn:
        table = first_table(conn, names[0])
    new = add_revision(track, "cc03column", f"op.add_column({table!r}, sa.Column('probe', sa.Integer()))",
                       f"op.drop_column({table!r}, 'probe')")
    broken = names[2]
    with db.engine.begin() as conn:  # something in the way of the new column
        conn.execute(text(f'ALTER TABLE "{broken}".{table} ADD COLUMN probe text'))
    report = migrate.upgrade_tenants(db.engine, only=names, location=track, jobs=2)
    assert sorted(report.upgraded) == sorted(n for n in names if n != broken)
    assert list(report.failed) == [broken] and "already exists" in report.failed[broken]
    with db.engine.connect() as conn:
        state = next(s for s in migrate.status(conn) if s.schema_name == broken)
        assert state.revision != new and "already exists" in state.last_error
        assert schema_revisions(conn, [broken])[broken][1] != new  # rolled back whole
    with db.engine.begin() as conn:
        conn.execute(text(f'ALTER TABLE "{broken}".{table} DROP COLUMN probe'))
    rerun = migrate.upgrade_tenants(db.engine, only=names, location=track, jobs=2)
    assert rerun.upgraded == [broken] and rerun.already_current == 4 and not rerun.failed
    with db.engine.connect() as conn:
        state = next(s for s in migrate.status(conn) if s.schema_name == broken)
    assert state.revision == new and state.last_error is None
    assert not migrate.upgrade_tenants(db.engine, target=tracks.tenant_head(), only=names, location=track).failed


def test_upgrade_reports_progress_with_a_total(db, schemas, track):
    names = schemas(3)
    with db.engine.connect() as conn:
        table = first_table(conn, names[0])
    add_revision(track, "dd04progress", f"op.add_column({table!r}, sa.Column('p', sa.Integer()))",
                 f"op.drop_column({table!r}, 'p')")

    class Bar:
        total, n = None, 0

        def reset(self, total):
            self.total = total

        def update(self, n):
            self.n += n

    bar = Bar()
    report = migrate.upgrade_tenants(db.engine, only=names, location=track, progress=bar)
    assert (bar.total, bar.n, len(report.upgraded)) == (3, 3, 3)
    assert not migrate.upgrade_tenants(db.engine, target=tracks.tenant_head(), only=names, location=track).failed


# --- status ------------------------------------------------------------------------------------------

def test_status_shows_unregistered_and_missing_schemas_and_verify_finds_a_wrong_stamp(db, schemas):
    (stamped,) = schemas(1)
    orphan, ghost = fresh_schema(), fresh_schema()
    with db.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{orphan}"'))
        conn.execute(tenant_schemas.insert().values(schema_name=ghost, revision=tracks.tenant_head()))
        conn.execute(text(f"UPDATE \"{stamped}\".alembic_version SET version_num = 'not-a-rev'"))
    try:
        with db.engine.connect() as conn:
            states = {s.schema_name: s for s in migrate.status(conn)}
        head = tracks.tenant_head()
        assert not states[orphan].registered and states[orphan].exists and not states[orphan].is_current(head)
        assert states[ghost].registered and not states[ghost].exists and not states[ghost].is_current(head)
        assert states[stamped].is_current(head)  # the registry alone cannot know …
        mismatches = migrate.verify_registry(db.engine, chunk=7)
        assert mismatches[stamped] == (head, "not-a-rev")  # … the audit does
        assert mismatches[ghost] == (head, None)
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{orphan}"'))
            conn.execute(tenant_schemas.delete().where(tenant_schemas.c.schema_name == ghost))
            conn.execute(text(f"UPDATE \"{stamped}\".alembic_version SET version_num = :h"), {"h": head})


# --- the CLI, as an operator runs it -----------------------------------------------------------------

@pytest.fixture()
def flask_cli(app, service_urls, tmp_path):
    def run(*args, timeout=120, env=None, app_module="wsgi"):
        env = {**(env or os.environ), "DATABASE_URL": service_urls["DATABASE_URL"],
               "REDIS_URL": service_urls["REDIS_URL"], "ISOPATH_ENV": "test", "SECRET_KEY": "test-secret",
               "UPLOAD_ROOT": app.config["UPLOAD_ROOT"], "EXPORTS_DIR": str(tmp_path / "exports")}
        return subprocess.run([sys.executable, "-m", "flask", "--app", app_module, *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    return run


def test_cli_status_and_noop_upgrade_as_json(db, schemas, flask_cli):
    names = schemas(2)
    status = flask_cli("tenants", "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    listed = {s["schema"]: s for s in data["schemas"]}
    assert data["head"] == tracks.tenant_head()
    assert all(listed[n]["current"] and listed[n]["revision"] == data["head"] for n in names)

    with db.engine.connect() as conn:
        registered = len(conn.execute(select(tenant_schemas.c.schema_name)).all())
    upgrade = flask_cli("tenants", "upgrade", "--json", "--jobs", "2")
    assert upgrade.returncode == 0, upgrade.stderr
    report = json.loads(upgrade.stdout)
    # Nothing to do: every registered schema (these two and all that earlier tests left) is already current.
    assert report["upgraded"] == 0 and report["failed"] == {} and report["already_current"] == registered
    assert not report["interrupted"]


def test_cli_keeps_spares_ready_and_status_counts_them(db, flask_cli, restore_spares):
    only_spares(db.engine, 0)
    built = flask_cli("tenants", "spares", "--count", "2")
    assert built.returncode == 0, built.stderr
    assert "2 spare schemas ready (2 built, 0 of older revisions dropped)" in built.stdout
    again = flask_cli("tenants", "spares", "--count", "2")
    assert "2 spare schemas ready (0 built" in again.stdout
    status = flask_cli("tenants", "status")
    assert status.returncode == 0 and "2 spare schemas ready" in status.stdout
    assert "client_spare_" not in status.stdout  # spares are not clients: not listed, not upgraded
    data = json.loads(flask_cli("tenants", "status", "--json").stdout)
    assert data["spares"] == {"ready": 2, "older_revisions": 0}
    assert not any(s["schema"].startswith("client_spare_") for s in data["schemas"])


def test_cli_refuses_bad_input_with_a_message(flask_cli):
    for args, message in [
        (("tenants", "upgrade", "--to", "nosuchrev"), "no tenant revision 'nosuchrev'"),
        (("tenants", "upgrade", "--jobs", "0"), "Invalid value for '--jobs'"),
    ]:
        result = flask_cli(*args)
        assert result.returncode != 0
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_schema_commands_run_without_building_the_web_app(db, schemas, flask_cli, tmp_path):
    # An app that cannot even be imported (a broken deploy, say): the schema commands still work,
    # because they need only the configuration and a connection; the app's own commands say why they can't.
    (tmp_path / "broken_app.py").write_text("raise ImportError('the web app is broken')\n")
    names = schemas(1)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def run(*args):
        return flask_cli(*args, env=env, app_module="broken_app")

    status = run("tenants", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert names[0] in {s["schema"] for s in json.loads(status.stdout)["schemas"]}
    upgrade = run("db", "upgrade", "--json")
    assert upgrade.returncode == 0, upgrade.stderr
    assert json.loads(upgrade.stdout)["failed"] == {}
    export = run("clients", "export", "anything")
    assert export.returncode != 0 and "the web app is broken" in export.stderr


def test_spare_builders_that_overlap_leave_exactly_the_asked_number(db, restore_spares):
    from concurrent.futures import ThreadPoolExecutor

    engine = db.engine
    only_spares(engine, 0)
    with ThreadPoolExecutor(3) as pool:  # three top-ups at once, as after a burst of new clients
        results = list(pool.map(lambda _: spares.replenish(engine, 3), range(3)))
    with engine.connect() as conn:
        ready, _ = spares.list_spares(conn)
    assert len(ready) == 3
    assert sum(built for built, _, _ in results) == 3
