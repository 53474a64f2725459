"""The cycle after certification through HTTP: each certification body's response rules as the consultancy
set them (and the countdown they give), the preparation tasks generated once (a double post too), the
client's three-year calendar and the portfolio's calendar and columns, the summary's fields, and the decision
on an overdue minor's escalation."""
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

import tenants
from app import clock
from app.models import (ActivityEntry, CertificationBodyRules, ClientSummary, ExternalAudit, Finding, Task,
                        WorkItem, WorkspaceSettings)
from app.workspace import operations as ops
from conftest import unique
from test_races import _fire, _sessions

TODAY = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
DECIDED = date(2026, 8, 3)  # four months ago: the first surveillance year


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(TODAY):
        yield


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


def certified(db, client, body="BSI", on=DECIDED):
    with inside(db, client):
        s = db.session.get(WorkspaceSettings, 1)
        s.certification_decision, s.certification_decided_on, s.certification_body = "certified", on, body
        ops.save(client)


def cb_minor(db, client, audit_on=date(2026, 11, 23)) -> int:
    """A minor the certification body raised at stage 2, held on `audit_on`."""
    with inside(db, client):
        with clock.frozen_at(datetime.combine(audit_on, datetime.min.time(), timezone.utc)):
            ops.save_audit("stage_2", ops.AuditForm(held_on=audit_on.isoformat(), result="minor"), ops.Actor(None, "t"))
            f = ops.raise_finding("certification_audit", "", "Trends not analysed", "9.1.3", "", ops.Actor(None, "t"),
                                  source="cb_stage_2", kind="system_nonconformity", grade="minor")
        ops.save(client)
        return f.id


def prep_tasks(db, client) -> list[SimpleNamespace]:
    with inside(db, client):
        return [SimpleNamespace(key=t.key, title=t.title, status=t.status, due_on=t.due_on, clauses=list(t.clauses))
                for t in db.session.scalars(select(Task).where(Task.key.like("prep\\_%")).order_by(Task.key))]


def summary(db, client) -> ClientSummary:
    db.session.rollback()
    return db.session.get(ClientSummary, client.id)


# --- response rules per certification body --------------------------------------------------------------

def test_defaults_are_shown_and_a_bodys_own_rules_set_the_countdown(db, http, factory):
    w = factory.world()
    certified(db, w.client, body="  bsi ")
    fid = cb_minor(db, w.client)  # stage 2 ten days ago: by default 30 days to answer, 20 left
    http.login(w.consultant.email)
    assert "in 20 days" in text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))
    page = text_of(http.get("/response-rules"))
    assert "Any other body" in page and ">90<" in page and ">30<" in page and ">6<" in page
    resp = http.submit("/response-rules", {"body": "BSI", "major_days": "60", "minor_days": "14",
                                           "stage_2_repeat_months": "3"})
    assert (resp.status_code, resp.headers["Location"]) == (303, "/response-rules#bodies")
    row = db.session.get(CertificationBodyRules, (w.account.id, "bsi"))
    assert (row.body_name, row.major_days, row.minor_days, row.stage_2_repeat_months) == ("BSI", 60, 14, 3)
    finding = text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))
    assert "in 4 days" in finding and "07 Dec 2026" in finding or "7 Dec 2026" in finding
    overview = text_of(http.get(f"/c/{w.client.slug}/"))
    assert 'id="finding-deadlines"' in overview and "in 4 days" in overview
    assert "majors 60 days, minors 14 days" in text_of(http.get(f"/c/{w.client.slug}/certification"))
    # The same body spelt otherwise changes the one row; removing it brings the defaults back.
    http.submit("/response-rules", {"body": "Bsi", "major_days": "45", "minor_days": "10",
                                    "stage_2_repeat_months": "3"})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CertificationBodyRules)
                             .where(CertificationBodyRules.account_id == w.account.id)) == 1
    assert "in 0 days" not in text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))
    assert http.submit("/response-rules/remove", {"body_key": "bsi"}).status_code == 303
    assert "in 20 days" in text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))
    assert http.submit("/response-rules/remove", {"body_key": "bsi"}).status_code == 404


def test_bad_rules_are_refused_with_the_reason_and_what_was_typed_stays(db, http, factory):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.submit("/response-rules", {"body": "DNV", "major_days": "0", "minor_days": "abc",
                                           "stage_2_repeat_months": "6"})
    page = text_of(resp)
    assert resp.status_code == 422 and "a whole number from 1 to 365" in page
    assert 'value="DNV"' in page and 'value="abc"' in page
    for data in ({"body": "", "major_days": "90", "minor_days": "30", "stage_2_repeat_months": "6"},
                 {"body": "a\x00b", "major_days": "90", "minor_days": "30", "stage_2_repeat_months": "6"},
                 {"body": "x" * 300, "major_days": "90", "minor_days": "30", "stage_2_repeat_months": "6"}):
        assert http.submit("/response-rules", data).status_code == 422
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CertificationBodyRules)
                             .where(CertificationBodyRules.account_id == w.account.id)) == 0


