"""Hostile values sent to every route of the URL map: nothing answers with a 5xx.

For every rule, each path argument in turn gets each hostile value (the others stay valid), and every query
parameter (GET) or form field (POST) the route reads gets each hostile value of its kind (`hostile_values`)
while the others keep values that would work, with a CSRF token, logged in as a consultant of the client and as its staff (the routes
that log someone in or out: from a fresh anonymous session each time). Which fields a route reads is not
listed by hand: every request records the keys its view looked up in `request.args`, `request.form` and
`request.files`, and a key first seen while fuzzing is fuzzed too.
"""
from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Request
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, ImmutableMultiDict

import tenants
from app import clock
from app.clients import DEFAULT_PLAN_DAYS
from app.library import kpi_store, store
from app.models import Attachment, Document, Task
from app.workspace import operations as ops
from conftest import PASSWORD, HttpClient, unique
from workflows import kpi as wk
from app.workspace.operations import internal_audits as audit_ops

HOSTILE = [
    str(2**31),                    # one past a PostgreSQL integer
    "99999999999999999999",        # past bigint
    "9" * 5000,                    # past what Python reads from text as an int by default
    "-1",
    "²",                           # a digit to str.isdigit, not to int()
    "a\x00b",                      # PostgreSQL stores no NUL in text
    "x" * 20_000,                  # longer than any column
    "../../../etc/passwd",
    "9999-12-31",
    "0001-01-01",
    "/line\r\nbreak",              # a path, as `next` must be, with a header-splitting newline
    "Ünïcødé ✓ 😀 \u202e",
    "",
]
# Path segments: every value above except the empty one (which routes elsewhere).
HOSTILE_IN_PATH = [v for v in HOSTILE if v]
# A field whose working value is free text ("Gap", "4.1", "in_review") gets what can hurt text: NUL, over-long,
# non-ASCII, path-like, a header-splitting newline, empty, and the digits past Python's int limit (a clause or a
# period may be split and read as numbers). The other numbers and the dates are only other text to it, stored
# as typed, each a whole save for nothing. A number, a date or an empty value (what it is, unknown) gets them all.
FOR_TEXT = ["9" * 5000, "a\x00b", "x" * 20_000, "../../../etc/passwd", "/line\r\nbreak", "Ünïcødé ✓ 😀 \u202e", ""]
assert set(FOR_TEXT) <= set(HOSTILE)


def hostile_values(working: str | None) -> list[str]:
    """The hostile values for a field whose working value is `working` (None: a field learnt while fuzzing)."""
    if working and not re.fullmatch(r"-?\d+|\d{4}-\d{2}-\d{2}", working):
        return FOR_TEXT
    return HOSTILE

KPI_DEFINITION = {"name": "Quotes answered in 2 days", "area": "customer", "numerator": "Quotes answered in 2 days",
                  "denominator": "All quotes", "unit": "%", "direction": "higher", "frequency": "monthly",
                  "target": "90", "amber": "85", "red": "75", "minimum": "0", "maximum": "100", "clauses": "8.2.1",
                  "note": ""}
