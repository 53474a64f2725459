"""A schema's DDL, its own alembic_version and its registry row commit together or not at all — shown at
deterministic points rather than by the timing of a kill (test_tenancy_scale.py has the kill tests):

- a revision that fails after its DDL leaves neither its table nor a new stamp, in-process and in workers;
- a registry stamp that fails after the DDL leaves the DDL undone too;
- Ctrl-C (SIGINT to a real `flask tenants upgrade` and its process group), sent while a revision is waiting
  on a file, exits 130 and leaves every schema at its old or its new revision, registry and alembic_version
  agreeing; a rerun finishes.

Throwaway revisions live in a temporary copy of the tenant track (test_tenancy_scale's `track` fixture).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.config import normalise_db_url
from tenants import migrate, tracks
from tenants.provisioning import drop_schema, provision_schema
from test_tenancy_scale import (_wait_for, add_revision, first_table, fresh_schema, has_column,  # noqa: F401
                                schema_revisions, schemas, track)

ROOT = Path(__file__).resolve().parents[2]


def table_exists(conn, schema: str, table: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f'"{schema}".{table}'}).scalar()


def last_error(conn, schema: str) -> str | None:
    return next(s.last_error for s in migrate.status(conn) if s.schema_name == schema)


# --- a failure after the DDL, inside the schema's transaction ---------------------------------------

FAILS_AFTER_ITS_DDL = """
op.create_table('half_done', sa.Column('id', sa.Integer(), primary_key=True))
op.execute("INSERT INTO half_done VALUES (1)")
if op.get_bind().execute(sa.text("SELECT current_schema()")).scalar() == {broken!r}:
    raise RuntimeError("failed after its DDL")
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_revision_failing_after_its_ddl_leaves_neither_its_table_nor_a_stamp(db, schemas, track, jobs):
    names = schemas(3)
    old, broken = tracks.tenant_head(), names[1]
    new = add_revision(track, "ee10failsafterddl", FAILS_AFTER_ITS_DDL.format(broken=broken),
                       "op.drop_table('half_done')")
    report = migrate.upgrade_tenants(db.engine, only=names, location=track, jobs=jobs)
    assert sorted(report.upgraded) == [names[0], names[2]]
    assert report.failed == {broken: "RuntimeError: failed after its DDL"}
    with db.engine.connect() as conn:
        assert schema_revisions(conn, names) == {names[0]: (new, new), broken: (old, old), names[2]: (new, new)}
        assert {n: table_exists(conn, n, "half_done") for n in names} == {names[0]: True, broken: False,
                                                                            names[2]: True}
        assert last_error(conn, broken) == "RuntimeError: failed after its DDL"


# --- a failure of the registry stamp, after the DDL -------------------------------------------------

# For one schema, a trigger (created by the revision itself, so inside the same transaction) makes the
# registry's UPDATE fail: if the DDL had been committed before the stamp, its table and the trigger would stay.
STAMP_REFUSED = """
schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
op.create_table('stamp_probe', sa.Column('id', sa.Integer(), primary_key=True))
if schema == {broken!r}:
    op.execute("CREATE FUNCTION refuse_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN RAISE EXCEPTION 'registry stamp refused'; END $$")
    op.execute(f"CREATE TRIGGER refuse_stamp_{{schema}} BEFORE UPDATE ON public.tenant_schemas FOR EACH ROW "
               f"WHEN (NEW.schema_name = '{{schema}}') EXECUTE FUNCTION refuse_stamp()")
"""


def test_a_registry_stamp_that_fails_undoes_the_ddl_before_it(db, schemas, track):
    names = schemas(3)
    old, broken = tracks.tenant_head(), names[1]
    new = add_revision(track, "ee11stamprefused", STAMP_REFUSED.format(broken=broken),
                       "op.drop_table('stamp_probe')")
    try:
        report = migrate.upgrade_tenants(db.engine, only=names, location=track)
        assert sorted(report.upgraded) == [names[0], names[2]]
        assert list(report.failed) == [broken] and "registry stamp refused" in report.failed[broken]
        with db.engine.connect() as conn:
            assert schema_revisions(conn, names) == {names[0]: (new, new), broken: (old, old), names[2]: (new, new)}
            assert [n for n in names if table_exists(conn, n, "stamp_probe")] == [names[0], names[2]]
            assert conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.tenant_schemas'::regclass "
                                     "AND tgname LIKE 'refuse_stamp%'")).all() == []
            assert "registry stamp refused" in last_error(conn, broken)
    finally:  # should the stamp and the DDL ever come apart, don't leave the trigger on the shared registry
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER IF EXISTS refuse_stamp_{broken} ON public.tenant_schemas"))


