"""What happens in a client's workspace: the bridge between the request, the
workflow rules in `workflows/` and the client's tables.

Every function runs inside a bound tenant scope (a request under /c/<slug>/ or
`tenant_scope`), records what it changed in the activity log, and leaves the
commit to `save()`, which first brings the portfolio's summary row up to date —
so the summary can never disagree with the data it summarises.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

import tenants
import workflows as wf
from workflows.stages import STAGE_KEYS, next_stage, stage_label

from ..extensions import db
from ..models import (
    ActivityEntry,
    Attachment,
    Client,
    ClientSummary,
    Document,
    Finding,
    GateReview,
    Stage,
    Task,
    TaskComment,
    User,
    WorkspaceSettings,
)


class WorkspaceError(Exception):
    """An invalid change, with the HTTP status that says why (409 conflict, 413, 422)."""

    def __init__(self, message: str, status: int = 409, unmet: list | None = None):
        super().__init__(message)
        self.status = status
        self.unmet = unmet or []


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str

    @classmethod
    def of(cls, user) -> "Actor":
        return cls(user.id, user.name) if user is not None else cls(None, "ISOpath")


# The demo generator replays months of history in seconds by setting this clock; everything else uses real time.
clock: ContextVar = ContextVar("workspace_clock", default=None)


def _now() -> datetime:
    override = clock.get()
    return override() if override else datetime.now(timezone.utc)


def log(actor: Actor, action: str, obj_type: str, obj_id, summary: str, before=None, after=None) -> None:
    db.session.add(ActivityEntry(at=_now(), actor_id=actor.id, actor_name=actor.name, action=action, object_type=obj_type,
                                 object_id=None if obj_id is None else str(obj_id), summary=summary,
                                 before=before, after=after))


# --- starting a client ---------------------------------------------------------------------

def start_workspace(template: wf.Template, start_on: date, target_on: date, actor: Actor) -> None:
    """Pin the template and generate the plan: tasks with due dates, documents, stage windows."""
    try:
        planned = wf.plan_tasks(template, start_on, target_on)
        windows = {w.stage: w for w in wf.stage_windows(template, start_on, target_on)}
    except wf.PlanError as err:
        raise WorkspaceError(str(err), 422) from err
    db.session.add(WorkspaceSettings(id=1, start_on=start_on, target_on=target_on, template_key=template.key,
                                     template_version=template.version, template_snapshot=template.to_dict()))
    for position, key in enumerate(STAGE_KEYS):
        w = windows.get(key)
        db.session.add(Stage(key=key, position=position, status="current" if position == 0 else "upcoming",
                             entered_at=_now() if position == 0 else None,
                             planned_start=_midnight(w.start_date) if w else None,
                             planned_end=_midnight(w.end_date) if w else None))
    db.session.flush()
    for position, p in enumerate(planned):
        t = template.find_task(p.key)
        db.session.add(Task(key=p.key, stage=p.stage, position=position, title=t.title, guidance=t.guidance,
                            clauses=list(t.clauses), role=t.role, required=t.required,
                            allow_not_applicable=t.allow_not_applicable, start_on=p.start_date, due_on=p.due_date))
    for stage in template.stages:
        for d in stage.documents:
            db.session.add(Document(key=d.key, stage=stage.key, title=d.title, kind=d.kind, clauses=list(d.clauses),
                                    required=d.required))
    log(actor, "plan.created", "plan", None,
        f"Plan created from {template.name} v{template.version}: {len(planned)} tasks, "
        f"{start_on:%d %b %Y} → {target_on:%d %b %Y}")


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


# --- reading the client's state ------------------------------------------------------------

def settings() -> WorkspaceSettings:
    return db.session.get(WorkspaceSettings, 1)


def template() -> wf.Template:
    return wf.Template.from_dict(settings().template_snapshot)


def current_stage_key() -> str:
    return db.session.scalar(select(Stage.key).where(Stage.status == "current").order_by(Stage.position)) \
        or STAGE_KEYS[-1]


def client_state() -> wf.ClientState:
    stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
    tasks = db.session.execute(select(Task.key, Task.stage, Task.required, Task.status, Task.title)).all()
    docs = db.session.execute(select(Document.key, Document.stage, Document.required, Document.status,
                                     Document.title)).all()
    findings = db.session.execute(select(Finding.id, Finding.stage, Finding.severity, Finding.status,
                                         Finding.title)).all()
    s = settings()
    current = next((st.key for st in stages if st.status == "current"), STAGE_KEYS[-1])
    return wf.ClientState(
        current_stage=current,
        tasks=[wf.TaskState(*row) for row in tasks],
        documents=[wf.DocumentState(*row) for row in docs],
        findings=[wf.FindingState(*row) for row in findings],
        signoffs={st.key for st in stages if st.status == "passed"},
        certification_decision=s.certification_decision if s else None,
    )


def gate(stage_key: str, state: wf.ClientState | None = None) -> wf.GateResult:
    return wf.evaluate_gate(template(), state or client_state(), stage_key)


def pending_review(stage_key: str) -> GateReview | None:
    return db.session.scalar(select(GateReview).where(GateReview.stage == stage_key,
                                                      GateReview.status == "requested"))


# --- tasks --------------------------------------------------------------------------------

TASK_STATUS_LABELS = {"todo": "To do", "in_progress": "In progress", "done": "Done",
                      "not_applicable": "Not applicable"}


def set_task_status(task: Task, status: str, reason: str | None, actor: Actor) -> None:
    _ensure_workable(task)  # a locked stage is a conflict (409); bad input below is 422
    current = wf.TaskState(task.key, task.stage, task.required, task.status, task.title)
    try:
        wf.check_task_transition(client_state(), current, status, reason, template=template())
    except wf.TransitionError as err:
        raise WorkspaceError(str(err), 422) from err
    if status == task.status and (status != "not_applicable" or reason == task.not_applicable_reason):
        return
    before = {"status": task.status, "not_applicable_reason": task.not_applicable_reason}
    task.status = status
    task.not_applicable_reason = reason.strip() if status == "not_applicable" else None
    task.completed_at = _now() if status == "done" else None
    task.completed_by_id = actor.id if status == "done" else None
    log(actor, "task.status", "task", task.id,
        f"“{task.title}”: {TASK_STATUS_LABELS[before['status']]} → {TASK_STATUS_LABELS[status]}"
        + (f" ({task.not_applicable_reason})" if status == "not_applicable" else ""),
        before, {"status": task.status, "not_applicable_reason": task.not_applicable_reason})


def _ensure_workable(task: Task) -> None:
    if not wf.can_work_on(client_state(), task.stage):
        raise WorkspaceError(f"“{task.title}” belongs to {stage_label(task.stage)}, which is locked until the "
                             f"client reaches it.", 409)


def assign_task(task: Task, assignee: User | None, actor: Actor) -> None:
    new_id = assignee.id if assignee else None
    if new_id == task.assignee_id:
        return
    before = {"assignee_id": task.assignee_id}
    task.assignee_id = new_id
    log(actor, "task.assigned", "task", task.id,
        f"“{task.title}” assigned to {assignee.name}" if assignee else f"“{task.title}” unassigned",
        before, {"assignee_id": new_id})


def set_due_date(task: Task, due_on: date | None, actor: Actor) -> None:
    if due_on == task.due_on:
        return
    before = {"due_on": task.due_on.isoformat() if task.due_on else None}
    task.due_on = due_on
    log(actor, "task.due", "task", task.id,
        f"“{task.title}” due {due_on:%d %b %Y}" if due_on else f"“{task.title}”: due date removed",
        before, {"due_on": due_on.isoformat() if due_on else None})


def add_comment(task: Task, body: str, actor: Actor) -> TaskComment:
    body = (body or "").strip()
    if not body:
        raise WorkspaceError("Write a comment first.", 422)
    if len(body) > 10_000:
        raise WorkspaceError("Keep comments under 10,000 characters.", 422)
    comment = TaskComment(task=task, author_id=actor.id, author_name=actor.name, body=body)
    db.session.add(comment)
    db.session.flush()
    log(actor, "task.comment", "task", task.id, f"Comment on “{task.title}”", None, {"comment_id": comment.id})
    return comment


# --- evidence files -----------------------------------------------------------------------

ALLOWED_EXTENSIONS = {
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "txt", "csv", "md",
    "png", "jpg", "jpeg", "gif", "webp", "svg", "eml", "msg", "json", "xml",
}
# Executables are refused whatever their name says.
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


def add_attachment(task: Task, upload, actor: Actor, upload_root: str, schema: str, max_bytes: int) -> Attachment:
    """Store an uploaded file as evidence; the bytes go under UPLOAD_ROOT/<schema>/."""
    _ensure_workable(task)
    filename = os.path.basename((upload.filename or "").replace("\\", "/")).strip()
    if not filename:
        raise WorkspaceError("Choose a file to upload.", 422)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED_EXTENSIONS:
        raise WorkspaceError(f"“{filename}” can't be uploaded: use a document, spreadsheet, PDF, image or e-mail "
                             f"file ({', '.join(sorted(ALLOWED_EXTENSIONS))}).", 422)
    head = upload.stream.read(4)
    if head.startswith(EXECUTABLE_MAGIC):
        raise WorkspaceError(f"“{filename}” looks like a program; executables can't be uploaded.", 422)
    relative = f"attachments/{secrets.token_hex(16)}"
    target = Path(upload_root) / schema / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(head), len(head)
    try:
        with open(target, "wb") as out:
            out.write(head)
            for chunk in iter(lambda: upload.stream.read(1 << 16), b""):
                size += len(chunk)
                if size > max_bytes:
                    raise WorkspaceError(f"“{filename}” is larger than {max_bytes // (1024 * 1024)} MB.", 413)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise WorkspaceError(f"“{filename}” is empty.", 422)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    att = Attachment(task=task, filename=filename[:255], content_type=(upload.mimetype or "application/octet-stream")[:120],
                     size_bytes=size, sha256=digest.hexdigest(), storage_path=relative,
                     uploaded_by_id=actor.id, uploaded_by_name=actor.name)
    db.session.add(att)
    db.session.flush()
    log(actor, "attachment.added", "task", task.id, f"Evidence “{filename}” added to “{task.title}”",
        None, {"attachment_id": att.id, "filename": filename, "size_bytes": size, "sha256": att.sha256})
    return att


def attachment_path(att: Attachment, upload_root: str, schema: str) -> Path:
    return Path(upload_root) / schema / att.storage_path


def delete_attachment(att: Attachment, actor: Actor, upload_root: str, schema: str) -> None:
    _ensure_workable(att.task)
    log(actor, "attachment.deleted", "task", att.task_id, f"Evidence “{att.filename}” removed from “{att.task.title}”",
        {"attachment_id": att.id, "filename": att.filename, "size_bytes": att.size_bytes, "sha256": att.sha256}, None)
    path = attachment_path(att, upload_root, schema)
    db.session.delete(att)
    db.session.flush()
    # The file goes only once the row is gone; a failed commit leaves an unreferenced file, never a broken row.
    path.unlink(missing_ok=True)


# --- documents and findings --------------------------------------------------------------

DOCUMENT_STATUS_LABELS = {"draft": "Draft", "in_review": "In review", "approved": "Approved", "obsolete": "Obsolete"}


def set_document_status(doc: Document, status: str, actor: Actor, may_approve: bool) -> None:
    if status not in DOCUMENT_STATUS_LABELS:
        raise WorkspaceError("Choose a valid document status.", 422)
    if status == "approved" and not may_approve:
        raise WorkspaceError("Only a consultant or the client's admin can approve documents.", 403)
    if status == doc.status:
        return
    before = {"status": doc.status}
    doc.status = status
    doc.approved_by_id = actor.id if status == "approved" else None
    doc.approved_at = _now() if status == "approved" else None
    log(actor, "document.status", "document", doc.id,
        f"“{doc.title}”: {DOCUMENT_STATUS_LABELS[before['status']]} → {DOCUMENT_STATUS_LABELS[status]}",
        before, {"status": status})


def raise_finding(stage: str, severity: str, title: str, clause: str | None, description: str, actor: Actor) -> Finding:
    if severity not in wf.FINDING_SEVERITIES:
        raise WorkspaceError("Choose a severity.", 422)
    if not (title or "").strip():
        raise WorkspaceError("Describe the finding in a short title.", 422)
    if stage not in STAGE_KEYS:
        raise WorkspaceError("Choose a stage.", 422)
    finding = Finding(stage=stage, severity=severity, title=title.strip()[:300], clause=(clause or "").strip() or None,
                      description=(description or "").strip(), raised_by_id=actor.id, raised_at=_now())
    db.session.add(finding)
    db.session.flush()
    log(actor, "finding.raised", "finding", finding.id, f"{severity.title()} finding #{finding.id}: {finding.title}",
        None, {"severity": severity, "clause": finding.clause})
    return finding


def close_finding(finding: Finding, actor: Actor) -> None:
    if finding.status == "closed":
        raise WorkspaceError(f"Finding #{finding.id} is already closed.", 409)
    finding.status, finding.closed_at = "closed", _now()
    log(actor, "finding.closed", "finding", finding.id, f"Finding #{finding.id} closed: {finding.title}",
        {"status": "open"}, {"status": "closed"})


def record_certification_decision(decision: str, body: str | None, decided_on: date | None, actor: Actor) -> None:
    if decision not in ("certified", "not_certified", "pending"):
        raise WorkspaceError("Choose the certification body's decision.", 422)
    s = settings()
    before = {"certification_decision": s.certification_decision}
    s.certification_decision, s.certification_body = decision, (body or "").strip() or s.certification_body
    s.certification_decided_on = decided_on
    log(actor, "certification.decision", "plan", None,
        f"Certification body decision recorded: {decision.replace('_', ' ')}", before,
        {"certification_decision": decision})


# --- gates --------------------------------------------------------------------------------

def request_gate_review(stage_key: str, note: str, actor: Actor) -> GateReview:
    state = client_state()
    if stage_key != state.current_stage:
        raise WorkspaceError(f"Only the current stage's gate can be reviewed; the client is in "
                             f"{stage_label(state.current_stage)}.", 409)
    if pending_review(stage_key):
        raise WorkspaceError("A review of this gate is already waiting for the consultant.", 409)
    result = gate(stage_key, state)
    if not result.ready_for_signoff:
        raise WorkspaceError("The gate can't be reviewed yet: " + "; ".join(u.message for u in result.blocking) + ".",
                             409, result.blocking)
    review = GateReview(stage=stage_key, requested_by_id=actor.id, requested_by_name=actor.name,
                        request_note=(note or "").strip(), requested_at=_now())
    db.session.add(review)
    db.session.flush()
    log(actor, "gate.requested", "gate", stage_key, f"Gate review requested for {stage_label(stage_key)}",
        None, {"review_id": review.id})
    return review


def approve_gate(stage_key: str, comment: str, actor: Actor) -> None:
    """Sign the gate off and move the client into the next stage."""
    state = client_state()
    try:
        wf.approve_gate(template(), state, stage_key)
    except wf.GateBlocked as blocked:
        raise WorkspaceError("The gate can't be approved: " + "; ".join(u.message for u in blocked.unmet) + ".",
                             409, list(blocked.unmet)) from blocked
    except wf.TransitionError as err:
        raise WorkspaceError(str(err), 409) from err
    now = _now()
    stage = db.session.get(Stage, stage_key)
    stage.status, stage.passed_at, stage.passed_by_id = "passed", now, actor.id
    following = next_stage(stage_key)
    if following:
        nxt = db.session.get(Stage, following)
        nxt.status, nxt.entered_at = "current", now
    review = pending_review(stage_key) or GateReview(stage=stage_key, requested_by_id=actor.id,
                                                     requested_by_name=actor.name, requested_at=now)
    review.status, review.decided_by_id, review.decided_by_name = "approved", actor.id, actor.name
    review.decided_at, review.decision_comment = now, (comment or "").strip()
    db.session.add(review)
    target = f"the client enters {stage_label(following)}" if following else "the client is certified"
    log(actor, "gate.approved", "gate", stage_key,
        f"{stage_label(stage_key)} gate approved: {target}" + (f" — “{comment.strip()}”" if comment and comment.strip() else ""),
        {"current_stage": stage_key}, {"current_stage": following or stage_key, "passed": stage_key})


def send_back_gate(stage_key: str, reasons: str, actor: Actor) -> None:
    reasons = (reasons or "").strip()
    if not reasons:
        raise WorkspaceError("Say what still needs doing, so the client knows why the gate was sent back.", 422)
    review = pending_review(stage_key)
    if review is None:
        raise WorkspaceError("There is no pending review of this gate to send back.", 409)
    review.status, review.decided_by_id, review.decided_by_name = "sent_back", actor.id, actor.name
    review.decided_at, review.decision_comment = _now(), reasons
    log(actor, "gate.sent_back", "gate", stage_key, f"{stage_label(stage_key)} gate sent back: {reasons}",
        {"status": "requested"}, {"status": "sent_back"})


def reopen_stage(stage_key: str, reason: str, actor: Actor) -> None:
    try:
        new_state = wf.reopen_stage(client_state(), stage_key, reason)
    except wf.TransitionError as err:
        raise WorkspaceError(str(err), 422 if not (reason or "").strip() else 409) from err
    for stage in db.session.scalars(select(Stage)):
        if stage.key == new_state.current_stage:
            stage.status, stage.passed_at, stage.passed_by_id = "current", None, None
        elif stage.key not in new_state.signoffs:
            if stage.status != "upcoming":
                stage.status, stage.passed_at, stage.passed_by_id, stage.entered_at = "upcoming", None, None, None
    s = settings()
    if new_state.certification_decision != s.certification_decision:
        s.certification_decision = new_state.certification_decision
    log(actor, "stage.reopened", "stage", stage_key, f"{stage_label(stage_key)} reopened: {reason.strip()}",
        None, {"current_stage": stage_key, "reason": reason.strip()})


def shift_plan(days: int, stage_key: str | None, actor: Actor) -> int:
    """Move the due dates of open tasks (of one stage, or all) by `days`; returns how many moved."""
    delta = timedelta(days=days)
    q = select(Task).where(Task.status.in_(("todo", "in_progress")), Task.due_on.is_not(None))
    if stage_key:
        q = q.where(Task.stage == stage_key)
    moved = 0
    for task in db.session.scalars(q):
        task.due_on += delta
        if task.start_on:
            task.start_on += delta
        moved += 1
    for stage in db.session.scalars(select(Stage)):
        if stage.status != "passed" and (stage_key is None or stage.key == stage_key) and stage.planned_end:
            stage.planned_end += delta
            if stage.planned_start and stage.status == "upcoming":
                stage.planned_start += delta
    log(actor, "plan.shifted", "plan", stage_key,
        f"{moved} open task{'s' if moved != 1 else ''}{' of ' + stage_label(stage_key) if stage_key else ''} "
        f"moved by {days:+d} days", None, {"days": days, "stage": stage_key, "tasks": moved})
    return moved


# --- applying a newer template version ----------------------------------------------------

def preview_template(new: wf.Template) -> wf.Upgrade:
    """What applying `new` would change for this client; nothing is written."""
    s = settings()
    windows = {st.key: (st.planned_start.date(), st.planned_end.date())
               for st in db.session.scalars(select(Stage)) if st.planned_start and st.planned_end}
    with_evidence = set(db.session.scalars(select(Attachment.task_id).distinct()))
    with_comments = set(db.session.scalars(select(TaskComment.task_id).distinct()))
    tasks = [wf.ClientItem(key, stage, status, task_id in with_evidence, task_id in with_comments)
             for task_id, key, stage, status in db.session.execute(select(Task.id, Task.key, Task.stage, Task.status))]
    documents = [wf.ClientItem(*row) for row in db.session.execute(select(Document.key, Document.stage,
                                                                          Document.status))]
    return wf.plan_upgrade(template(), new, current_stage=current_stage_key(), tasks=tasks, documents=documents,
                           start_on=s.start_on, target_on=s.target_on, windows=windows, today=_now().date())


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _titles(items, reasons: bool = True) -> str:
    return ", ".join(f"“{i.title}”" + (f" ({i.reason})" if reasons and i.reason else "") for i in items)


def apply_template(new: wf.Template, actor: Actor) -> wf.Upgrade:
    """Move the client to a newer version of its template, keeping the work already done (see workflows.upgrade)."""
    # Locked so that two consultants applying at once can't both add the same tasks: the second sees the new version.
    s = db.session.scalars(select(WorkspaceSettings).with_for_update()
                           .execution_options(populate_existing=True)).one()
    if new.key != s.template_key:
        raise WorkspaceError(f"“{new.name}” is not the template this client follows.", 409)
    if new.version <= s.template_version:
        raise WorkspaceError(f"The client is already on version {s.template_version} of {new.name}.", 409)
    plan = preview_template(new)
    tasks = {t.key: t for t in db.session.scalars(select(Task))}
    for add in plan.tasks_added:
        t = add.template
        db.session.add(Task(key=t.key, stage=add.stage, title=t.title, guidance=t.guidance, clauses=list(t.clauses),
                            role=t.role, required=t.required, allow_not_applicable=t.allow_not_applicable,
                            start_on=add.start_date, due_on=add.due_date))
    for update in plan.tasks_updated:
        for name, value in update.changes.items():
            setattr(tasks[update.key], name, value)
    for item in plan.tasks_removed:
        db.session.delete(tasks[item.key])
    documents = {d.key: d for d in db.session.scalars(select(Document))}
    for add in plan.documents_added:
        d = add.template
        db.session.add(Document(key=d.key, stage=add.stage, title=d.title, kind=d.kind, clauses=list(d.clauses),
                                required=d.required))
    for update in plan.documents_updated:
        for name, value in update.changes.items():
            setattr(documents[update.key], name, value)
    for item in plan.documents_removed:
        db.session.delete(documents[item.key])
    db.session.flush()
    # Task lists are ordered by position: follow the new template, with tasks it no longer has at their stage's end.
    order = {t.key: i for i, (_, t) in enumerate(new.iter_tasks())}
    stage_order = {key: i for i, key in enumerate(STAGE_KEYS)}
    for position, task in enumerate(sorted(db.session.scalars(select(Task)),
                                           key=lambda t: (stage_order.get(t.stage, 99), order.get(t.key, len(order)),
                                                          t.position))):
        task.position = position
    before = {"template_version": s.template_version}
    s.template_snapshot, s.template_version = new.to_dict(), new.version
    client = db.session.scalar(select(Client).where(Client.schema_name == tenants.current_schema()))
    if client is not None:
        client.template_version = new.version
    counts = plan.counts()
    parts = [_count(counts[name], *words) for name, words in (
        ("tasks_added", ("task added", "tasks added")), ("tasks_updated", ("task reworded", "tasks reworded")),
        ("tasks_removed", ("task removed", "tasks removed")),
        ("documents_added", ("document added", "documents added")),
        ("documents_updated", ("document updated", "documents updated")),
        ("documents_removed", ("document removed", "documents removed")),
    ) if counts[name]]
    summary = (f"{new.name} v{before['template_version']} → v{new.version} applied: "
               f"{', '.join(parts) if parts else 'nothing to change in the plan'}.")
    if plan.tasks_skipped or plan.documents_skipped:
        summary += (f" Not added, stage already passed: "
                    f"{_titles(plan.tasks_skipped + plan.documents_skipped, reasons=False)}.")
    if plan.tasks_kept or plan.documents_kept:
        summary += f" Kept although removed from the template: {_titles(plan.tasks_kept + plan.documents_kept)}."
    if plan.tasks_unchanged or plan.documents_unchanged:
        summary += f" Finished work keeps its wording: {_titles(plan.tasks_unchanged + plan.documents_unchanged)}."
    log(actor, "plan.template_applied", "plan", None, summary, before, {
        "template_key": new.key, "template_version": new.version, **counts,
        "tasks": {"added": [a.key for a in plan.tasks_added], "updated": [u.key for u in plan.tasks_updated],
                  "removed": [i.key for i in plan.tasks_removed], "skipped": [i.key for i in plan.tasks_skipped],
                  "kept": {i.key: i.reason for i in plan.tasks_kept},
                  "unchanged": {i.key: i.reason for i in plan.tasks_unchanged}},
        "documents": {"added": [a.key for a in plan.documents_added],
                      "updated": [u.key for u in plan.documents_updated],
                      "removed": [i.key for i in plan.documents_removed],
                      "skipped": [i.key for i in plan.documents_skipped],
                      "kept": {i.key: i.reason for i in plan.documents_kept},
                      "unchanged": {i.key: i.reason for i in plan.documents_unchanged}},
    })
    return plan


# --- the portfolio's summary row ----------------------------------------------------------

def refresh_summary(client: Client) -> ClientSummary:
    state = client_state()
    tmpl = template()
    today = date.today()
    open_statuses = ("todo", "in_progress")
    overdue = db.session.scalar(select(func.count()).select_from(Task).where(
        Task.status.in_(open_statuses), Task.due_on < today))
    open_tasks = db.session.scalar(select(func.count()).select_from(Task).where(Task.status.in_(open_statuses)))
    last = db.session.scalar(select(func.max(ActivityEntry.at)))
    summary = db.session.get(ClientSummary, client.id) or ClientSummary(client_id=client.id)
    summary.stage = state.current_stage
    summary.stage_progress = round(100 * wf.stage_progress(state).get(state.current_stage, 0))
    summary.overall_progress = round(100 * wf.overall_progress(state))
    summary.readiness = wf.readiness(tmpl, state).score
    summary.overdue_tasks = overdue
    summary.open_tasks = open_tasks
    summary.gate_awaiting_approval = pending_review(state.current_stage) is not None
    summary.target_certification_on = settings().target_on
    summary.last_activity_at = last
    db.session.add(summary)
    return summary


def save(client: Client) -> None:
    """Commit the change together with an up-to-date summary row."""
    db.session.flush()
    refresh_summary(client)
    db.session.commit()
