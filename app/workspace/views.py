from __future__ import annotations

import re
from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from workflows.stages import STAGE_KEYS, stage_label

from ..accounts import AccountError, invite_and_notify
from ..auth.forms import InviteForm
from ..extensions import db, htmx
from ..library import store as library
from ..models import (
    AccountMember,
    ActivityEntry,
    Attachment,
    ClientConsultant,
    ClientMember,
    Document,
    Finding,
    GateReview,
    Invitation,
    Stage,
    Task,
    User,
)
from ..templating import render
from ..tenancy import CONSULTANT_ROLES, WRITER_ROLES, requires
from . import bp
from . import operations as ops

PEOPLE_MANAGERS = (*CONSULTANT_ROLES, "client_admin")
APPROVERS = (*CONSULTANT_ROLES, "client_admin")


def actor() -> ops.Actor:
    return ops.Actor.of(current_user)


def refused(err: ops.WorkspaceError, endpoint: str):
    """An invalid change from a list page: nothing changed; show why on that page with the status that fits."""
    db.session.rollback()
    flash(str(err), "error")
    return view_with_status(endpoint, err.status)


def view_with_status(endpoint: str, status: int):
    body = current_app.view_functions[endpoint]()
    return body, status


# --- overview ------------------------------------------------------------------------------

@bp.get("/")
def overview():
    state = ops.client_state()
    stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
    progress = ops.wf.stage_progress(state)
    current = state.current_stage
    gate = ops.gate(current, state)
    overdue = db.session.scalars(select(Task).where(Task.status.in_(("todo", "in_progress")),
                                                   Task.due_on < date.today()).order_by(Task.due_on).limit(8)).all()
    activity = db.session.scalars(select(ActivityEntry).order_by(ActivityEntry.at.desc(), ActivityEntry.id.desc())
                                  .limit(8)).all()
    return render_template("workspace/overview.html", client=g.client, stages=stages, progress=progress,
                           current=current, gate=gate, review=ops.pending_review(current), overdue=overdue,
                           activity=activity, summary=g.client.summary, certified=ops.wf.is_certified(state),
                           readiness=ops.wf.readiness(ops.template(), state))


# --- tasks ---------------------------------------------------------------------------------

def _people():
    """Who can be assigned: the client's members and its consultants (by id → user)."""
    member_ids = select(ClientMember.user_id).where(ClientMember.client_id == g.client.id)
    consultant_ids = select(ClientConsultant.user_id).where(ClientConsultant.client_id == g.client.id)
    owner_ids = select(AccountMember.user_id).where(AccountMember.account_id == g.client.account_id,
                                                    AccountMember.role == "owner")
    users = db.session.scalars(select(User).where(or_(User.id.in_(member_ids), User.id.in_(consultant_ids),
                                                      User.id.in_(owner_ids))).order_by(User.name)).all()
    return {u.id: u for u in users}


def _task_filters():
    args = request.args
    return {k: (args.get(k) or "").strip() for k in ("q", "stage", "status", "assignee", "clause", "view")}


@bp.get("/tasks")
def tasks():
    f = _task_filters()
    q = select(Task).order_by(Task.position)
    if f["view"] == "mine":
        q = q.where(Task.assignee_id == current_user.id)
    elif f["view"] == "overdue":
        q = q.where(Task.status.in_(("todo", "in_progress")), Task.due_on < date.today())
    if f["stage"] in STAGE_KEYS:
        q = q.where(Task.stage == f["stage"])
    if f["status"] in ops.TASK_STATUS_LABELS:
        q = q.where(Task.status == f["status"])
    if f["assignee"] == "none":
        q = q.where(Task.assignee_id.is_(None))
    elif f["assignee"].isdigit():
        q = q.where(Task.assignee_id == int(f["assignee"]))
    if f["clause"]:
        # The clause itself or any of its sub-clauses (9.1 finds 9.1.2).
        sub = r"(^|,)" + re.escape(f["clause"]) + r"\."
        q = q.where(or_(Task.clauses.contains([f["clause"]]), func.array_to_string(Task.clauses, ",").regexp_match(sub)))
    if f["q"]:
        like = f"%{f['q']}%"
        q = q.where(or_(Task.title.ilike(like), Task.guidance.ilike(like)))
    rows = db.session.scalars(q).all()
    clauses = sorted({c for t in db.session.scalars(select(Task.clauses)) for c in t},
                     key=lambda c: [int(p) for p in c.split(".")])
    return render("workspace/tasks.html", "results", client=g.client, tasks=rows, filters=f, people=_people(),
                  statuses=ops.TASK_STATUS_LABELS, clauses=clauses, current=ops.current_stage_key(),
                  today=date.today())


