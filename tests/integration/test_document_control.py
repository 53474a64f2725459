"""Document control (7.5) through HTTP: the register, versions with one effective, top management's approvals,
record instances, periodic review, read acknowledgement; and the migration that made today's documents version 1."""
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

import tenants
from app import clock
from app.models import ClientMember, Document, DocumentVersion, RecordEntry, User
from app.workspace import operations as ops
from conftest import PASSWORD, unique


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def doc_id(db, client, key):
    with inside(db, client):
        return db.session.scalar(select(Document.id).where(Document.key == key))


def versions(db, client, document_id):
    with inside(db, client):
        db.session.expire_all()
        return [(v.number, v.status) for v in db.session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id).order_by(DocumentVersion.number))]


def register(db, client, document_id):
    with inside(db, client):
        db.session.expire_all()
        d = db.session.get(Document, document_id)
        return {"status": d.status, "review_due_on": d.review_due_on, "identifier": d.identifier,
                "approver_role": d.approver_role, "owner_id": d.owner_id, "approved_at": d.approved_at}


def first_version_id(db, client, document_id, number=1):
    with inside(db, client):
        return db.session.scalar(select(DocumentVersion.id).where(DocumentVersion.document_id == document_id,
                                                                   DocumentVersion.number == number))


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture()
def w(factory):
    world = factory.world()
    world.top = factory.member(world.client, "top_management")
    return world


def page(slug, document_id):
    return f"/c/{slug}/documents/{document_id}"


def test_every_template_document_is_a_register_entry_with_a_first_draft(w, db, http):
    with inside(db, w.client):
        docs = db.session.scalars(select(Document)).all()
        assert docs and all(d.identifier and len(d.versions) == 1 and d.versions[0].status == "draft" for d in docs)
        assert {d.key for d in docs if d.approver_role == "top_management"} == {
            "quality_policy", "quality_objectives", "qms_scope", "management_review_minutes"}
        assert len({d.identifier for d in docs}) == len(docs)
    http.login(w.staff.email)
    listing = text_of(http.get(f"/c/{w.client.slug}/documents"))
    assert "DOC-001" in listing and "REC-001" in listing and "approved by top management" in listing


def test_a_document_goes_from_draft_to_approved_by_top_management_and_the_old_version_is_superseded(w, db, http):
    slug, policy = w.client.slug, doc_id(db, w.client, "quality_policy")
    http.login(w.staff.email)
    v1 = first_version_id(db, w.client, policy)
    resp = http.submit(f"{page(slug, policy)}/versions/{v1}/edit",
                       {"body": "We deliver on time and improve.", "change_reason": "First text"}, form_url=page(slug, policy))
    assert resp.status_code == 303
    assert http.submit(f"{page(slug, policy)}/versions/{v1}/status", {"status": "in_review"},
                       form_url=page(slug, policy)).status_code == 303
    assert register(db, w.client, policy)["status"] == "in_review"
    http.logout()

    # the consultant may not approve the policy: a clear reason, nothing changes
    http.login(w.consultant.email)
    resp = http.submit(f"{page(slug, policy)}/versions/{v1}/status", {"status": "approved"}, form_url=page(slug, policy))
    assert resp.status_code == 403 and "approved by the client&#39;s top management, not by the consultant" in text_of(resp)
    assert versions(db, w.client, policy) == [(1, "in_review")]
    http.logout()

    http.login(w.top.email)
    assert "Approve" in text_of(http.get(page(slug, policy)))
    assert http.submit(f"{page(slug, policy)}/versions/{v1}/status", {"status": "approved"},
                       form_url=page(slug, policy)).status_code == 303
    reg = register(db, w.client, policy)
    assert reg["status"] == "approved" and reg["review_due_on"] == clock.today().replace(year=clock.today().year + 1)

    # a new version: the first stays effective until the second is approved, then it is superseded
    resp = http.submit(f"{page(slug, policy)}/versions", {"body": "Version two.", "change_reason": "Objectives added"},
                       form_url=page(slug, policy))
    assert resp.status_code == 303
    assert versions(db, w.client, policy) == [(1, "approved"), (2, "draft")]
    assert register(db, w.client, policy)["status"] == "approved"  # the gates still see it approved
    v2 = first_version_id(db, w.client, policy, 2)
    assert http.submit(f"{page(slug, policy)}/versions/{v2}/status", {"status": "approved"},
                       form_url=page(slug, policy)).status_code == 303
    assert versions(db, w.client, policy) == [(1, "superseded"), (2, "approved")]
    shown = text_of(http.get(page(slug, policy)))
    assert "Version two." in shown and "Superseded" in shown