def test_rules_belong_to_one_consultancy(db, http, factory):
    a, b = factory.world(), factory.world()
    certified(db, a.client, body="LRQA")
    fid = cb_minor(db, a.client)
    http.login(b.owner.email)
    http.submit("/response-rules", {"body": "LRQA", "major_days": "20", "minor_days": "12",
                                    "stage_2_repeat_months": "2"})
    http.logout()
    http.login(a.consultant.email)
    assert "in 20 days" in text_of(http.get(f"/c/{a.client.slug}/findings/{fid}"))  # b's rules are b's
    assert "data-body=\"lrqa\"" not in text_of(http.get("/response-rules"))
    assert http.submit("/response-rules/remove", {"body_key": "lrqa"}).status_code == 404
    http.logout()
    http.login(a.staff.email)
    assert http.get("/response-rules").status_code == 404
    assert http.get("/calendar").status_code == 404


# --- preparation tasks -------------------------------------------------------------------------------------

def test_the_consultant_generates_the_preparation_tasks_once(db, http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}/certification/preparation"
    resp = http.submit(url, {})
    assert resp.status_code == 409 and "record it on the Gates page first" in text_of(resp)
    certified(db, w.client)
    page = text_of(http.get(f"/c/{w.client.slug}/certification"))
    assert "Generate the preparation tasks" in page
    resp = http.submit(url, {})
    assert (resp.status_code, resp.headers["Location"]) == (303, f"/c/{w.client.slug}/certification#preparation")
    tasks = prep_tasks(db, w.client)
    assert len(tasks) == 7 and all(t.status == "todo" and t.due_on for t in tasks)
    by_clause = {t.clauses[0]: t for t in tasks}
    assert by_clause["9.2"].due_on == date(2027, 8, 3) - timedelta(weeks=8)
    assert by_clause["9.3"].due_on == date(2027, 8, 3) - timedelta(weeks=4)
    assert "7 preparation tasks created" in text_of(http.get(f"/c/{w.client.slug}/certification"))
    # The consultant's tasks now, so their due dates join the reminder sweep as every task's do.
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WorkItem).where(
        WorkItem.client_id == w.client.id, WorkItem.user_id == w.consultant.id, WorkItem.kind == "task",
        WorkItem.title.in_([t.title for t in prep_tasks(db, w.client)]))) == 7
    again = http.submit(url, {})
    assert again.status_code == 303
    assert "nothing new was created" in text_of(http.get(f"/c/{w.client.slug}/certification"))
    assert len(prep_tasks(db, w.client)) == 7
    with inside(db, w.client):
        assert db.session.scalar(select(func.count()).select_from(ActivityEntry).where(
            ActivityEntry.action == "certification.preparation")) == 1
    page = text_of(http.get(f"/c/{w.client.slug}/certification"))
    assert "All 7 preparation tasks are on the task list." in page and page.count("Task created") == 7
    # A task of the set removed: the button offers the missing one, and makes only that.
    with inside(db, w.client):
        db.session.execute(Task.__table__.delete().where(Task.key == "prep_surveillance_1_7"))
        ops.save(w.client)
    assert "(1 missing)" in text_of(http.get(f"/c/{w.client.slug}/certification"))
    http.submit(url, {})
    assert len(prep_tasks(db, w.client)) == 7
    http.logout()
    http.login(w.client_admin.email)
    assert http.submit(url, {}).status_code == 403
    assert "Generate the preparation tasks" not in text_of(http.get(f"/c/{w.client.slug}/certification"))


def test_parallel_posts_create_one_set(app, db, factory):
    w = factory.world()
    certified(db, w.client)
    responses = _fire(_sessions(app, w.consultant.email), f"/c/{w.client.slug}/certification/preparation", {})
    assert {r.status_code for r in responses} == {303}
    assert len(prep_tasks(db, w.client)) == 7
    with inside(db, w.client):
        assert db.session.scalar(select(func.count()).select_from(ActivityEntry).where(
            ActivityEntry.action == "certification.preparation")) == 1


# --- calendars and the summary -----------------------------------------------------------------------------

