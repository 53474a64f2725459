"""Double clicks and races: eight identical requests at once write one record, and the others are refused
(409; a gate form's refusal is a redirect to the gates page, which flashes the reason).

Each request comes from its own logged-in test client on its own thread, released together by a barrier,
against the real PostgreSQL: what serialises them is the app's lock (SELECT … FOR UPDATE on the client's
settings row), the one-pending-review index and the row count of a delete.
"""
from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from werkzeug.datastructures import FileStorage

import tenants
from app.models import ActivityEntry, Attachment, Document, Finding, GapRating, GateReview, Stage, Task
from app.workspace import operations as ops
from conftest import HttpClient
from gate_evidence_helpers import meet_gate_evidence

PARALLEL = 8


def _sessions(app, email: str, n: int = PARALLEL) -> list[tuple[HttpClient, str]]:
    """`n` test clients of one user who double-clicked: each holds a copy of the same logged-in session.

    The login runs on a thread of its own: a request made on the test's thread would share the test's app
    context (its `g`, so its CSRF token, and its database session)."""
    def login():
        http = HttpClient(app.test_client())
        http.login(email)
        return http, http.csrf("/")

    with ThreadPoolExecutor(1) as pool:
        first, token = pool.submit(login).result()
    cookie = first.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    sessions = [(first, token)]
    for _ in range(n - 1):
        http = HttpClient(app.test_client())
        http.client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
        sessions.append((http, token))
    return sessions


def _fire(sessions, url: str, data: dict) -> list:
    """POST `data` to `url` from every session at the same instant; the responses, in session order."""
    barrier = threading.Barrier(len(sessions))

    def one(session):
        http, token = session
        barrier.wait()
        return http.client.post(url, data={**data, "csrf_token": token})

    with ThreadPoolExecutor(len(sessions)) as pool:
        return list(pool.map(one, sessions))


def _statuses(responses) -> list[int]:
    return sorted(r.status_code for r in responses)


def _count(db, client, model, *where) -> int:
    with tenants.tenant_scope(db.session, client.schema_name):
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.rollback()
        return n


def _entries(db, client, action: str) -> int:
    return _count(db, client, ActivityEntry, ActivityEntry.action == action)


def _complete(db, client, stage: str) -> None:
    actor = ops.Actor(None, "setup")
    with tenants.tenant_scope(db.session, client.schema_name):
        for task in db.session.scalars(select(Task).where(Task.stage == stage, Task.required)):
            ops.set_task_status(task, "done", None, actor)
        for doc in db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", actor, role="top_management")
        meet_gate_evidence(stage)
        ops.save(client)


def _requested(db, client, stage: str = "initial_audit") -> None:
    _complete(db, client, stage)
    with tenants.tenant_scope(db.session, client.schema_name):
        ops.request_gate_review(stage, "", ops.Actor(None, "setup"))
        ops.save(client)


def _passed(db, client, stage: str = "initial_audit") -> None:
    _complete(db, client, stage)
    with tenants.tenant_scope(db.session, client.schema_name):
        ops.approve_gate(stage, "", ops.Actor(None, "setup"))
        ops.save(client)


def _stages(db, client) -> dict[str, str]:
    with tenants.tenant_scope(db.session, client.schema_name):
        found = {st.key: st.status for st in db.session.scalars(select(Stage))}
        db.session.rollback()
        return found


def _one_won_the_rest_sent_to_the_gates(sessions, responses, says: str) -> None:
    """Gate forms: every request is redirected (303) to the gates page, which tells exactly one it worked and
    the others why not (read by each session, on a thread of its own like its request)."""
    assert _statuses(responses) == [303] * PARALLEL, _statuses(responses)

    def page(pair):
        (http, _), resp = pair
        return http.client.get(resp.headers["Location"]).get_data(as_text=True)

    with ThreadPoolExecutor(1) as pool:
        pages = list(pool.map(page, zip(sessions, responses)))
    refused = [p for p in pages if says in p]
    assert len(refused) == PARALLEL - 1, [p[:300] for p in pages]
    assert all('class="flash error"' in p for p in refused)


def _one_won_the_rest_409(responses, success: int, says: str) -> None:
    assert _statuses(responses) == sorted([success] + [409] * (PARALLEL - 1)), _statuses(responses)
    for r in responses:
        if r.status_code == 409:
            assert says in r.get_data(as_text=True), r.get_data(as_text=True)[:2000]