def _task_or_404(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        abort(404)
    return task


def _task_page(task: Task, status: int = 200, error: str | None = None, block: str | None = None, **extra):
    state = ops.client_state()
    return render("workspace/task.html", block, client=g.client, task=task, people=_people(),
                  statuses=ops.TASK_STATUS_LABELS, locked=not ops.wf.can_work_on(state, task.stage),
                  error=error, can_write=g.client_role in WRITER_ROLES, today=date.today(), **extra), status


@bp.get("/tasks/<int:task_id>")
def task(task_id):
    return _task_page(_task_or_404(task_id))


def _after_task_change(task: Task, block: str, message: str):
    ops.save(g.client)
    if htmx:
        return _task_page(task, block=block)
    flash(message, "success")
    return redirect(url_for("workspace.task", task_id=task.id))


def _task_refused(task: Task, err: ops.WorkspaceError, block: str):
    db.session.rollback()
    task = db.session.get(Task, task.id)
    if htmx:
        return _task_page(task, err.status, str(err), block=block)
    return _task_page(task, err.status, str(err))


@bp.post("/tasks/<int:task_id>/status")
@requires(*WRITER_ROLES)
def task_status(task_id):
    task = _task_or_404(task_id)
    status = request.form.get("status", "")
    try:
        ops.set_task_status(task, status, request.form.get("reason"), actor())
    except ops.WorkspaceError as err:
        return _task_refused(task, err, "status")
    return _after_task_change(task, "status", f"Status set to {ops.TASK_STATUS_LABELS[status]}.")


@bp.post("/tasks/<int:task_id>/assignee")
@requires(*WRITER_ROLES)
def task_assignee(task_id):
    task = _task_or_404(task_id)
    raw = request.form.get("assignee_id", "")
    people = _people()
    assignee = people.get(int(raw)) if raw.isdigit() else None
    if raw and assignee is None:
        return _task_refused(task, ops.WorkspaceError("Choose someone who works on this client.", 422), "details")
    ops.assign_task(task, assignee, actor())
    return _after_task_change(task, "details", "Assignee updated.")


@bp.post("/tasks/<int:task_id>/due")
@requires(*WRITER_ROLES)
def task_due(task_id):
    task = _task_or_404(task_id)
    raw = request.form.get("due_on", "").strip()
    try:
        due = date.fromisoformat(raw) if raw else None
    except ValueError:
        return _task_refused(task, ops.WorkspaceError("Enter the due date as YYYY-MM-DD.", 422), "details")
    ops.set_due_date(task, due, actor())
    return _after_task_change(task, "details", "Due date updated.")


@bp.post("/tasks/<int:task_id>/comments")
@requires(*WRITER_ROLES)
def task_comment(task_id):
    task = _task_or_404(task_id)
    try:
        ops.add_comment(task, request.form.get("body", ""), actor())
    except ops.WorkspaceError as err:
        db.session.rollback()
        task = db.session.get(Task, task_id)
        return _task_page(task, err.status, str(err), block="comments" if htmx else None,
                          draft=request.form.get("body", ""))
    return _after_task_change(task, "comments", "Comment added.")


@bp.post("/tasks/<int:task_id>/attachments")
@requires(*WRITER_ROLES)
def task_upload(task_id):
    task = _task_or_404(task_id)
    upload = request.files.get("file")
    if upload is None:
        return _task_refused(task, ops.WorkspaceError("Choose a file to upload.", 422), "evidence")
    cfg = current_app.config
    try:
        ops.add_attachment(task, upload, actor(), cfg["UPLOAD_ROOT"], g.client.schema_name,
                           cfg["MAX_UPLOAD_MB"] * 1024 * 1024)
    except ops.WorkspaceError as err:
        return _task_refused(task, err, "evidence")
    return _after_task_change(task, "evidence", f"“{upload.filename}” uploaded.")


def _attachment_or_404(task_id: int, attachment_id: int) -> Attachment:
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.task_id != task_id:
        abort(404)
    return att


@bp.get("/tasks/<int:task_id>/attachments/<int:attachment_id>")
def task_download(task_id, attachment_id):
    att = _attachment_or_404(task_id, attachment_id)
    path = ops.attachment_path(att, current_app.config["UPLOAD_ROOT"], g.client.schema_name)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=att.content_type, as_attachment=True, download_name=att.filename)


