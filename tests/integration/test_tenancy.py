"""The tenancy core against a real PostgreSQL: provisioning, binding, failing closed, upgrades."""
import pytest
from sqlalchemy import create_engine, func, select, text

import tenants
from app.refusal import Refusal
from app.clients import create_client
from app.models import ActivityEntry, Client, ClientSummary, Stage
from tenants import migrate, tracks
from tenants.provisioning import provision_schema
from tenants.registry import tenant_schemas


def _schema_exists(db, name):
    return bool(db.session.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": name}).scalar())


def test_provisioning_creates_schema_at_head_with_registry_rows(factory, db):
    account = factory.account()
    client = factory.client(account, name="Provisioned Ltd")
    assert client.slug == "provisioned-ltd"
    assert client.schema_name == f"client_{client.id}"
    assert _schema_exists(db, client.schema_name)
    rev = db.session.execute(select(tenant_schemas.c.revision).where(
        tenant_schemas.c.schema_name == client.schema_name)).scalar()
    assert rev == tracks.tenant_head()
    own_version = db.session.execute(text(f'SELECT version_num FROM "{client.schema_name}".alembic_version')).scalar()
    assert own_version == rev
    assert db.session.get(ClientSummary, client.id).stage == "initial_audit"
    with tenants.tenant_scope(db.session, client.schema_name):
        stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
        assert [s.status for s in stages] == ["current", "upcoming", "upcoming", "upcoming", "upcoming"]


def test_failed_client_creation_leaves_no_schema_and_no_registry_row(factory, db):
    account = factory.account()
    # Occupy the schema name the next client would get, so provisioning fails half-way.
    next_id = db.session.execute(text("SELECT last_value + 1 FROM clients_id_seq")).scalar()
    with db.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "client_{next_id}"'))
    try:
        with pytest.raises(Exception):
            create_client(db.session.get(type(account), account.id), "Half Made Ltd")
        db.session.rollback()
        assert db.session.scalar(select(Client).where(Client.slug == "half-made-ltd")) is None
        assert db.session.get(ClientSummary, next_id) is None
        assert db.session.execute(select(tenant_schemas).where(
            tenant_schemas.c.schema_name == f"client_{next_id}")).first() is None
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "client_{next_id}" CASCADE'))


def test_duplicate_slug_is_refused_with_a_message_and_creates_nothing(factory, db):
    account = factory.account()
    factory.client(account, name="Same Name GmbH")
    before = db.session.scalar(select(func.count()).select_from(tenant_schemas))
    with pytest.raises(Refusal, match="already taken"):
        create_client(account, "Same  Name gmbh!")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(tenant_schemas)) == before


def test_tenant_query_without_a_bound_client_raises(db):
    with pytest.raises(tenants.NoTenantBound):
        db.session.scalars(select(Stage)).all()
    db.session.rollback()


def test_raw_sql_without_a_bound_client_cannot_see_tenant_tables(db):
    with pytest.raises(Exception, match="does not exist"):
        db.session.execute(text("SELECT count(*) FROM stages"))
    db.session.rollback()


def test_binding_survives_a_commit_inside_its_scope_and_nothing_after(factory, db):
    account = factory.account()
    client = factory.client(account)
    with tenants.tenant_scope(db.session, client.schema_name):
        db.session.add(ActivityEntry(actor_name="t", action="note", object_type="client", summary="marker-1"))
        db.session.commit()
        # A new transaction in the same scope is bound again (ORM and raw SQL alike).
        assert db.session.scalar(select(func.count()).select_from(ActivityEntry)
                                 .where(ActivityEntry.summary == "marker-1")) == 1
        assert db.session.execute(text("SELECT count(*) FROM activity_log WHERE summary = 'marker-1'")).scalar() == 1
    assert tenants.current_schema() is None
    with pytest.raises(tenants.NoTenantBound):
        db.session.scalars(select(ActivityEntry)).all()
    db.session.rollback()