# Values that work, so that a hostile value in one field meets the code behind the others' checks.
BASELINE = {
    "workspace.task_status": {"status": "in_progress", "reason": ""},
    "workspace.task_assignee": {"assignee_id": ""},
    "workspace.task_due": {"due_on": "2030-01-01"},
    "workspace.task_comment": {"body": "Hello"},
    "workspace.document_status": {"status": "in_review"},
    "workspace.document_register": {"identifier": "REC-001", "title": "Gap analysis report", "kind": "record",
                                    "owner_id": "", "approver_role": "consultant", "origin": "internal",
                                    "retention": "6 years"},
    "workspace.document_new_version": {"body": "Text", "change_reason": "Why", "needs_acknowledgement": "1"},
    "workspace.document_edit_version": {"body": "Text", "change_reason": "Why", "needs_acknowledgement": "1"},
    "workspace.document_version_status": {"status": "in_review"},
    "workspace.document_add_record": {"occurred_on": "2026-01-05", "note": "Report"},
    "workspace.raise_finding": {"title": "Gap", "severity": "minor", "stage": "initial_audit", "clause": "8.4.1",
                                "description": "Seen in the audit", "source": "internal_audit",
                                "kind": "system_nonconformity"},
    "workspace.finding_record": {"root_cause": "No procedure", "cause_method": "category", "cause_category": "method",
                                 "correction_on": "2026-01-05", "customer_informed": "yes", "action_needed": "yes"},
    "workspace.finding_verification": {"verify_method": "Sample", "verify_criteria": "All", "verify_on": "2030-01-01",
                                       "result": ""},
    "workspace.finding_cb": {"cb_reference": "NC-1", "cb_submitted_on": "", "cb_accepted_on": "",
                             "cb_verification": ""},
    "workspace.finding_escalation": {"decision": "declined", "escalation_reason": "On its way"},
    "workspace.finding_target_stage": {"target_stage": "implementation"},
    "workspace.gap_rate": {"rating": "partly", "outcome": "", "notes": "Seen", "evidence": "", "justification": ""},
    "workspace.gap_finding": {"severity": "minor"},
    "workspace.audit_programme": {"period_start": "2026-01-05", "period_end": "2026-12-01", "methods": "interviews",
                                  "notes": "Every process"},
    "workspace.audit_process_add": {"name": "Sales", "risk": "low", "in_scope": "1", "importance": "",
                                    "recent_changes": "", "previous_results": ""},
    "workspace.audit_process_edit": {"name": "Delivery", "risk": "medium", "in_scope": "1", "importance": "",
                                     "recent_changes": "", "previous_results": ""},
    "workspace.audit_plan": {"title": "Audit", "clauses": "9.2", "planned_on": "2026-12-20", "criteria": "ISO 9001",
                             "scope_note": "", "auditees": "Sam", "confirm_authored": "1"},
    "workspace.audit_line_rate": {"rating": "partly", "evidence": "Seen", "notes": ""},
    "workspace.audit_line_finding": {"kind": "system_nonconformity", "grade": "minor"},
    "workspace.audit_report": {"summary": "S", "conclusion": "C", "positives": "P", "distribution": "D"},
    "workspace.gate_request": {"note": "Please review"},
    "workspace.gate_approve": {"comment": "Checked"},
    "workspace.gate_send_back": {"reasons": "More evidence"},
    "workspace.stage_reopen": {"reason": "Redo"},
    "workspace.certification_decision": {"decision": "pending", "body": "BSI", "decided_on": "2026-11-20"},
    "workspace.plan_shift": {"days": "7", "stage": ""},
    "workspace.plan_apply_template": {"version": "2"},
    "workspace.invite_person": {"email": "someone@elsewhere.example", "role": "staff"},
    "workspace.client_rename": {"name": "Fuzzed Name Ltd"},
    "workspace.tasks": {"q": "policy", "stage": "initial_audit", "status": "todo", "assignee": "none",
                        "clause": "4.1", "view": "mine"},
    "workspace.activity": {"kind": "task", "who": "a", "page": "1"},
    "portfolio.new_client": {"name": "Fuzzed Ltd", "slug": "", "start_on": "2026-01-05", "target_on": "2026-12-01"},
    "portfolio.invite_consultant": {"email": "colleague@elsewhere.example", "role": "consultant"},
    "library.update_task": {"title": "Task", "guidance": "", "clauses": "4.1", "role": "staff",
                            "duration_days": "3", "required": "y"},
    "library.add_task": {"new-stage": "initial_audit", "new-title": "Task", "new-guidance": "", "new-clauses": "4.1",
                         "new-role": "staff", "new-duration_days": "3", "new-key": ""},
    "library.set_required": {"required": "1"},
    "kpi_library.update": KPI_DEFINITION,
    "kpi_library.add": {**KPI_DEFINITION, "name": "Fuzzed KPI"},
    "auth.forgot": {"email": "nobody@elsewhere.example"},
    "portfolio.save_response_rules": {"body": "BSI", "major_days": "90", "minor_days": "30",
                                      "stage_2_repeat_months": "6"},
    "portfolio.remove_response_rules": {"body_key": "bsi"},
    "portfolio.response_rules": {"body": "bsi"},
}
# Routes that change who is logged in get a fresh anonymous session for every request.
SESSION_CHANGING = {"auth.login", "auth.logout", "auth.signup", "auth.invitation", "auth.reset"}


class _Recording(ImmutableMultiDict):
    """request.args / .form / .files that note every key a view looks up."""

    seen: set[str] | None = None

    def _note(self, key):
        if _Recording.seen is not None and isinstance(key, str):
            _Recording.seen.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


class _RecordingRequest(Request):
    parameter_storage_class = _Recording


@pytest.fixture()
def recording(app):
    saved = app.request_class
    app.request_class = _RecordingRequest
    try:
        yield
    finally:
        app.request_class = saved
        _Recording.seen = None