@bp.post("/tasks/<int:task_id>/attachments/<int:attachment_id>/delete")
@requires(*WRITER_ROLES)
def task_delete_attachment(task_id, attachment_id):
    att = _attachment_or_404(task_id, attachment_id)
    task = att.task
    try:
        ops.delete_attachment(att, actor(), current_app.config["UPLOAD_ROOT"], g.client.schema_name)
    except ops.WorkspaceError as err:
        return _task_refused(task, err, "evidence")
    return _after_task_change(task, "evidence", "File removed; the activity log keeps a record of it.")


# --- documents and findings ----------------------------------------------------------------

@bp.get("/documents")
def documents():
    docs = db.session.scalars(select(Document).join(Stage, Stage.key == Document.stage)
                              .order_by(Stage.position, Document.id)).all()
    return render("workspace/documents.html", None, client=g.client, documents=docs,
                  statuses=ops.DOCUMENT_STATUS_LABELS, can_write=g.client_role in WRITER_ROLES,
                  can_approve=g.client_role in APPROVERS)


@bp.post("/documents/<int:doc_id>/status")
@requires(*WRITER_ROLES)
def document_status(doc_id):
    doc = db.session.get(Document, doc_id) or abort(404)
    try:
        ops.set_document_status(doc, request.form.get("status", ""), actor(), g.client_role in APPROVERS)
    except ops.WorkspaceError as err:
        return refused(err, "workspace.documents")
    ops.save(g.client)
    flash(f"“{doc.title}” is now {ops.DOCUMENT_STATUS_LABELS[doc.status].lower()}.", "success")
    return redirect(url_for("workspace.documents") + f"#doc-{doc.id}", 303)


@bp.get("/findings")
def findings():
    rows = db.session.scalars(select(Finding).order_by(Finding.status.desc(), Finding.raised_at.desc())).all()
    return render_template("workspace/findings.html", client=g.client, findings=rows, stages=STAGE_KEYS,
                           current=ops.current_stage_key(), can_raise=g.client_role in CONSULTANT_ROLES,
                           form=request.form, error=None)


@bp.post("/findings")
@requires(*CONSULTANT_ROLES)
def raise_finding():
    form = request.form
    try:
        ops.raise_finding(form.get("stage", ""), form.get("severity", ""), form.get("title", ""),
                          form.get("clause"), form.get("description", ""), actor())
    except ops.WorkspaceError as err:
        db.session.rollback()
        rows = db.session.scalars(select(Finding).order_by(Finding.raised_at.desc())).all()
        return render_template("workspace/findings.html", client=g.client, findings=rows, stages=STAGE_KEYS,
                               current=ops.current_stage_key(), can_raise=True, form=form, error=str(err)), err.status
    ops.save(g.client)
    flash("Finding recorded.", "success")
    return redirect(url_for("workspace.findings"), 303)


@bp.post("/findings/<int:finding_id>/close")
@requires(*CONSULTANT_ROLES)
def close_finding(finding_id):
    finding = db.session.get(Finding, finding_id) or abort(404)
    try:
        ops.close_finding(finding, actor())
    except ops.WorkspaceError as err:
        return refused(err, "workspace.findings")
    ops.save(g.client)
    flash(f"Finding #{finding.id} closed.", "success")
    return redirect(url_for("workspace.findings"), 303)


# --- gates ---------------------------------------------------------------------------------