def test_binding_does_not_leak_through_the_connection_pool(factory, db, service_urls):
    """One pooled connection, two clients in turn, then none: each sees only its own rows."""
    from app.config import normalise_db_url

    account = factory.account()
    a, b = factory.client(account), factory.client(account)
    engine = create_engine(normalise_db_url(service_urls["DATABASE_URL"]), pool_size=1, max_overflow=0)
    from sqlalchemy.orm import sessionmaker

    factory_ = sessionmaker(engine)
    tenants.install(engine, factory_)
    try:
        with factory_() as s:
            with tenants.tenant_scope(s, a.schema_name):
                s.add(ActivityEntry(actor_name="t", action="note", object_type="client", summary="only in A"))
                s.commit()
                pid_a = s.execute(text("SELECT pg_backend_pid()")).scalar()
        with factory_() as s:
            with tenants.tenant_scope(s, b.schema_name):
                assert s.execute(text("SELECT pg_backend_pid()")).scalar() == pid_a  # same pooled connection
                assert s.scalars(select(ActivityEntry).where(ActivityEntry.summary == "only in A")).all() == []
                assert s.execute(text("SELECT count(*) FROM activity_log WHERE summary = 'only in A'")).scalar() == 0
                assert s.execute(text("SHOW search_path")).scalar().startswith(f'"{b.schema_name}"')
        with factory_() as s:
            assert s.execute(text("SHOW search_path")).scalar() == '"$user", public'
            with pytest.raises(tenants.NoTenantBound):
                s.scalars(select(ActivityEntry)).all()
    finally:
        engine.dispose()


def test_binding_refuses_a_second_client_in_the_same_scope(factory, db):
    account = factory.account()
    a, b = factory.client(account), factory.client(account)
    with tenants.tenant_scope(db.session, a.schema_name):
        with pytest.raises(RuntimeError, match="already bound"):
            tenants.bind_tenant(db.session, b.schema_name)


def test_bind_rejects_names_that_are_not_client_schemas(db):
    for bad in ("public", "client_1; DROP", "Client_1", "pg_catalog"):
        with pytest.raises(ValueError):
            tenants.bind_tenant(db.session, bad)


def _downgrade(db, schemas):
    report = migrate.upgrade_tenants(db.engine, target="base", only=schemas)
    assert not report.failed and sorted(report.upgraded) == sorted(schemas)
    # Their workspaces are gone for good (an upgrade brings back empty tables): archived, so that the jobs
    # that walk every active client (the nightly repair) don't meet them in other tests of the session.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE clients SET status = 'archived', archived_at = now() WHERE schema_name = ANY(:s)"),
                     {"s": list(schemas)})


def test_upgrade_over_several_schemas_skips_a_failing_one_and_a_rerun_finishes(factory, db):
    account = factory.account()
    clients = [factory.client(account) for _ in range(4)]
    schemas = [c.schema_name for c in clients]
    _downgrade(db, schemas)
    broken = schemas[1]
    with db.engine.begin() as conn:  # something in the way of the first revision's CREATE TABLE
        conn.execute(text(f'CREATE TABLE "{broken}".activity_log (x int)'))

    report = migrate.upgrade_tenants(db.engine, only=schemas)
    assert sorted(report.upgraded) == sorted(s for s in schemas if s != broken)
    assert list(report.failed) == [broken] and "already exists" in report.failed[broken]
    with db.engine.connect() as conn:
        states = {s.schema_name: s for s in migrate.status(conn) if s.schema_name in schemas}
    head = tracks.tenant_head()
    assert states[broken].revision is None and "already exists" in states[broken].last_error
    assert all(states[s].revision == head for s in schemas if s != broken)
    # The failed schema was rolled back whole: no half-created tables.
    with db.engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": broken}).scalars().all()
        version = conn.execute(text(f'SELECT version_num FROM "{broken}".alembic_version')).scalar()
    assert sorted(tables) == ["activity_log", "alembic_version"] and version is None

    with db.engine.begin() as conn:
        conn.execute(text(f'DROP TABLE "{broken}".activity_log'))
    rerun = migrate.upgrade_tenants(db.engine, only=schemas)
    assert rerun.upgraded == [broken] and rerun.already_current == 3 and not rerun.failed
    with db.engine.connect() as conn:
        state = next(s for s in migrate.status(conn) if s.schema_name == broken)
    assert state.revision == head and state.last_error is None


def test_upgrade_in_worker_processes(factory, db):
    account = factory.account()
    schemas = [factory.client(account).schema_name for _ in range(3)]
    _downgrade(db, schemas)
    report = migrate.upgrade_tenants(db.engine, only=schemas, jobs=2)
    assert sorted(report.upgraded) == sorted(schemas) and not report.failed


def test_upgrade_with_nothing_to_do_touches_no_schema(factory, db):
    account = factory.account()
    schemas = [factory.client(account).schema_name for _ in range(2)]
    report = migrate.upgrade_tenants(db.engine, only=schemas)
    assert report.upgraded == [] and report.already_current == 2


def test_provisioning_in_a_rolled_back_transaction_leaves_nothing(db):
    with db.engine.connect() as conn:
        trans = conn.begin()
        assert provision_schema(conn, "client_999998") == tracks.tenant_head()
        trans.rollback()
        assert conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = 'client_999998'")).first() is None
        assert conn.execute(select(tenant_schemas).where(tenant_schemas.c.schema_name == "client_999998")).first() is None