def test_an_approved_version_is_immutable_and_a_new_draft_is_offered(w, db, http):
    slug, playbook = w.client.slug, doc_id(db, w.client, "service_delivery_playbook")
    v1 = first_version_id(db, w.client, playbook)
    http.login(w.consultant.email)
    http.submit(f"{page(slug, playbook)}/versions/{v1}/edit", {"body": "How we deliver.", "change_reason": "First"},
                form_url=page(slug, playbook))
    assert http.submit(f"{page(slug, playbook)}/versions/{v1}/status", {"status": "approved"},
                       form_url=page(slug, playbook)).status_code == 303
    resp = http.submit(f"{page(slug, playbook)}/versions/{v1}/edit",
                       {"body": "Sneaky change.", "change_reason": "Tweak"}, form_url=page(slug, playbook))
    body = text_of(resp)
    assert resp.status_code == 409 and "start a new draft" in body and "Sneaky change." in body
    assert 'action="/c/%s/documents/%d/versions"' % (slug, playbook) in body  # the new-draft form, filled in
    with inside(db, w.client):
        assert db.session.get(DocumentVersion, v1).body == "How we deliver."
    # back to draft through the register's quick control is refused the same way
    resp = http.submit(f"/c/{slug}/documents/{playbook}/status", {"status": "draft"}, form_url=f"/c/{slug}/documents")
    assert resp.status_code == 409 and "start a new draft" in text_of(resp)


def test_bad_versions_change_nothing(w, db, http, app):
    slug, playbook = w.client.slug, doc_id(db, w.client, "service_delivery_playbook")
    v1 = first_version_id(db, w.client, playbook)
    http.login(w.consultant.email)
    http.submit(f"{page(slug, playbook)}/versions/{v1}/status", {"status": "obsolete"}, form_url=page(slug, playbook))
    url, form = f"{page(slug, playbook)}/versions", page(slug, playbook)
    resp = http.submit(url, {"body": " ", "change_reason": "Nothing"}, form_url=form)
    assert resp.status_code == 422 and "can&#39;t be empty" in text_of(resp)
    resp = http.submit(url, {"body": "Text", "change_reason": ""}, form_url=form)
    assert resp.status_code == 422 and "change reason" in text_of(resp) and "Text" in text_of(resp)
    exe = {"body": "", "change_reason": "A program", "file": (io.BytesIO(b"MZ\x90\x00rest"), "setup.pdf")}
    resp = http.submit(url, exe, form_url=form, content_type="multipart/form-data")
    assert resp.status_code == 422 and "looks like a program" in text_of(resp)
    big = app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 1
    resp = http.submit(url, {"body": "", "change_reason": "Huge", "file": (io.BytesIO(b"%PDF" + b"0" * big), "big.pdf")},
                       form_url=form, content_type="multipart/form-data")
    assert resp.status_code == 413
    assert versions(db, w.client, playbook) == [(1, "obsolete")]
    # a file alone is a version; it is downloaded as it was uploaded
    resp = http.submit(url, {"body": "", "change_reason": "Scanned copy",
                             "file": (io.BytesIO(b"%PDF-1.4 playbook"), "playbook.pdf")},
                       form_url=form, content_type="multipart/form-data")
    assert resp.status_code == 303
    v2 = first_version_id(db, w.client, playbook, 2)
    got = http.get(f"{page(slug, playbook)}/versions/{v2}/file")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 playbook" and got.mimetype == "application/pdf"
    # a second draft beside the first is refused
    resp = http.submit(url, {"body": "Another", "change_reason": "Again"}, form_url=form)
    assert resp.status_code == 409