@bp.get("/gates")
def gates():
    state = ops.client_state()
    stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
    results = {st.key: ops.gate(st.key, state) for st in stages if st.status != "upcoming"}
    reviews = db.session.scalars(select(GateReview).order_by(GateReview.requested_at.desc())).all()
    return render_template("workspace/gates.html", client=g.client, stages=stages, results=results, reviews=reviews,
                           current=state.current_stage, pending=ops.pending_review(state.current_stage),
                           settings=ops.settings(), is_consultant=g.client_role in CONSULTANT_ROLES,
                           can_request=g.client_role in APPROVERS, error=None)


def _gate_action(fn, *args, success: str):
    try:
        fn(*args, actor())
    except ops.WorkspaceError as err:
        return refused(err, "workspace.gates")
    ops.save(g.client)
    flash(success, "success")
    return redirect(url_for("workspace.gates"), 303)


@bp.post("/gates/<stage>/request")
@requires(*APPROVERS)
def gate_request(stage):
    _known_stage(stage)
    return _gate_action(ops.request_gate_review, stage, request.form.get("note", ""),
                        success=f"Review of the {stage_label(stage)} gate requested: it now shows as awaiting approval in your consultant's portfolio.")


@bp.post("/gates/<stage>/approve")
@requires(*CONSULTANT_ROLES)
def gate_approve(stage):
    _known_stage(stage)
    return _gate_action(ops.approve_gate, stage, request.form.get("comment", ""),
                        success=f"{stage_label(stage)} gate approved.")


@bp.post("/gates/<stage>/send-back")
@requires(*CONSULTANT_ROLES)
def gate_send_back(stage):
    _known_stage(stage)
    return _gate_action(ops.send_back_gate, stage, request.form.get("reasons", ""),
                        success=f"{stage_label(stage)} gate sent back with your reasons.")


@bp.post("/stages/<stage>/reopen")
@requires(*CONSULTANT_ROLES)
def stage_reopen(stage):
    _known_stage(stage)
    return _gate_action(ops.reopen_stage, stage, request.form.get("reason", ""),
                        success=f"{stage_label(stage)} reopened.")


@bp.post("/certification")
@requires(*CONSULTANT_ROLES)
def certification_decision():
    raw = request.form.get("decided_on", "").strip()
    try:
        decided = date.fromisoformat(raw) if raw else None
    except ValueError:
        return refused(ops.WorkspaceError("Enter the decision date as YYYY-MM-DD.", 422), "workspace.gates")
    return _gate_action(ops.record_certification_decision, request.form.get("decision", ""),
                        request.form.get("body"), decided, success="Certification decision recorded.")


def _known_stage(stage: str) -> None:
    if stage not in STAGE_KEYS:
        abort(404)


# --- plan ----------------------------------------------------------------------------------

def _newer_template():
    """The latest version of the client's template if it is one of the consultancy's own copies and newer
    than the version the client is pinned to; None otherwise (standard templates change only by release)."""
    s = ops.settings()
    latest = library.latest_row(g.client.account_id, s.template_key, with_data=False)
    if latest is None or latest.version <= s.template_version:
        return None
    return library.as_template(library.latest_row(g.client.account_id, s.template_key))


@bp.get("/plan")
def plan():
    stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
    actual_done = dict(db.session.execute(select(Task.stage, func.max(Task.completed_at)).group_by(Task.stage)).all())
    due = dict(db.session.execute(select(Task.stage, func.max(Task.due_on)).group_by(Task.stage)).all())
    s = ops.settings()
    span_start = s.start_on
    span_end = max([s.target_on] + [d for d in due.values() if d] + [date.today()])
    newer = _newer_template()
    update = None
    if newer is not None:
        update = {"template": newer, "changes": ops.wf.describe_changes(ops.template(), newer),
                  "effect": ops.preview_template(newer)}
    return render_template("workspace/plan.html", client=g.client, stages=stages, settings=s, due=due,
                           actual_done=actual_done, span=(span_start, span_end), today=date.today(),
                           can_shift=g.client_role in CONSULTANT_ROLES, error=None, update=update)