@pytest.fixture()
def fuzz_world(factory, db, app):
    """A client with one of everything a route can name, and a copy of the template in the library."""
    w = factory.world()
    today_ = clock.today()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        task = db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)).first()
        ops.add_attachment(task, _file(b"evidence", "evidence.txt"), ops.Actor(None, "test"),
                           app.config["UPLOAD_ROOT"], w.client.schema_name, 10_000)
        finding = ops.raise_finding("initial_audit", "minor", "A gap", "7.5", "", ops.Actor(None, "test"),
                                    source="cb_stage_2", kind="system_nonconformity", grade="minor")
        action = ops.add_action(finding, "An action", w.staff, "2030-01-01", ops.Actor(None, "test"))
        ops.rate_gap_item("7.1.6", "partly", None, "", "", None, ops.Actor(None, "test"))
        review = ops.open_review("", "async", "", [w.staff], ops.Actor(None, "test"))
        mr_action = ops.add_output(review, "change", "Revise the policy", w.staff, "2030-01-01", ops.Actor(None, "test"))

        process = audit_ops.save_process(None, audit_ops.ProcessForm(name="Delivery"), w.client_admin,
                                         ops.Actor(None, "test"))
        audit = audit_ops.plan_audit(audit_ops.AuditForm(title="Resources", clauses="7.1",
                                                         planned_on=today_.isoformat()), w.client_admin,
                                     ops.Actor(None, "test"))
        doc = db.session.scalars(select(Document).order_by(Document.id)).first()
        record = ops.add_record_entry(doc, today_, "Instance", ops.Actor(None, "test"), ops.Upload(
            _file(b"record", "record.txt"), app.config["UPLOAD_ROOT"], w.client.schema_name, 10_000, None))
        db.session.flush()
        ids = {"slug": w.client.slug, "clause": "7.1.6", "record_id": record.id,
               "version_id": doc.versions[0].id, "task_id": task.id, "stage": "initial_audit", "finding_id": finding.id,
               "action_id": action.id, "attachment_id": db.session.scalars(select(Attachment.id)).first(),
               "doc_id": doc.id, "token": "no-such-token", "review_id": review.id, "mr_action_id": mr_action.id,
               "input_key": "c4", "process_id": process.id, "audit_id": audit.id,
               "filename": "css/app.css"}
        ops.save(w.client)
    source = store.choices(w.account.id)[0]
    copy = store.make_copy(w.account.id, source.template, unique("Fuzz copy"), w.consultant)
    db.session.commit()
    template = store.resolve(w.account.id, f"{store.OWN}:{copy.key}")
    ids["key"], ids["task_key"] = copy.key, next(t.key for _, t in template.iter_tasks())
    # A KPI definition of the consultancy's own under the same key, so /library/kpis/<key> reaches its form.
    kpi_store.add(w.account.id, wk.definition_from_form(KPI_DEFINITION, copy.key, None)[0], w.consultant)
    db.session.commit()
    today = clock.today()
    target = today + timedelta(days=DEFAULT_PLAN_DAYS)  # factory clients start today, on the default plan
    baseline = {**BASELINE, "portfolio.switch_account": {"account_id": str(w.account.id)},
                "library.copy": {"source": source.ref, "name": "Fuzzed copy", "from": source.ref},
                "workspace.client_consultants": {"consultants": str(w.consultant.id)},
                "workspace.audit_programme": {**BASELINE["workspace.audit_programme"],
                                              "manager_id": str(w.client_admin.id)},
                "workspace.audit_process_add": {**BASELINE["workspace.audit_process_add"],
                                                "owner_id": str(w.client_admin.id)},
                "workspace.audit_process_edit": {**BASELINE["workspace.audit_process_edit"],
                                                 "owner_id": str(w.client_admin.id)},
                "workspace.audit_plan": {**BASELINE["workspace.audit_plan"], "auditor_id": str(w.staff.id),
                                         "process_ids": str(ids["process_id"])},
                "workspace.finding_action": {"description": "Train the team", "owner": str(w.staff.id),
                                             "due_on": "2030-01-01"},
                "workspace.client_dates_preview": {"start_on": str(today),
                                                   "target_on": str(today + timedelta(days=200))},
                "workspace.client_dates": {"start_on": str(today), "target_on": str(today + timedelta(days=200)),
                                           "seen_start_on": str(today), "seen_target_on": str(target)},
                # Its own user: the fuzz's wrong passwords must not lock out anyone else's logins.
                "auth.login": {"email": factory.user("Fuzz Login").email, "password": PASSWORD, "next": "/"}}
    return w, ids, baseline


def _file(content: bytes, name: str):
    return FileStorage(io.BytesIO(content), name, content_type="text/plain")