def test_one_effective_version_is_enforced_by_the_database(w, db):
    playbook = doc_id(db, w.client, "service_delivery_playbook")
    with inside(db, w.client):
        db.session.execute(text("UPDATE document_versions SET status = 'approved', approved_at = now() "
                                "WHERE document_id = :d"), {"d": playbook})
        db.session.add(DocumentVersion(document_id=playbook, number=2, status="approved", approved_at=clock.now(),
                                       created_by_name="Test"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_top_management_is_a_role_people_can_be_invited_with(w, db, http, mailbox):
    http.login(w.client_admin.email)
    form = text_of(http.get(f"/c/{w.client.slug}/people"))
    assert 'value="top_management"' in form and "Top management" in form
    email = f"{unique('director')}@client.example"
    assert http.submit(f"/c/{w.client.slug}/people", {"email": email, "role": "top_management"}).status_code == 302
    link = mailbox.link_in(mailbox.last_to(email), "/invite/")
    http.logout()
    http.submit(link, {"name": "Dana Director", "password": PASSWORD, "confirm": PASSWORD})
    user = db.session.scalar(select(User).where(User.email == email))
    assert db.session.get(ClientMember, (w.client.id, user.id)).role == "top_management"
    assert http.get(f"/c/{w.client.slug}/documents").status_code == 200


def test_records_accrue_as_dated_instances_listed_by_date(w, db, http):
    slug, reports = w.client.slug, doc_id(db, w.client, "kpi_reports")
    url, form = f"{page(slug, reports)}/records", page(slug, reports)
    http.login(w.staff.email)
    today = clock.today()
    for day, note in ((today - timedelta(days=60), "KPI report September"), (today - timedelta(days=30), "KPI report October")):
        assert http.submit(url, {"occurred_on": day.isoformat(), "note": note}, form_url=form).status_code == 303
    resp = http.submit(url, {"occurred_on": today.isoformat(), "note": "",
                             "file": (io.BytesIO(b"month,value\n11,93\n"), "kpi-november.csv")},
                       form_url=form, content_type="multipart/form-data")
    assert resp.status_code == 303
    shown = text_of(http.get(form))
    assert shown.index("kpi-november.csv") < shown.index("KPI report October") < shown.index("KPI report September")
    future = http.submit(url, {"occurred_on": (today + timedelta(days=2)).isoformat(), "note": "Tomorrow's"}, form_url=form)
    assert future.status_code == 422 and "future" in text_of(future) and "Tomorrow&#39;s" in text_of(future)
    assert http.submit(url, {"occurred_on": "soon", "note": "x"}, form_url=form).status_code == 422
    with inside(db, w.client):
        assert db.session.scalar(select(text("count(*)")).select_from(RecordEntry)) == 3
        entry = db.session.scalars(select(RecordEntry).where(RecordEntry.filename.is_not(None))).one()
        entry_id = entry.id
    assert http.get(f"{page(slug, reports)}/records/{entry_id}/file").data == b"month,value\n11,93\n"
    # a document takes versions, not instances
    playbook = doc_id(db, w.client, "service_delivery_playbook")
    assert http.submit(f"{page(slug, playbook)}/records", {"occurred_on": today.isoformat(), "note": "x"},
                       form_url=page(slug, playbook)).status_code == 409


def test_reviewed_no_change_needed_resets_the_clock_and_overdue_reviews_show(w, db, http):
    slug, playbook = w.client.slug, doc_id(db, w.client, "service_delivery_playbook")
    v1 = first_version_id(db, w.client, playbook)
    http.login(w.consultant.email)
    resp = http.submit(f"{page(slug, playbook)}/reviewed", {}, form_url=page(slug, playbook))
    assert resp.status_code == 409  # nothing approved yet
    http.submit(f"{page(slug, playbook)}/versions/{v1}/status", {"status": "approved"}, form_url=page(slug, playbook))
    today = clock.today()
    assert register(db, w.client, playbook)["review_due_on"] == today.replace(year=today.year + 3)
    with inside(db, w.client):
        db.session.get(Document, playbook).review_due_on = today - timedelta(days=3)
        db.session.commit()
    listing = text_of(http.get(f"/c/{slug}/documents"))
    assert "Reviews due" in listing and "Review overdue" in listing
    assert http.submit(f"{page(slug, playbook)}/reviewed", {}, form_url=page(slug, playbook)).status_code == 303
    assert register(db, w.client, playbook)["review_due_on"] == today.replace(year=today.year + 3)
    assert versions(db, w.client, playbook) == [(1, "approved")]
    assert "Review overdue" not in text_of(http.get(f"/c/{slug}/documents"))


def test_read_and_acknowledge_shows_who_has_not(w, db, http):
    slug, playbook = w.client.slug, doc_id(db, w.client, "service_delivery_playbook")
    v1 = first_version_id(db, w.client, playbook)
    http.login(w.consultant.email)
    http.submit(f"{page(slug, playbook)}/versions/{v1}/edit",
                {"body": "Read me.", "change_reason": "First", "needs_acknowledgement": "1"}, form_url=page(slug, playbook))
    http.submit(f"{page(slug, playbook)}/versions/{v1}/status", {"status": "approved"}, form_url=page(slug, playbook))
    shown = text_of(http.get(page(slug, playbook)))
    assert re.search(r"not yet confirmed by [^<]*Staff", shown) and "Client_Admin" in shown
    http.logout()
    http.login(w.staff.email)
    url = f"{page(slug, playbook)}/versions/{v1}/acknowledge"
    assert http.submit(url, {}, form_url=page(slug, playbook)).status_code == 303
    again = http.submit(url, {}, form_url=page(slug, playbook))
    assert again.status_code == 409 and "already acknowledged" in text_of(again)
    shown = text_of(http.get(page(slug, playbook)))
    assert re.search(r"not yet confirmed by [^<]*", shown) and "Staff" not in re.search(
        r"not yet confirmed by ([^<]*)", shown).group(1)


def test_register_fields_are_kept_and_checked(w, db, http):
    slug, policy = w.client.slug, doc_id(db, w.client, "quality_policy")
    http.login(w.client_admin.email)
    data = {"identifier": "QP-01", "title": "Quality policy", "kind": "document", "owner_id": str(w.top.id),
            "approver_role": "consultant", "origin": "internal", "retention": "Superseded versions: 3 years"}
    resp = http.submit(f"{page(slug, policy)}/register", data, form_url=page(slug, policy))
    assert resp.status_code == 422 and "top management" in text_of(resp) and "Superseded versions: 3 years" in text_of(resp)
    resp = http.submit(f"{page(slug, policy)}/register", {**data, "approver_role": "top_management"},
                       form_url=page(slug, policy))
    assert resp.status_code == 303
    reg = register(db, w.client, policy)
    assert reg["identifier"] == "QP-01" and reg["owner_id"] == w.top.id
    other = doc_id(db, w.client, "service_delivery_playbook")
    resp = http.submit(f"{page(slug, other)}/register", {**data, "title": "Playbook"}, form_url=page(slug, other))
    assert resp.status_code == 422 and "already QP-01" in text_of(resp)
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"{page(slug, policy)}/register", data, form_url=page(slug, policy)).status_code == 403


def test_migration_turns_each_existing_document_into_version_one(db, factory):
    """Take one client's schema back to before document control, give its documents statuses as they were
    set then, and upgrade: each is a register entry whose status is its version 1."""
    from tenants.migrate import migrate_schema_in_transaction

    w = factory.world()
    schema = w.client.schema_name
    with db.engine.begin() as conn:
        migrate_schema_in_transaction(conn, schema, "a7d3c9e15b42")
        conn.execute(text(f'UPDATE "{schema}".documents SET status = CASE key WHEN \'quality_policy\' THEN \'approved\' '
                          f'WHEN \'qms_scope\' THEN \'in_review\' WHEN \'risk_register\' THEN \'obsolete\' '
                          f'ELSE status END, approved_at = CASE key WHEN \'quality_policy\' THEN now() END'))
        before = dict(conn.execute(text(f'SELECT key, status FROM "{schema}".documents')).all())
        migrate_schema_in_transaction(conn, schema, "head")
        rows = conn.execute(text(
            f'SELECT d.key, d.status, d.identifier, d.approver_role, d.review_due_on, v.number, v.status AS vs '
            f'FROM "{schema}".documents d JOIN "{schema}".document_versions v ON v.document_id = d.id')).all()
    assert {r.key: r.vs for r in rows} == before and len(rows) == len(before)
    assert all(r.number == 1 and r.identifier and r.status == r.vs for r in rows)
    policy = next(r for r in rows if r.key == "quality_policy")
    assert policy.approver_role == "top_management" and policy.review_due_on is not None
    # the gate rules read the same statuses as before
    with inside(db, w.client):
        assert {k: s for k, s in db.session.execute(select(Document.key, Document.status))} == before


def test_top_managements_documents_wait_in_its_my_work_not_the_consultants(w, db):
    from app.models import WorkItem

    with inside(db, w.client):
        for key in ("quality_policy", "service_delivery_playbook"):
            doc = db.session.scalar(select(Document).where(Document.key == key))
            ops.set_document_status(doc, "in_review", ops.Actor(None, "Setup"), "staff")
        ops.save(w.client)
    rows = db.session.execute(select(WorkItem.user_id, WorkItem.title).where(WorkItem.client_id == w.client.id,
                                                                             WorkItem.kind == "document_approval"))
    assert set(rows) == {(w.top.id, "Quality policy"), (w.consultant.id, "Service delivery playbook")}


def test_only_the_approver_withdraws_an_effective_version(w, db, http):
    slug, policy = w.client.slug, doc_id(db, w.client, "quality_policy")
    v1 = first_version_id(db, w.client, policy)
    with inside(db, w.client):
        ops.set_version_status(db.session.get(DocumentVersion, v1), "approved", ops.Actor(w.top.id, "Top"),
                               "top_management")
        ops.save(w.client)
    http.login(w.staff.email)
    resp = http.submit(f"{page(slug, policy)}/versions/{v1}/status", {"status": "obsolete"}, form_url=page(slug, policy))
    assert resp.status_code == 403 and versions(db, w.client, policy) == [(1, "approved")]