@bp.post("/plan/apply-template")
@requires(*CONSULTANT_ROLES)
def plan_apply_template():
    newer = _newer_template()
    if newer is None:
        return refused(ops.WorkspaceError("There is no newer version of this client's template to apply.", 409),
                       "workspace.plan")
    if request.form.get("version", "").strip() != str(newer.version):
        # The consultant reviewed another version than the latest: show them what they would really apply.
        return refused(ops.WorkspaceError(f"Version {newer.version} was saved after you opened this page. "
                                          "Review its changes below, then apply it.", 409), "workspace.plan")
    try:
        result = ops.apply_template(newer, actor())
    except ops.WorkspaceError as err:
        return refused(err, "workspace.plan")
    ops.save(g.client)
    counts = result.counts()
    documents = counts["documents_added"] + counts["documents_updated"] + counts["documents_removed"]
    done = [f"{n} {word if n == 1 else word + 's'}{what}" for n, word, what in (
        (counts["tasks_added"], "task", " added"), (counts["tasks_updated"], "task", " reworded"),
        (counts["tasks_removed"], "task", " removed"), (documents, "document change", "")) if n]
    flash(f"Version {newer.version} applied: {', '.join(done) if done else 'nothing in the plan needed changing'}. "
          "The activity log lists what was kept and why.", "success")
    return redirect(url_for("workspace.plan"), 303)


@bp.post("/plan/shift")
@requires(*CONSULTANT_ROLES)
def plan_shift():
    raw = request.form.get("days", "").strip()
    stage = request.form.get("stage", "")
    try:
        days = int(raw)
        if not -365 <= days <= 365 or days == 0:
            raise ValueError
    except ValueError:
        flash("Enter a number of days between -365 and 365 (not 0).", "error")
        return redirect(url_for("workspace.plan"), 303)
    ops.shift_plan(days, stage if stage in STAGE_KEYS else None, actor())
    ops.save(g.client)
    flash(f"Open tasks{' of ' + stage_label(stage) if stage in STAGE_KEYS else ''} moved by {days} days.", "success")
    return redirect(url_for("workspace.plan"), 303)


# --- activity ------------------------------------------------------------------------------

ACTIVITY_KINDS = {"task": "Tasks", "attachment": "Evidence", "gate": "Gates", "stage": "Stages",
                  "document": "Documents", "finding": "Findings", "plan": "Plan"}


@bp.get("/activity")
def activity():
    kind = request.args.get("kind", "")
    who = request.args.get("who", "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    q = select(ActivityEntry).order_by(ActivityEntry.at.desc(), ActivityEntry.id.desc())
    if kind in ACTIVITY_KINDS:
        q = q.where(ActivityEntry.action.like(f"{kind}.%"))
    if who:
        q = q.where(ActivityEntry.actor_name.ilike(f"%{who}%"))
    entries = db.session.scalars(q.limit(51).offset((page - 1) * 50)).all()
    return render("workspace/activity.html", "entries", client=g.client, entries=entries[:50],
                  has_more=len(entries) > 50, page=page, kind=kind, who=who, kinds=ACTIVITY_KINDS)


# --- people --------------------------------------------------------------------------------

def _people_page(form, status=200):
    members = db.session.execute(
        select(User, ClientMember.role).join(ClientMember, ClientMember.user_id == User.id)
        .where(ClientMember.client_id == g.client.id).order_by(User.name)
    ).all()
    pending = db.session.scalars(
        select(Invitation).where(Invitation.client_id == g.client.id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    return render_template("workspace/people.html", client=g.client, form=form, members=members,
                           consultants=g.client.consultants, pending=pending,
                           can_invite=g.client_role in PEOPLE_MANAGERS), status


def _invite_form():
    form = InviteForm()
    form.role.choices = [("staff", "Staff"), ("client_admin", "Client admin"), ("auditor", "Auditor (read-only)")]
    return form


@bp.get("/people")
def people():
    return _people_page(_invite_form())


@bp.post("/people")
@requires(*PEOPLE_MANAGERS)
def invite_person():
    form = _invite_form()
    if not form.validate_on_submit():
        return _people_page(form, 422)
    try:
        invitation = invite_and_notify(current_user, g.client.account, form.email.data, form.role.data,
                                       client=g.client)
    except AccountError as err:
        form.email.errors = [str(err)]
        return _people_page(form, 422)
    flash(f"Invitation sent to {invitation.email}.", "success")
    return redirect(url_for("workspace.people"))