def test_the_clients_three_year_calendar(db, http, factory):
    w = factory.world()
    certified(db, w.client)
    with inside(db, w.client):
        db.session.add(ExternalAudit(kind="stage_2", held_on=date(2026, 7, 18), result="passed"))
        ops.save(w.client)
    http.login(w.staff.email)
    page = text_of(http.get(f"/c/{w.client.slug}/certification"))
    assert 'id="calendar"' in page and "Three-year calendar" in page
    for kind in ("stage_2", "decision", "surveillance_1", "surveillance_2", "recertification", "expiry"):
        assert f'data-kind="{kind}"' in page
    assert page.count('data-kind="internal_audit"') == 3 and page.count('data-kind="management_review"') == 3
    assert 'data-kind="decision" data-status="done"' in page
    assert 'data-kind="surveillance_1" data-status="due"' in page


def test_the_summary_carries_the_next_audit_expiry_and_stale_records(db, factory):
    w = factory.world()
    s = summary(db, w.client)
    assert (s.next_audit_on, s.next_audit_kind, s.certificate_expires_on, s.stale_items) == (None, None, None, 0)
    certified(db, w.client)
    s = summary(db, w.client)
    assert (s.next_audit_on, s.next_audit_kind, s.certificate_expires_on) == (
        date(2027, 8, 3), "surveillance_1", date(2029, 8, 2))
    with inside(db, w.client):
        old = clock.now() - timedelta(days=61)
        first, second = db.session.scalars(select(Task.id).where(Task.status == "todo").order_by(Task.position)
                                           .limit(2)).all()
        db.session.execute(update(Task).where(Task.id == first).values(updated_at=old, start_on=None))
        # Untouched as long, but planned to start next month: not stale.
        db.session.execute(update(Task).where(Task.id == second).values(updated_at=old,
                                                                         start_on=date(2027, 1, 10)))
        f = ops.raise_finding("initial_audit", "observation", "Old note", None, "", ops.Actor(None, "t"))
        db.session.flush()
        db.session.execute(update(Finding).where(Finding.id == f.id).values(updated_at=old))
        ops.save(w.client)
    assert summary(db, w.client).stale_items == 2


def _portfolio_world(db, factory):
    w = factory.world()
    certified(db, w.client)  # surveillance 1 due 3 Aug 2027, expiry 2029: the audit shows, the expiry not
    soon = factory.client(w.account, [w.consultant], name=unique("Expiring Soon"))
    certified(db, soon, on=date(2024, 5, 20))  # expires 19 May 2027; its audits are overdue
    hidden = factory.client(w.account, [], name=unique("Unassigned Works"))
    certified(db, hidden, on=date(2026, 6, 1))
    return w, soon, hidden


def test_the_portfolio_calendar_by_month_for_whose_clients(db, http, factory):
    w, soon, hidden = _portfolio_world(db, factory)
    http.login(w.consultant.email)
    page = text_of(http.get("/calendar"))
    assert 'id="month-2027-08"' in page and w.client.name in page
    assert 'id="month-2027-05"' in page and 'data-kind="expiry" data-client="' + soon.slug in page
    assert 'id="overdue"' in page  # Expiring Soon's surveillance 2 is past its date
    assert hidden.name not in page  # not assigned to this consultant
    http.logout()
    http.login(w.owner.email)
    assert hidden.name in text_of(http.get("/calendar"))
    http.logout()
    other = factory.world()
    http.login(other.consultant.email)
    page = text_of(http.get("/calendar"))
    assert w.client.name not in page and soon.name not in page and "No external audit" in page


def test_the_portfolio_shows_and_sorts_by_next_audit_expiry_and_stale(db, http, factory):
    w, soon, _hidden = _portfolio_world(db, factory)
    http.login(w.consultant.email)
    page = text_of(http.get("/"))
    assert "Next audit" in page and "Certificate expiry" in page and "Surveillance audit 1" in page
    assert "19 May 2027" in page or "2027-05-19" in page
    by_expiry = text_of(http.get("/?sort=expiry&dir=asc"))
    assert by_expiry.index(soon.name) < by_expiry.index(w.client.name)
    by_expiry = text_of(http.get("/?sort=expiry&dir=desc"))
    assert by_expiry.index(w.client.name) < by_expiry.index(soon.name)
    assert http.get("/?sort=stale_records").status_code == 200


# --- an overdue minor's escalation ---------------------------------------------------------------------

