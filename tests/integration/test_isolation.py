"""Every client route: members get in, everyone else gets the same 404 and sees nothing."""
from datetime import date

import pytest
from sqlalchemy import select, text

from billing_world import bdb, bfactory, bhttp, subscribe, subscriptions_of  # noqa: F401  (fixtures)
from conftest import unique

# Every route under /c/<slug>/ with a request that would succeed for a member.
# test_every_client_route_is_listed fails when a new route is added without an entry here.
CLIENT_ROUTES = [
    ("GET", "/c/<slug>/", None),
    ("GET", "/c/<slug>/tasks", None),
    ("GET", "/c/<slug>/tasks/<int:task_id>", None),
    ("POST", "/c/<slug>/tasks/<int:task_id>/status", {"status": "in_progress"}),
    ("POST", "/c/<slug>/tasks/<int:task_id>/approve-not-applicable", {}),
    ("POST", "/c/<slug>/tasks/<int:task_id>/assignee", {"assignee_id": ""}),
    ("POST", "/c/<slug>/tasks/<int:task_id>/due", {"due_on": "2030-01-01"}),
    ("POST", "/c/<slug>/tasks/<int:task_id>/comments", {"body": "Hello"}),
    ("POST", "/c/<slug>/tasks/bulk", {"action": "done", "task_id": "1"}),
    ("POST", "/c/<slug>/tasks/<int:task_id>/attachments", "file"),
    ("GET", "/c/<slug>/tasks/<int:task_id>/attachments/<int:attachment_id>", None),
    ("POST", "/c/<slug>/tasks/<int:task_id>/attachments/<int:attachment_id>/delete", {}),
    ("GET", "/c/<slug>/documents", None),
    ("POST", "/c/<slug>/documents/<int:doc_id>/status", {"status": "in_review"}),
    ("GET", "/c/<slug>/documents/<int:doc_id>", None),
    ("POST", "/c/<slug>/documents/<int:doc_id>/register", {"identifier": "X-1", "title": "Taken", "kind": "record",
                                                          "approver_role": "consultant", "origin": "internal"}),
    ("POST", "/c/<slug>/documents/<int:doc_id>/reviewed", {}),
    ("POST", "/c/<slug>/documents/<int:doc_id>/versions", {"body": "Sneaky", "change_reason": "x"}),
    ("POST", "/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/edit", {"body": "Sneaky",
                                                                                 "change_reason": "x"}),
    ("POST", "/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/status", {"status": "in_review"}),
    ("GET", "/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/file", None),
    ("POST", "/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/acknowledge", {}),
    ("POST", "/c/<slug>/documents/<int:doc_id>/records", {"occurred_on": "2026-01-01", "note": "Sneaky"}),
    ("GET", "/c/<slug>/documents/<int:doc_id>/records/<int:record_id>/file", None),
    ("POST", "/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/evidence", "file"),
    ("POST", "/c/<slug>/documents/<int:doc_id>/records/<int:record_id>/evidence", "file"),
    ("GET", "/c/<slug>/documents/<int:doc_id>/evidence/<int:attachment_id>", None),
    ("POST", "/c/<slug>/documents/<int:doc_id>/evidence/<int:attachment_id>/delete", {}),
    ("GET", "/c/<slug>/findings", None),
    ("POST", "/c/<slug>/findings", {"title": "Gap", "severity": "minor", "stage": "initial_audit"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/close", {"note": "Remedied"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/reopen", {"reason": "Seen again"}),
    ("GET", "/c/<slug>/findings/<int:finding_id>", None),
    ("POST", "/c/<slug>/findings/<int:finding_id>/record", {"root_cause": "Sneaky cause"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/actions", {"description": "Sneaky", "owner": "1",
                                                             "due_on": "2030-01-01"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/actions/<int:action_id>/done", {}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/actions/<int:action_id>/verification",
     {"verify_method": "x", "verify_criteria": "y", "result": "effective"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/certification-body", {"cb_reference": "SNEAKY"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/escalation", {"decision": "confirmed", "escalation_reason": "x"}),
    ("POST", "/c/<slug>/findings/<int:finding_id>/target-stage", {"target_stage": "certification_audit"}),
    ("GET", "/c/<slug>/gap-analysis", None),
    ("POST", "/c/<slug>/gap-analysis/<clause>", {"rating": "conforming"}),
    ("POST", "/c/<slug>/gap-analysis/<clause>/finding", {"severity": "minor"}),
    ("POST", "/c/<slug>/gap-analysis/<clause>/task", {}),
    ("GET", "/c/<slug>/gap-analysis.csv", None),
    ("GET", "/c/<slug>/gap-analysis.pdf", None),
    ("GET", "/c/<slug>/evidence-pack", None),
    ("GET", "/c/<slug>/evidence-pack.zip", None),

    ("GET", "/c/<slug>/audits", None),
    ("POST", "/c/<slug>/audits/programme", {"period_start": "2026-01-01", "period_end": "2026-12-31",
                                            "methods": "interviews", "manager_id": "1"}),
    ("POST", "/c/<slug>/audits/processes", {"name": "Sneaky process", "risk": "low", "owner_id": "1"}),
    ("POST", "/c/<slug>/audits/processes/<int:process_id>", {"name": "Sneaky", "risk": "low", "owner_id": "1"}),
    ("POST", "/c/<slug>/audits", {"title": "Sneaky audit", "clauses": "4", "planned_on": "2030-01-01",
                                  "auditor_id": "1"}),
    ("GET", "/c/<slug>/audits/<int:audit_id>", None),
    ("POST", "/c/<slug>/audits/<int:audit_id>/lines/<clause>", {"rating": "conforming", "evidence": "Sneaky"}),
    ("POST", "/c/<slug>/audits/<int:audit_id>/lines/<clause>/finding", {"kind": "observation"}),
    ("POST", "/c/<slug>/audits/<int:audit_id>/report", {"conclusion": "Sneaky"}),
    ("POST", "/c/<slug>/audits/<int:audit_id>/complete", {}),
    ("GET", "/c/<slug>/audits/<int:audit_id>/report.pdf", None),
    ("GET", "/c/<slug>/gates", None),
    ("POST", "/c/<slug>/gates/<stage>/request", {"note": ""}),
    ("POST", "/c/<slug>/gates/<stage>/approve", {"comment": ""}),
    ("POST", "/c/<slug>/gates/<stage>/send-back", {"reasons": "More evidence"}),
    ("POST", "/c/<slug>/stages/<stage>/reopen", {"reason": "Redo"}),
    ("POST", "/c/<slug>/certification", {"decision": "pending"}),
    ("GET", "/c/<slug>/certification", None),
    ("POST", "/c/<slug>/certification/application", {"body": "Sneaky body"}),
    ("POST", "/c/<slug>/certification/audits/<kind>", {"planned_on": "2027-01-15"}),
    ("POST", "/c/<slug>/certification/certificate", {"certificate_number": "SNEAKY"}),
    ("POST", "/c/<slug>/certification/preparation", {}),
    ("POST", "/c/<slug>/gates/review-requests", {"staff_may_request": "1"}),
    ("GET", "/c/<slug>/plan", None),
    ("POST", "/c/<slug>/plan/shift", {"days": "7"}),
    ("POST", "/c/<slug>/plan/apply-template", {"version": "2"}),
    ("GET", "/c/<slug>/activity", None),
    ("GET", "/c/<slug>/people", None),
    ("GET", "/c/<slug>/readiness", None),
    ("POST", "/c/<slug>/people", {"email": "someone@elsewhere.example", "role": "staff"}),
    ("POST", "/c/<slug>/people/<int:user_id>/role", {"role": "auditor"}),
    ("GET", "/c/<slug>/people/<int:user_id>/remove", None),
    ("POST", "/c/<slug>/people/<int:user_id>/remove", {}),
    ("POST", "/c/<slug>/people/invitations/<int:invitation_id>/resend", {}),
    ("POST", "/c/<slug>/people/invitations/<int:invitation_id>/revoke", {}),
    ("GET", "/c/<slug>/settings", None),
    ("GET", "/c/<slug>/settings/dates", None),
    ("POST", "/c/<slug>/settings/name", {"name": "Taken Over Ltd"}),
    ("POST", "/c/<slug>/settings/consultants", {"consultants": "1"}),
    ("POST", "/c/<slug>/settings/dates", {"start_on": "2030-01-01", "target_on": "2030-12-01"}),
    ("POST", "/c/<slug>/settings/calendar", {"working_days": ["5", "6"], "time_zone": ""}),
    ("POST", "/c/<slug>/settings/archive", {}),
    ("POST", "/c/<slug>/settings/unarchive", {}),
    ("GET", "/c/<slug>/kpis", None),
    ("GET", "/c/<slug>/kpis/new", None),
    ("POST", "/c/<slug>/kpis/library", {"key": "nps"}),
    ("POST", "/c/<slug>/kpis", {"name": "Sneaky", "numerator": "x", "unit": "%", "target": "1", "amber": "1",
                                "red": "1"}),
    ("GET", "/c/<slug>/kpis/<int:kpi_id>", None),
    ("POST", "/c/<slug>/kpis/<int:kpi_id>/measurements", {"period": "2026-01", "value": "1"}),
    ("POST", "/c/<slug>/kpis/<int:kpi_id>/targets", {"effective_from": "2026-01", "target": "1", "amber": "1",
                                                     "red": "1", "reason": "x"}),
    ("POST", "/c/<slug>/kpis/<int:kpi_id>/import", {"content": ""}),
    ("GET", "/c/<slug>/objectives", None),
    ("POST", "/c/<slug>/objectives", {"title": "Sneaky objective"}),
    ("GET", "/c/<slug>/objectives/<int:objective_id>", None),
    ("POST", "/c/<slug>/objectives/<int:objective_id>", {"title": "Sneaky objective"}),
    ("GET", "/c/<slug>/management-reviews", None),
    ("POST", "/c/<slug>/management-reviews", {"format": "async", "participants": "1"}),
    ("GET", "/c/<slug>/management-reviews/<int:review_id>", None),
    ("POST", "/c/<slug>/management-reviews/<int:review_id>/refresh", {}),
    ("POST", "/c/<slug>/management-reviews/<int:review_id>/inputs/<input_key>", {"text": "Sneaky"}),
    ("POST", "/c/<slug>/management-reviews/<int:review_id>/inputs/<input_key>/contributions", {"body": "Sneaky"}),
    ("POST", "/c/<slug>/management-reviews/<int:review_id>/actions", {"kind": "change", "description": "Sneaky",
                                                                     "owner": "1", "due_on": "2030-01-01"}),
    ("POST", "/c/<slug>/management-reviews/<int:review_id>/actions/<int:mr_action_id>/remove", {}),
    ("POST", "/c/<slug>/management-reviews/<int:review_id>/close", {"conclusion": "Sneaky conclusion, suitable.",
                                                                   "next_review_on": "2030-01-01"}),
    ("GET", "/c/<slug>/management-reviews/<int:review_id>/minutes.pdf", None),
]


def test_every_client_route_is_listed(app):
    listed = {(m, rule) for m, rule, _ in CLIENT_ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/c/<slug>"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, rule.rule) in listed, f"{method} {rule.rule} has no isolation test entry"


def _url(rule: str, ids: dict) -> str:
    for name, value in ids.items():
        rule = rule.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return rule


def _client_objects(db, client, member, inviter):
    """One of each object a client route can name, in the target client."""
    import io

    import tenants
    from app.accounts import invite
    from app.models import Attachment, Document, DocumentVersion, Task
    from app.workspace import operations as ops
    from werkzeug.datastructures import FileStorage

    with tenants.tenant_scope(db.session, client.schema_name):
        task = db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)).first()
        ops.add_attachment(task, FileStorage(io.BytesIO(b"evidence"), "evidence.txt", content_type="text/plain"),
                           ops.Actor(None, "test"), _upload_root(), client.schema_name, 10_000)
        finding = ops.raise_finding("initial_audit", "minor", "A gap", "7.5", "", ops.Actor(None, "test"),
                                    source="cb_stage_2", kind="system_nonconformity", grade="minor")
        action = ops.add_action(finding, "An action", member, "2030-01-01", ops.Actor(None, "test"))
        kpi = ops.add_from_library("csat", None, set(), ops.Actor(None, "test"))
        objective = ops.save_objective(None, ops.ObjectiveForm(title="A quality objective"), ops.Actor(None, "test"))
        ops.rate_gap_item("7.1.6", "partly", None, "Know-how with one person", "", None, ops.Actor(None, "test"))
        review = ops.open_review("", "async", "", [member], ops.Actor(None, "test"))
        mr_action = ops.add_output(review, "change", "Revise the policy", member, "2030-01-01", ops.Actor(None, "test"))

        process, audit = _audit_objects(member)
        doc = db.session.scalars(select(Document).order_by(Document.id)).first()
        record = ops.add_record_entry(doc, date(2026, 1, 5), "January's", ops.Actor(None, "test"), ops.Upload(
            FileStorage(io.BytesIO(b"record"), "record.txt"), _upload_root(), client.schema_name, 10_000, None))
        db.session.flush()
        ids = {"slug": client.slug, "record_id": record.id,
               "version_id": db.session.scalar(select(DocumentVersion.id).where(DocumentVersion.document_id == doc.id)), "task_id": task.id, "stage": "initial_audit", "finding_id": finding.id,
               "action_id": action.id, "kpi_id": kpi.id, "objective_id": objective.id, "kind": "stage_1",
               "clause": "7.1.6", "process_id": process.id, "audit_id": audit.id,
               "attachment_id": db.session.scalars(select(Attachment.id)).first(),
               "doc_id": doc.id, "review_id": review.id, "input_key": "c4", "mr_action_id": mr_action.id}
        ids.update(user_id=member.id, invitation_id=invite(inviter, client.account, f"{unique('invitee')}@x.example",
                                                           "staff", client).invitation.id)
        ops.save(client)
        activity = db.session.execute(text("SELECT count(*) FROM activity_log")).scalar()
    return ids, activity


def _audit_objects(member):
    """A process of the audit programme and an audit whose checklist has the line 7.1.6."""
    from app.workspace.operations import internal_audits as audit_ops

    process = audit_ops.save_process(None, audit_ops.ProcessForm(name="Delivery"), member, ops_actor())
    audit = audit_ops.plan_audit(audit_ops.AuditForm(title="Resources", clauses="7.1", planned_on="2027-01-15"),
                                 member, ops_actor())
    return process, audit


def ops_actor():
    from app.workspace import operations as ops

    return ops.Actor(None, "test")


def _upload_root():
    from flask import current_app

    return current_app.config["UPLOAD_ROOT"]


def _request(http, method, path, data, token_from):
    if method == "GET":
        return http.get(path)
    token = http.csrf(token_from)
    if data == "file":
        import io

        data = {"file": (io.BytesIO(b"sneaky"), "sneaky.txt")}
    return http.client.post(path, data={**(data or {}), "csrf_token": token})


@pytest.fixture(scope="module")
def two_worlds(app):
    """Built once for the module: outsiders' requests change nothing, which the test checks."""
    from app.extensions import db as _db
    from conftest import Factory

    with app.app_context():
        factory = Factory(_db)
        a = factory.world()
        b = factory.world()  # another consultancy
        sibling = factory.client(a.account, [a.consultant])  # another client of the same consultancy
        sibling_staff = factory.member(sibling, "client_admin")
        ids, activity = _client_objects(_db, a.client, a.staff, a.owner)
        for obj in [*vars(a).values(), *vars(b).values(), sibling_staff]:
            _db.session.refresh(obj)  # load every column, then detach: usable outside this context
        _db.session.expunge_all()
    return a, b, sibling_staff, ids, activity


@pytest.mark.parametrize("method,path,data", CLIENT_ROUTES)
def test_outsiders_get_404_and_see_nothing(http, db, two_worlds, method, path, data):
    a, b, sibling_staff, ids, activity_before = two_worlds
    outsiders = {
        "staff of another client of the same consultancy": sibling_staff,
        "consultant of another consultancy": b.consultant,
        "owner of another consultancy": b.owner,
        "consultant of the same consultancy not assigned to the client": a.other_consultant,
    }
    url = _url(path, ids)
    for who, user in outsiders.items():
        http.login(user.email)
        resp = _request(http, method, url, data, token_from="/")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 404, f"{who}: {method} {url} -> {resp.status_code}"
        assert a.client.name not in body and a.staff.email not in body, f"{who} saw client data"
        http.logout()
    import tenants

    with tenants.tenant_scope(db.session, a.client.schema_name):
        assert db.session.execute(text("SELECT count(*) FROM activity_log")).scalar() == activity_before


@pytest.mark.parametrize("method,path,data", CLIENT_ROUTES)
def test_missing_client_gives_the_same_404(http, two_worlds, method, path, data):
    http.login(two_worlds[0].owner.email)
    resp = _request(http, method, _url(path, {"slug": "no-such-client", "task_id": 1, "attachment_id": 1,
                                             "doc_id": 1, "finding_id": 1, "action_id": 1, "stage": "initial_audit", "user_id": 1,
                                             "invitation_id": 1, "kpi_id": 1, "objective_id": 1,
                                             "clause": "7.1.6", "version_id": 1, "record_id": 1,
                                             "review_id": 1, "input_key": "c4", "mr_action_id": 1,
                                             "process_id": 1, "audit_id": 1}), data,
                    token_from="/")
    assert resp.status_code == 404


def test_members_get_in(http, factory):
    w = factory.world()
    for user in (w.owner, w.consultant, w.client_admin, w.staff, w.auditor, factory.member(w.client, "top_management")):
        http.login(user.email)
        assert http.get(f"/c/{w.client.slug}/").status_code == 200
        http.logout()


def test_anonymous_users_are_sent_to_login(http, factory):
    w = factory.world()
    resp = http.get(f"/c/{w.client.slug}/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("slug", ["Acme%20Logistics", "acme_logistics", "..%2F..%2Fetc", "client_1", "%00", "a" * 300,
                                  "acme'logistics", "ACME"])
def test_odd_slugs_are_a_plain_404(http, factory, slug):
    w = factory.world()
    http.login(w.owner.email)
    assert http.get(f"/c/{slug}/").status_code == 404


def test_portfolio_lists_only_visible_clients(http, factory):
    a, b = factory.world(), factory.world()
    unassigned = factory.client(a.account)
    http.login(a.consultant.email)
    page = http.get("/").get_data(as_text=True)
    assert a.client.name in page and unassigned.name not in page and b.client.name not in page
    http.logout()
    http.login(a.owner.email)
    page = http.get("/").get_data(as_text=True)
    assert a.client.name in page and unassigned.name in page and b.client.name not in page


def test_account_switch_to_a_foreign_account_is_404(http, factory):
    a, b = factory.world(), factory.world()
    http.login(a.owner.email)
    token = http.csrf("/")
    assert http.client.post("/switch-account", data={"account_id": b.account.id, "csrf_token": token}).status_code == 404


# --- roles, enforced in one place --------------------------------------------------------------

def test_only_owners_invite_to_the_team(http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    assert http.get("/team").status_code == 200
    resp = http.submit("/team", {"email": f"{unique('x')}@y.example", "role": "consultant"})
    assert resp.status_code == 403


def test_client_staff_have_no_team_or_new_client_pages(http, factory):
    w = factory.world()
    http.login(w.staff.email)
    assert http.get("/team").status_code == 404
    assert http.get("/clients/new").status_code == 404


def test_staff_and_auditors_cannot_invite_to_the_client(http, factory):
    w = factory.world()
    for user in (w.staff, w.auditor):
        http.login(user.email)
        resp = http.submit(f"/c/{w.client.slug}/people", {"email": f"{unique('x')}@y.example", "role": "staff"})
        assert resp.status_code == 403
        http.logout()
    http.login(w.client_admin.email)
    resp = http.submit(f"/c/{w.client.slug}/people", {"email": f"{unique('x')}@y.example", "role": "staff"})
    assert resp.status_code == 302


def test_consultant_creates_a_client_through_the_form(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    name = unique("Form Made Ltd")
    resp = http.submit("/clients/new", {"name": name, "slug": ""})
    assert resp.status_code == 302
    slug = resp.headers["Location"].split("/")[2]
    page = http.get(f"/c/{slug}/")
    assert page.status_code == 200 and name.encode() in page.data


def test_new_client_form_errors_keep_input(http, factory):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.submit("/clients/new", {"name": "Odd Address Ltd", "slug": "Not OK!"})
    assert resp.status_code == 422 and b"lowercase letters" in resp.data and b"Odd Address Ltd" in resp.data
    resp = http.submit("/clients/new", {"name": w.client.name, "slug": ""})
    assert resp.status_code == 422 and b"already taken" in resp.data
    resp = http.submit("/clients/new", {"name": "!!!", "slug": ""})
    assert resp.status_code == 422 and b"at least one letter" in resp.data


def test_billing_is_the_owners_and_no_one_elses(http, factory):
    mine, theirs = factory.world(), factory.world()
    for user in (mine.consultant, mine.client_admin, mine.staff, mine.auditor):
        http.login(user.email)
        assert http.get("/billing").status_code == 404, user.name
        http.logout()
    http.login(theirs.owner.email)
    body = http.get("/billing").get_data(as_text=True)
    assert mine.client.name not in body and mine.account.name not in body


def test_billing_changes_are_the_owners_and_no_one_elses(bhttp, bfactory, bdb, standin):
    """With billing on: no one but this consultancy's owners reaches its subscription, nor learns of it."""
    mine, theirs = bfactory.world(), bfactory.world()
    bhttp.login(mine.owner.email)
    sub = subscribe(bhttp, standin, mine.account.id, "solo")
    mine_page = bhttp.get("/billing").get_data(as_text=True)
    assert 'id="next-invoice-amount">19.00 EUR<' in mine_page
    bhttp.logout()
    for user in (mine.consultant, mine.client_admin, mine.staff):
        bhttp.login(user.email)
        token = bhttp.csrf("/")
        assert bhttp.get("/billing").status_code == 404, user.name
        for url, data in (("/billing/plan", {"plan": "firm", "interval": "month"}), ("/billing/portal", {}),
                          ("/billing/checkout", {"plan": "firm", "interval": "month"})):
            assert bhttp.client.post(url, data={**data, "csrf_token": token}).status_code == 404, (user.name, url)
        bhttp.logout()
    bhttp.login(theirs.owner.email)
    body = bhttp.get("/billing").get_data(as_text=True)
    assert mine.client.name not in body and "19.00 EUR" not in body and sub["id"] not in body
    refused = bhttp.submit("/billing/plan", {"plan": "firm", "interval": "month"}, form_url="/billing")
    assert refused.status_code == 409  # their own consultancy, which has no subscription
    assert standin.subscriptions[sub["id"]]["items"]["data"][0]["price"]["id"] == "price_solo_month"
    assert [s.price_id for s in subscriptions_of(mine.account.id)] == ["price_solo_month"]