class Fuzzer:
    def __init__(self, app, ids, baseline):
        self.app, self.ids, self.baseline = app, ids, baseline
        self.failures: list[str] = []
        self.requests = 0
        self.reads: set[str] | None = None  # where the keys the current route reads are collected

    def path(self, rule, arg=None, value=None) -> str:
        url = rule.rule
        for name in rule.arguments:
            # An argument this table doesn't know (a route added later) gets a plain id.
            text = quote(value, safe="") if name == arg else quote(str(self.ids.get(name, 1)), safe="/")
            url = re.sub(r"<(?:[^<>:]+:)?" + re.escape(name) + ">", lambda _: text, url)
        return url

    def send(self, http: HttpClient, token: str, method: str, url: str, data: dict, what: str):
        self.requests += 1
        _Recording.seen = self.reads
        try:
            if method == "GET":
                resp = http.client.get(url, query_string=data)
            else:
                form = {k: v for k, v in data.items() if k != "file"}
                if "file" in data:
                    form["file"] = (io.BytesIO(b"evidence bytes"), data["file"])
                resp = http.client.post(url, data={**form, "csrf_token": token}, content_type="multipart/form-data")
        except Exception as exc:  # an exception the app let through is a 500 too
            self.failures.append(f"{method} {url[:120]} {what}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        finally:
            _Recording.seen = None
        if resp.status_code >= 500:
            self.failures.append(f"{method} {url[:120]} {what}: {resp.status_code}")
        return resp

    def fuzz_route(self, session, rule, method, *, paths: bool) -> None:
        endpoint = rule.endpoint
        base = dict(self.baseline.get(endpoint, {}))
        if endpoint in ("workspace.task_upload", "workspace.document_version_evidence",
                        "workspace.document_record_evidence"):
            base["file"] = "evidence.txt"

        def client():
            return self.anonymous() if endpoint in SESSION_CHANGING else session

        if paths:
            for arg in sorted(rule.arguments):
                for value in HOSTILE_IN_PATH:
                    http, token = client()
                    self.send(http, token, method, self.path(rule, arg, value), base, f"<{arg}>={value[:20]!r}")
        # The route's own reads, learnt from a request with the working values, then from every fuzzed one.
        self.reads = seen = set()
        http, token = client()
        self.send(http, token, method, self.path(rule), base, "baseline")
        done: set[str] = set()
        while seen - done - {"csrf_token"}:
            key = sorted(seen - done - {"csrf_token"})[0]
            done.add(key)
            for value in hostile_values(base.get(key)):
                http, token = client()
                self.send(http, token, method, self.path(rule), {**base, key: value}, f"{key}={value[:20]!r}")
        self.reads = None

    def _client(self) -> HttpClient:
        # Each from an address of its own (198.18.0.0/15, for tests): the failed logins of the fuzz must not
        # count against the address every other test logs in from.
        self.clients = getattr(self, "clients", 0) + 1
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.18.{self.clients // 250 % 250}.{self.clients % 250 + 1}"
        return HttpClient(client)

    def anonymous(self):
        """A session nobody is logged in to: the last one again, unless a request logged someone in."""
        if getattr(self, "_anonymous", None) is not None:
            http, token = self._anonymous
            with http.client.session_transaction() as session:
                if "_user_id" not in session:
                    return http, token
        http = self._client()
        self._anonymous = http, http.csrf("/login")
        return self._anonymous

    def logged_in(self, email):
        http = self._client()
        http.login(email)
        return http, http.csrf("/")

    def run(self, email: str, *, paths: bool, session_changing: bool) -> None:
        session = self.logged_in(email)
        # What removes the objects other routes name goes last, and archiving (after which every change is a
        # 409) with unarchiving just after it.
        last = ("remove", "delete", "archive")
        for rule in sorted(self.app.url_map.iter_rules(),
                           key=lambda r: (any(word in r.endpoint for word in last), r.rule)):
            if (rule.endpoint in SESSION_CHANGING) != session_changing:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                self.fuzz_route(session, rule, method, paths=paths)


def test_no_route_answers_hostile_input_with_a_5xx(app, fuzz_world, recording):
    w, ids, baseline = fuzz_world
    fuzzer = Fuzzer(app, ids, baseline)

    consultant, staff = w.consultant.email, w.staff.email

    def run():  # on a thread of its own: each request gets its own app context and database session
        fuzzer.run(consultant, paths=True, session_changing=False)
        fuzzer.run(staff, paths=False, session_changing=False)
        fuzzer.run(staff, paths=True, session_changing=True)  # anonymous, fresh sessions

    with ThreadPoolExecutor(1) as pool:
        pool.submit(run).result()
    assert fuzzer.requests > 1000
    assert fuzzer.failures == [], f"{len(fuzzer.failures)} of {fuzzer.requests} requests failed:\n" + \
        "\n".join(fuzzer.failures[:80])