def test_an_overdue_minor_declined_stays_minor_and_a_minor_not_overdue_has_nothing_to_decide(db, http, factory):
    w = factory.world()
    fid = cb_minor(db, w.client, audit_on=date(2026, 10, 1))  # 30 days passed unanswered: overdue
    fresh = cb_minor(db, w.client, audit_on=date(2026, 11, 30))
    http.login(w.consultant.email)
    assert "proposed for escalation to major" in text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))
    resp = http.submit(f"/c/{w.client.slug}/findings/{fresh}/escalation",
                       {"decision": "confirmed", "escalation_reason": "Too slow"})
    assert resp.status_code == 409 and "not overdue" in text_of(resp)
    resp = http.submit(f"/c/{w.client.slug}/findings/{fid}/escalation",
                       {"decision": "declined", "escalation_reason": "The body agreed a week's extension"})
    assert resp.status_code == 303
    with inside(db, w.client):
        f = db.session.get(Finding, fid)
        assert (f.severity, f.escalation, f.escalation_reason) == ("minor", "declined",
                                                                   "The body agreed a week's extension")
        assert db.session.scalar(select(ActivityEntry.summary).where(ActivityEntry.action == "finding.escalation")) \
            == f"Finding #{fid}: kept as minor — The body agreed a week's extension"
        assert db.session.get(Finding, fresh).severity == "minor"
    assert "proposed for escalation" not in text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))


# --- stage 2 repeated when its majors are not verified in time ------------------------------------------

def cb_major(db, client, audit_on=date(2026, 11, 23)) -> int:
    """A major the certification body raised at stage 2, held on `audit_on`."""
    with inside(db, client):
        with clock.frozen_at(datetime.combine(audit_on, datetime.min.time(), timezone.utc)):
            ops.save_audit("stage_2", ops.AuditForm(held_on=audit_on.isoformat(), result="major"), ops.Actor(None, "t"))
            f = ops.raise_finding("certification_audit", "", "No internal audit of sales", "9.2", "",
                                  ops.Actor(None, "t"), source="cb_stage_2", kind="system_nonconformity", grade="major")
        ops.save(client)
        return f.id


def test_unverified_stage_2_majors_warn_of_a_repeated_stage_2_until_the_body_verifies_them(db, http, factory):
    w = factory.world()
    fid = cb_major(db, w.client)  # stage 2 ten days ago: six months by default, to 23 May 2027
    http.login(w.consultant.email)
    expected = ("1 major nonconformity from stage 2 must be verified by the certification body by 23 May 2027 "
                "(171 days left), or it repeats stage 2.")
    for url in (f"/c/{w.client.slug}/certification", f"/c/{w.client.slug}/"):
        page = text_of(http.get(url))
        assert 'id="stage-2-repeat"' in page and expected in page, url

    # The body's own rule moves the day: three months, to 23 Feb 2027.
    with inside(db, w.client):
        db.session.get(WorkspaceSettings, 1).certification_body = "BSI"
        ops.save(w.client)
    http.submit("/response-rules", {"body": "BSI", "major_days": "90", "minor_days": "30",
                                    "stage_2_repeat_months": "3"})
    assert ("by 23 Feb 2027 (82 days left)" in text_of(http.get(f"/c/{w.client.slug}/certification")))

    # Three months on, still unverified: it has passed.
    with clock.frozen_at(datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)):
        page = text_of(http.get(f"/c/{w.client.slug}/certification"))
    assert ("1 major nonconformity from stage 2 not verified by the certification body by 23 Feb 2027: it repeats "
            "stage 2 unless it agrees otherwise.") in page and 'class="notice bad" id="stage-2-repeat"' in page

    # Accepted, but how the body verified not yet recorded: still at risk; with it, the warning is gone.
    resp = http.submit(f"/c/{w.client.slug}/findings/{fid}/certification-body",
                       {"cb_reference": "NC-7", "cb_submitted_on": "2026-11-30", "cb_accepted_on": "2026-12-02",
                        "cb_verification": ""}, form_url=f"/c/{w.client.slug}/findings/{fid}")
    assert resp.status_code == 303
    assert 'id="stage-2-repeat"' in text_of(http.get(f"/c/{w.client.slug}/certification"))
    http.submit(f"/c/{w.client.slug}/findings/{fid}/certification-body",
                {"cb_reference": "NC-7", "cb_submitted_on": "2026-11-30", "cb_accepted_on": "2026-12-02",
                 "cb_verification": "document_review"}, form_url=f"/c/{w.client.slug}/findings/{fid}")
    for url in (f"/c/{w.client.slug}/certification", f"/c/{w.client.slug}/"):
        assert 'id="stage-2-repeat"' not in text_of(http.get(url)), url


def test_minors_alone_or_a_certificate_mean_no_stage_2_repeat_warning(db, http, factory):
    w = factory.world()
    cb_minor(db, w.client)
    http.login(w.consultant.email)
    assert 'id="stage-2-repeat"' not in text_of(http.get(f"/c/{w.client.slug}/certification"))
    other = factory.client(w.account, [w.consultant])
    cb_major(db, other)
    certified(db, other)
    assert 'id="stage-2-repeat"' not in text_of(http.get(f"/c/{other.slug}/certification"))
