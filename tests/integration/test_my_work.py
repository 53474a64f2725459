"""My work: the shared `work_items` index is exact after every kind of change, in the change's own transaction,
and /my-work lists exactly the current person's rows of it without visiting any client schema."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import event, select

import tenants
import workflows as wf
from app.jobs.summaries import refresh_all_summaries
from app.models import ClientConsultant, Document, GateReview, Task, WorkItem
from app.workspace import operations as ops
from gate_evidence_helpers import meet_gate_evidence

SETUP = ops.Actor(None, "setup")


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def index(db, client) -> set[tuple]:
    """The committed rows of the client: (kind, ref_id, user_id)."""
    db.session.rollback()
    return set(db.session.execute(select(WorkItem.kind, WorkItem.ref_id, WorkItem.user_id)
                                  .where(WorkItem.client_id == client.id)).all())


def tasks_of(db, client, stage, n):
    with inside(db, client):
        return [t.id for t in db.session.scalars(select(Task).where(Task.stage == stage).order_by(Task.position)
                                                 .limit(n))]


def complete(db, client, stage):
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == stage, Task.required)):
            if task.status not in wf.FINISHED_TASK_STATUSES:
                ops.set_task_status(task, "done", None, SETUP)
        for doc in db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", SETUP, role="top_management")
        meet_gate_evidence(stage)
        ops.save(client)


def listed(http) -> set[tuple]:
    """(kind, client slug, ref) of every item on /my-work."""
    resp = http.get("/my-work")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    return {(k, slug, int(ref)) for k, slug, ref in
            re.findall(r'data-kind="(\w+)" data-client="([\w-]+)" data-ref="(\d+)"', body)}


def nav_count(http) -> int:
    body = http.get("/", follow_redirects=True).get_data(as_text=True)  # any page: the count is in the top bar
    link = re.search(r'<a href="/my-work"[^>]*>My work(.*?)</a>', body, re.S)
    assert link, "no My work link in the top bar"
    m = re.search(r'<span class="nav-count">(\d+)<', link.group(1))
    return int(m.group(1)) if m else 0


def test_the_index_follows_every_kind_of_change(http, factory, db):
    w = factory.world()
    c, consultant, staff = w.client, w.consultant.id, w.staff.id
    assert index(db, c) == set()
    first, second = tasks_of(db, c, "initial_audit", 2)
    later = tasks_of(db, c, "system_design", 1)[0]

    http.login(w.consultant.email)
    for task_id in (first, second, later):  # assigned through the task's own form
        resp = http.submit(f"/c/{c.slug}/tasks/{task_id}/assignee", {"assignee_id": str(staff)},
                           form_url=f"/c/{c.slug}/tasks/{task_id}")
        assert resp.status_code == 302
    # The system design task is locked until the client gets there: nothing to do yet.
    assert index(db, c) == {("task", first, staff), ("task", second, staff)}
    http.logout()

    http.login(w.staff.email)
    resp = http.submit(f"/c/{c.slug}/tasks/{first}/status", {"status": "done"}, form_url=f"/c/{c.slug}/tasks/{first}")
    assert resp.status_code == 302
    assert index(db, c) == {("task", second, staff)}
    with inside(db, c):
        doc_id = db.session.scalars(select(Document.id).where(Document.stage == "initial_audit")
                                    .order_by(Document.id)).first()
    resp = http.submit(f"/c/{c.slug}/documents/{doc_id}/status", {"status": "in_review"},
                       form_url=f"/c/{c.slug}/documents")
    assert resp.status_code == 303
    assert index(db, c) == {("task", second, staff), ("document_approval", doc_id, consultant)}
    http.logout()

    http.login(w.consultant.email)
    resp = http.submit(f"/c/{c.slug}/documents/{doc_id}/status", {"status": "approved"},
                       form_url=f"/c/{c.slug}/documents")
    assert resp.status_code == 303
    assert index(db, c) == {("task", second, staff)}
    http.logout()

    complete(db, c, "initial_audit")  # the rest of the stage done (the second task too)
    assert index(db, c) == set()
    http.login(w.client_admin.email)
    resp = http.submit(f"/c/{c.slug}/gates/initial_audit/request", {"note": "Ready"}, form_url=f"/c/{c.slug}/gates")
    assert resp.status_code == 303
    with inside(db, c):
        review = db.session.scalar(select(GateReview.id).where(GateReview.status == "requested"))
    assert index(db, c) == {("gate_review", review, consultant)}
    http.logout()

    http.login(w.consultant.email)
    resp = http.submit(f"/c/{c.slug}/gates/initial_audit/approve", {"comment": "Fine"}, form_url=f"/c/{c.slug}/gates")
    assert resp.status_code == 303
    # The review is decided; the client is in system design now, so that task waits for the staff member.
    assert index(db, c) == {("task", later, staff)}


def test_reviews_go_to_each_assigned_consultant_or_the_owners_of_an_unassigned_client(factory, db):
    w = factory.world()
    both = factory.client(w.account, [w.consultant, w.other_consultant])
    nobody = factory.client(w.account, [])
    for client in (both, nobody):
        with inside(db, client):
            doc = db.session.scalars(select(Document).order_by(Document.id)).first()
            ops.set_document_status(doc, "in_review", SETUP, role="staff")
            ops.save(client)
    with inside(db, both):
        doc_id = db.session.scalars(select(Document.id).order_by(Document.id)).first()
    assert index(db, both) == {("document_approval", doc_id, w.consultant.id),
                               ("document_approval", doc_id, w.other_consultant.id)}
    assert index(db, nobody) == {("document_approval", doc_id, w.owner.id)}


def test_a_rolled_back_change_leaves_the_index_as_it_was(factory, db):
    w = factory.world()
    task_id = tasks_of(db, w.client, "initial_audit", 1)[0]
    before = index(db, w.client)
    with inside(db, w.client):
        task = db.session.get(Task, task_id)
        ops.assign_task(task, w.staff, SETUP)
        db.session.flush()
        ops.refresh_indexes(w.client)
        # Inside the transaction the row is there …
        assert db.session.scalar(select(WorkItem.user_id).where(WorkItem.client_id == w.client.id)) == w.staff.id
        db.session.rollback()
    # … and with it rolled back, so is the row.
    assert index(db, w.client) == before == set()


def test_a_refused_change_over_http_leaves_the_index_as_it_was(http, factory, db):
    w = factory.world()
    task_id = tasks_of(db, w.client, "initial_audit", 1)[0]
    with inside(db, w.client):
        ops.assign_task(db.session.get(Task, task_id), w.staff, SETUP)
        ops.save(w.client)
    before = index(db, w.client)
    http.login(w.staff.email)
    resp = http.submit(f"/c/{w.client.slug}/tasks/{task_id}/status", {"status": "not_applicable", "reason": ""},
                       form_url=f"/c/{w.client.slug}/tasks/{task_id}")
    assert resp.status_code == 422
    assert index(db, w.client) == before == {("task", task_id, w.staff.id)}


def test_the_nightly_repair_rebuilds_rows_after_consultants_change(factory, db):
    w = factory.world()
    with inside(db, w.client):
        doc = db.session.scalars(select(Document).order_by(Document.id)).first()
        doc_id = doc.id
        ops.set_document_status(doc, "in_review", SETUP, role="staff")
        ops.save(w.client)
    assert index(db, w.client) == {("document_approval", doc_id, w.consultant.id)}
    # The client changes hands in the shared schema only: no client schema is written.
    db.session.execute(ClientConsultant.__table__.delete().where(ClientConsultant.client_id == w.client.id))
    db.session.add(ClientConsultant(client_id=w.client.id, user_id=w.other_consultant.id))
    db.session.commit()
    assert refresh_all_summaries()["failed"] == []
    assert index(db, w.client) == {("document_approval", doc_id, w.other_consultant.id)}


def _mixed_world(factory, db):
    """A consultant with a gate review, a document to approve and a task at two clients; staff with a task."""
    w = factory.world()
    second = factory.client(w.account, [w.consultant])
    complete(db, second, "initial_audit")
    with inside(db, second):
        review = ops.request_gate_review("initial_audit", "", SETUP)
        db.session.flush()
        review_id = review.id
        ops.save(second)
    with inside(db, w.client):
        doc = db.session.scalars(select(Document).order_by(Document.id)).first()
        ops.set_document_status(doc, "in_review", SETUP, role="staff")
        first, other = db.session.scalars(select(Task).where(Task.stage == "initial_audit")
                                          .order_by(Task.position).limit(2)).all()
        ops.assign_task(first, w.consultant, SETUP)
        ops.assign_task(other, w.staff, SETUP)
        ids = doc.id, first.id, other.id
        ops.save(w.client)
    doc_id, mine, staffs = ids
    expected = {("gate_review", second.slug, review_id), ("document_approval", w.client.slug, doc_id),
                ("task", w.client.slug, mine)}
    return w, second, expected, ("task", w.client.slug, staffs)


def test_the_page_lists_exactly_the_persons_items_and_counts_them(http, factory, db):
    w, second, expected, staff_item = _mixed_world(factory, db)
    other = factory.world()  # another consultancy, with work of its own
    with inside(db, other.client):
        task = db.session.scalars(select(Task).order_by(Task.position)).first()
        ops.assign_task(task, other.consultant, SETUP)
        ops.save(other.client)

    http.login(w.consultant.email)
    assert listed(http) == expected
    assert nav_count(http) == 3
    body = http.get("/my-work").get_data(as_text=True)
    assert other.client.name not in body and other.client.slug not in body
    assert f'href="/c/{second.slug}/gates#gate-initial_audit"' in body
    assert body.index("Gate reviews") < body.index("Documents to approve") < body.index("Tasks assigned to you")
    http.logout()

    http.login(w.staff.email)  # client staff: their assigned task only
    assert listed(http) == {staff_item}
    assert nav_count(http) == 1
    http.logout()

    http.login(w.owner.email)  # both clients have a consultant: nothing waits for the owner
    body = http.get("/my-work").get_data(as_text=True)
    assert listed(http) == set() and "Nothing is waiting for you" in body
    http.logout()

    http.login(other.consultant.email)
    assert {(k, slug) for k, slug, _ in listed(http)} == {("task", other.client.slug)}


def test_a_row_of_a_client_no_longer_visible_is_not_shown(http, factory, db):
    w, _second, _expected, staff_item = _mixed_world(factory, db)
    db.session.execute(w.staff.client_memberships[0].__table__.delete()
                       .where(w.staff.client_memberships[0].__table__.c.user_id == w.staff.id))
    db.session.commit()  # left the company: the index still holds the row until the next rebuild
    http.login(w.staff.email)
    assert listed(http) == set()


def test_the_page_reads_only_the_shared_schema(http, factory, db, app):
    w, _second, expected, _ = _mixed_world(factory, db)
    http.login(w.consultant.email)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        resp = http.get("/my-work")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert resp.status_code == 200 and len(expected) == 3
    joined = "\n".join(statements)
    assert not re.search(r"\bclient_\d+\b", joined) and "search_path" not in joined.lower()
    assert tenants.binding.UNBOUND_SCHEMA not in joined
    for tenant_table in ("tasks", "documents", "gate_reviews"):
        assert not re.search(rf"\b(FROM|JOIN)\s+\S*\b{tenant_table}\b", joined), tenant_table
    assert len(statements) <= 8, statements  # the user, consultancies, the list and the count


def test_changes_committing_at_once_leave_an_exact_index(app, factory, db):
    """Eight assignments of different tasks of one client at the same instant: each rebuild waits for the one
    before (the summary row's lock), none fails on a duplicate row, and the index holds all eight."""
    from test_races import PARALLEL, _sessions

    w = factory.world()
    ids = tasks_of(db, w.client, "initial_audit", PARALLEL)
    sessions = _sessions(app, w.consultant.email)
    barrier = threading.Barrier(PARALLEL)
    slug, staff = w.client.slug, str(w.staff.id)  # read here: the threads have no app context of their own

    def one(pair):
        (http, token), task_id = pair
        barrier.wait()
        return http.client.post(f"/c/{slug}/tasks/{task_id}/assignee",
                                data={"assignee_id": staff, "csrf_token": token}).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(one, zip(sessions, ids)))
    assert statuses == [302] * PARALLEL
    assert index(db, w.client) == {("task", task_id, w.staff.id) for task_id in ids}
