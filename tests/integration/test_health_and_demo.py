"""Health check and demo data."""
from sqlalchemy import select

from app.models import Account, Client, ClientSummary, User
from conftest import make_config


def test_healthz_ok(http):
    resp = http.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_what_is_down(service_urls, tmp_path):
    from app import create_app

    broken = dict(service_urls, REDIS_URL=f"unix://{tmp_path}/no-such.sock")
    app = create_app(make_config(broken))
    resp = app.test_client().get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["database"] == "ok" and body["redis"].startswith("down")


def test_demo_data_is_complete_and_idempotent(ctx, db):
    from app.demo import DEMO_PASSWORD, seed_demo
    from app.security import verify_password

    seed_demo()
    assert seed_demo() is False  # second run creates nothing
    northwind = db.session.scalar(select(Account).where(Account.name == "Northwind Quality Partners"))
    harbor = db.session.scalar(select(Account).where(Account.name == "Harbor Compliance"))
    nw_clients = db.session.scalars(select(Client).where(Client.account_id == northwind.id)).all()
    assert len(nw_clients) == 12  # the README's "sees all 12 clients"
    assert {"acme-logistics", "brightside-dental"} <= {c.slug for c in nw_clients}
    stages = {db.session.get(ClientSummary, c.id).stage for c in nw_clients}
    assert len(stages) == 5
    assert len(db.session.scalars(select(Client).where(Client.account_id == harbor.id)).all()) == 3
    for email in ("owner@northwind.example", "consultant@northwind.example", "owner@harbor.example",
                  "staff@acme-logistics.example", "staff@brightside-dental.example"):
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None and verify_password(user.password_hash, DEMO_PASSWORD)


def test_demo_clients_in_implementation_keep_their_reports_at_a_rhythm_with_the_next_one_due(ctx, db):
    from datetime import timedelta

    import tenants
    from app import clock
    from app.demo import HARBOR_CLIENTS, NORTHWIND_CLIENTS, STAGE_KEYS, seed_demo
    from app.models import ClientMember, Document, Stage, WorkItem
    from app.workspace import operations as ops

    seed_demo()
    # The clients the demo put in implementation (other tests may since have moved demo clients on).
    slugs = [slug for entries in (NORTHWIND_CLIENTS, HARBOR_CLIENTS) for i, (_, slug) in enumerate(entries)
             if STAGE_KEYS[i % len(STAGE_KEYS)] == "implementation"]
    implementing = db.session.scalars(select(Client).where(Client.slug.in_(slugs))).all()
    assert len(implementing) == len(slugs) >= 2
    for client in implementing:
        lead = db.session.scalar(select(ClientMember.user_id).where(ClientMember.client_id == client.id,
                                                                    ClientMember.role == "client_admin"))
        with tenants.tenant_scope(db.session, client.schema_name):
            entered = db.session.get(Stage, "implementation").entered_at.date()
            kept = {d.key: (d.record_frequency, d.expected_since, d.owner_id, ops.next_record_due(d))
                    for d in db.session.scalars(select(Document).where(Document.record_frequency.is_not(None)))}
        assert {k: v[:3] for k, v in kept.items()} == {"kpi_reports": ("monthly", entered, lead),
                                                       "customer_satisfaction_results": ("quarterly", entered, lead)}
        for key, (_, _, _, due) in kept.items():
            with tenants.tenant_scope(db.session, client.schema_name):
                doc_id = db.session.scalar(select(Document.id).where(Document.key == key))
            row = db.session.get(WorkItem, (client.id, "record_due", doc_id, lead))
            # On My work once within the 60 days of dated items (workflows/due_dates.HORIZON_DAYS).
            assert (row.due_on if row else None) == (due if due <= clock.today() + timedelta(days=60) else None)