# --- Ctrl-C during a real `flask tenants upgrade` -------------------------------------------------

# The revision adds a column; for the schemas named, it then says so in a file and waits for a release file.
WAITS_ON_A_FILE = """
import os, time
schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
op.add_column({table!r}, sa.Column('sigint_probe', sa.Integer(), nullable=True))
if schema in {waiting!r}:
    open(os.path.join({folder!r}, schema + '.reached'), 'w').close()
    deadline = time.monotonic() + 90
    while not os.path.exists(os.path.join({folder!r}, 'release')):
        if time.monotonic() > deadline:
            raise RuntimeError('never released')
        time.sleep(0.02)
"""

# The real command line, with the project's tenant track swapped for the test's copy of it.
FLASK_WITH_TRACK = """
import sys
from pathlib import Path
import tenants.tracks
tenants.tracks.TRACKS["tenant"] = Path(sys.argv[1])
from flask.cli import main
sys.argv = ["flask", *sys.argv[2:]]
main()
"""


@pytest.fixture(scope="module")
def scratch(service_urls):
    """A database of its own, so that `flask tenants upgrade` (which upgrades every client schema) meets only
    this test's schemas."""
    url = make_url(normalise_db_url(service_urls["DATABASE_URL"]))
    url = url.set(database=f"{url.database}_sigint")
    admin = create_engine(url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))

    drop()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    engine = create_engine(url, poolclass=NullPool)
    try:
        migrate.upgrade_shared(engine)
        yield engine
    finally:
        engine.dispose()
        drop()
        admin.dispose()


@pytest.fixture()
def scratch_schemas(scratch):
    names = [fresh_schema() for _ in range(6)]
    with scratch.begin() as conn:
        for name in names:
            provision_schema(conn, name, method="sql")
    yield names
    with scratch.begin() as conn:
        for name in names:
            drop_schema(conn, name)


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_during_an_upgrade_exits_130_and_leaves_every_schema_old_or_new(scratch, scratch_schemas, track,
                                                                             tmp_path, jobs):
    names, old = scratch_schemas, tracks.tenant_head()
    with scratch.connect() as conn:
        table = first_table(conn, names[0])
    # One worker: it waits inside the 4th schema. Two: each waits inside one of the 3rd and 4th.
    waiting = names[3:4] if jobs == 1 else names[2:4]
    folder = tmp_path / "signals"
    folder.mkdir()
    new = add_revision(track, "ee12waitsonafile", WAITS_ON_A_FILE.format(table=table, waiting=waiting,
                                                                         folder=str(folder)),
                       f"op.drop_column({table!r}, 'sigint_probe')")
    env = {**os.environ, "DATABASE_URL": scratch.url.render_as_string(hide_password=False),
           "ISOPATH_ENV": "test", "SECRET_KEY": "test-secret", "CACHE_DIR": str(tmp_path / "cache"),
           "SPARE_SCHEMAS": "0"}
    proc = subprocess.Popen([sys.executable, "-c", FLASK_WITH_TRACK, str(track), "--app", "wsgi", "tenants",
                             "upgrade", "--json", "--jobs", str(jobs)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_for(lambda: proc.poll() is not None or all((folder / f"{n}.reached").exists() for n in waiting),
                  timeout=120, what="the upgrade to reach the waiting revision")
        assert proc.poll() is None, f"the upgrade ended early: {proc.communicate()}"
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        if jobs > 1:
            # The workers ignore Ctrl-C and finish the schema in hand: let them.
            (folder / "release").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["failed"] == {}

    with scratch.connect() as conn:
        states = schema_revisions(conn, names)
        columns = {n: has_column(conn, n, table, "sigint_probe") for n in names}
    for n in names:
        assert states[n] in ((old, old), (new, new)), f"{n}: registry and alembic_version say {states[n]}"
        assert columns[n] == (states[n] == (new, new)), f"{n}: at {states[n]}, column present: {columns[n]}"
    upgraded = [n for n in names if states[n] == (new, new)]
    if jobs == 1:  # interrupted inside the 4th schema: it rolled back, the first three stay upgraded
        assert upgraded == names[:3]
    else:  # both schemas in hand were finished, nothing before them was skipped
        assert upgraded[:4] == names[:4]
    assert report["upgraded"] == len(upgraded) and report["not_reached"] == len(names) - len(upgraded)

    (folder / "release").touch()
    rerun = migrate.upgrade_tenants(scratch, location=track)
    assert (sorted(rerun.upgraded), rerun.failed, rerun.already_current) == \
        (sorted(set(names) - set(upgraded)), {}, len(upgraded))
    with scratch.connect() as conn:
        assert set(schema_revisions(conn, names).values()) == {(new, new)}