def test_parallel_review_requests_make_one_pending_review(app, factory, db):
    w = factory.world()
    _complete(db, w.client, "initial_audit")
    sessions = _sessions(app, w.client_admin.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/gates/initial_audit/request", {"note": "All done"})
    _one_won_the_rest_sent_to_the_gates(sessions, responses, "already waiting")
    assert _count(db, w.client, GateReview, GateReview.status == "requested") == 1
    assert _count(db, w.client, GateReview) == 1
    assert _entries(db, w.client, "gate.requested") == 1


def test_parallel_approvals_log_one_approval_and_advance_once(app, factory, db):
    w = factory.world()
    _requested(db, w.client)
    sessions = _sessions(app, w.consultant.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/gates/initial_audit/approve", {"comment": "Agreed"})
    _one_won_the_rest_sent_to_the_gates(sessions, responses, "already approved by")
    assert _entries(db, w.client, "gate.approved") == 1
    assert _count(db, w.client, GateReview) == 1
    assert _count(db, w.client, GateReview, GateReview.status == "approved") == 1
    assert _stages(db, w.client) == {"initial_audit": "passed", "system_design": "current",
                                     "implementation": "upcoming", "internal_audit": "upcoming",
                                     "certification_audit": "upcoming"}


def test_parallel_send_backs_log_one(app, factory, db):
    w = factory.world()
    _requested(db, w.client)
    sessions = _sessions(app, w.consultant.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/gates/initial_audit/send-back", {"reasons": "Clause 8 missing"})
    _one_won_the_rest_sent_to_the_gates(sessions, responses, "no pending review")
    assert _entries(db, w.client, "gate.sent_back") == 1
    assert _count(db, w.client, GateReview, GateReview.status == "sent_back") == 1


def test_parallel_reopenings_log_one(app, factory, db):
    w = factory.world()
    _passed(db, w.client)
    sessions = _sessions(app, w.consultant.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/stages/initial_audit/reopen", {"reason": "Scope changed"})
    _one_won_the_rest_sent_to_the_gates(sessions, responses, "cannot be reopened")
    assert _entries(db, w.client, "stage.reopened") == 1
    assert _stages(db, w.client)["initial_audit"] == "current"


def test_parallel_certification_decisions_log_one(app, factory, db):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):  # the decision belongs to the last stage
        for st in db.session.scalars(select(Stage)):
            st.status = "current" if st.key == "certification_audit" else "passed"
        ops.save(w.client)
    sessions = _sessions(app, w.consultant.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/certification",
                      {"decision": "certified", "body": "BSI", "decided_on": "2026-11-20"})
    _one_won_the_rest_sent_to_the_gates(sessions, responses, "already recorded")
    assert _entries(db, w.client, "certification.decision") == 1
    # A different decision afterwards is a change, and is recorded.
    http, token = sessions[0]
    again = http.client.post(f"/c/{w.client.slug}/certification",
                             data={"decision": "not_certified", "body": "BSI", "csrf_token": token})
    assert again.status_code == 303 and _entries(db, w.client, "certification.decision") == 2


def test_parallel_deletes_of_one_file_log_one_deletion(app, factory, db):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        task = db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)).first()
        att = ops.add_attachment(task, FileStorage(io.BytesIO(b"minutes of the kick-off"), "minutes.txt",
                                                   content_type="text/plain"),
                                 ops.Actor(None, "setup"), app.config["UPLOAD_ROOT"], w.client.schema_name, 10_000)
        path = ops.attachment_path(att, app.config["UPLOAD_ROOT"], w.client.schema_name)
        task_id, att_id = task.id, att.id
        ops.save(w.client)
    sessions = _sessions(app, w.staff.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/tasks/{task_id}/attachments/{att_id}/delete", {})
    statuses = _statuses(responses)
    # The winner redirects; a loser that loaded the row before the winner committed gets 409, one that came
    # after finds no such file (404). Either way it logs nothing.
    assert statuses.count(302) == 1 and set(statuses) - {302} <= {404, 409}, statuses
    for r in responses:
        if r.status_code == 409:
            assert "already removed" in r.get_data(as_text=True)
    assert _entries(db, w.client, "attachment.deleted") == 1
    assert _count(db, w.client, Attachment) == 0 and not path.exists()


def test_a_writer_that_skips_the_lock_still_cannot_add_a_second_pending_review(app, factory, db):
    """The unique index is the last line: a pending review written (uncommitted) by a connection that took no
    lock makes the request wait on the index, and when that commits the request is refused, not a 500."""
    w = factory.world()
    _complete(db, w.client, "initial_audit")
    http, token = _sessions(app, w.client_admin.email, 1)[0]
    other = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            conn.execute(text(f'SET search_path TO "{w.client.schema_name}"'))
            conn.execute(text("INSERT INTO gate_reviews (stage, status, requested_by_name, request_note) "
                              "VALUES ('initial_audit', 'requested', 'elsewhere', '')"))
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(http.client.post, f"/c/{w.client.slug}/gates/initial_audit/request",
                                      data={"note": "", "csrf_token": token})
                _wait_until_blocked(conn)
                conn.commit()
                resp = pending.result(timeout=30)
    finally:
        other.dispose()
    assert resp.status_code == 303
    with ThreadPoolExecutor(1) as pool:
        page = pool.submit(http.client.get, resp.headers["Location"]).result().get_data(as_text=True)
    assert "already waiting" in page
    assert _count(db, w.client, GateReview, GateReview.status == "requested") == 1
    assert _entries(db, w.client, "gate.requested") == 0


def _wait_until_blocked(conn, timeout: float = 20.0) -> None:
    """Until another session of this database waits for a lock (the request, on the unique index)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the request never waited on the unique index")


def test_the_index_allows_one_pending_review_per_stage(factory, db):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        for status in ("sent_back", "sent_back", "approved", "requested"):
            db.session.add(GateReview(stage="initial_audit", status=status, requested_by_name="x"))
        db.session.add(GateReview(stage="system_design", status="requested", requested_by_name="x"))
        db.session.flush()  # several decided reviews, and one waiting per stage, are fine
        db.session.add(GateReview(stage="initial_audit", status="requested", requested_by_name="x"))
        with pytest.raises(IntegrityError, match="uq_gate_reviews_one_pending"):
            db.session.flush()
        db.session.rollback()


def test_gate_changes_wait_for_the_settings_row_lock(factory, db):
    """While another transaction holds the client's settings row, a gate change waits for it (here: gives up
    after a short lock timeout) instead of reading the gates and writing beside it."""
    w = factory.world()
    _complete(db, w.client, "initial_audit")

    def first(model):
        return db.session.scalars(select(model).order_by(model.id)).first()

    other = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            conn.execute(text(f'SET search_path TO "{w.client.schema_name}"'))
            conn.execute(text("SELECT 1 FROM workspace_settings FOR UPDATE"))
            for change in (lambda a: ops.request_gate_review("initial_audit", "", a),
                           lambda a: ops.approve_gate("initial_audit", "", a),
                           lambda a: ops.send_back_gate("initial_audit", "Missing", a),
                           lambda a: ops.reopen_stage("initial_audit", "Scope", a),
                           lambda a: ops.record_certification_decision("pending", None, None, a),
                           # and what a gate is decided on: tasks (evidence goes the same way), documents, findings
                           lambda a: ops.set_task_status(first(Task), "in_progress", None, a),
                           lambda a: ops.set_document_status(first(Document), "in_review", a, "top_management"),
                           lambda a: ops.close_finding(ops.raise_finding("initial_audit", "minor", "Gap", None,
                                                                         "", a), "Fixed", a)):
                with tenants.tenant_scope(db.session, w.client.schema_name):
                    db.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
                    with pytest.raises(OperationalError, match="lock timeout"):
                        change(ops.Actor(None, "test"))
                    db.session.rollback()
            conn.rollback()
    finally:
        other.dispose()
    assert _count(db, w.client, GateReview) == 0 and _entries(db, w.client, "gate.requested") == 0


def test_parallel_ratings_of_a_new_gap_item_keep_one_row(app, factory, db):
    w = factory.world()
    sessions = _sessions(app, w.consultant.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/gap-analysis/4.1", {"rating": "partly", "notes": "Seen"})
    assert [r.status_code for r in responses] == [303] * PARALLEL
    assert _count(db, w.client, GapRating) == 1
    assert _entries(db, w.client, "gap.rated") == PARALLEL


def test_parallel_findings_from_one_gap_make_one(app, factory, db):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        ops.rate_gap_item("7.1.6", "not_conforming", None, "", "", None, ops.Actor(None, "setup"))
        ops.save(w.client)
    sessions = _sessions(app, w.consultant.email)
    responses = _fire(sessions, f"/c/{w.client.slug}/gap-analysis/7.1.6/finding", {"severity": "minor"})
    assert sorted(r.status_code for r in responses) == [303] + [409] * (PARALLEL - 1)
    assert _count(db, w.client, Finding) == 1
