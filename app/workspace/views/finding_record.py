"""One finding's record: the statement, reaction and evaluation; corrective actions (each a task), their
completion and verification by someone other than the owner; the certification body's side; escalation."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

from workflows import nonconformity as nc
from workflows.stages import STAGE_KEYS, is_before
from workflows.vocabulary import TASK_STATUS_LABELS

from ... import clock
from ...extensions import db
from ...inputs import parse_id
from ...models import Finding
from ...permissions import (FINDING_CB_ROLES, FINDING_CLOSERS, FINDING_TARGETERS, FINDING_WORKERS, may_change,
                            requires)
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, people


def record_page(finding: Finding, error: Refusal | None = None, form: str | None = None, typed=None):
    """The record; after a refusal the form that was sent (`form`) shows what was typed and why."""
    typed = typed or {}
    record = ops.RecordForm.from_form(typed, finding) if form == "record" else ops.RecordForm.of(finding)
    unmet = nc.closure_unmet(ops.record_state(finding), "-") if finding.status == "open" else []
    return render("workspace/finding.html", client=g.client, f=finding, record=record, typed=typed,
                  error=error, error_form=form, ageing=ops.ageing(finding), unmet=unmet, people=people(),
                  kind=nc.kind_of(finding.kind, finding.severity), kinds=nc.KINDS, sources=nc.SOURCES,
                  cause_methods=nc.CAUSE_METHODS, cause_categories=nc.CAUSE_CATEGORIES,
                  results=nc.VERIFICATION_RESULTS, cb_methods=nc.CB_VERIFICATION_METHODS,
                  escalations=nc.ESCALATION_DECISIONS, task_statuses=TASK_STATUS_LABELS, today=clock.today(),
                  is_cb=nc.response_audit(finding.source) is not None,
                  can_work=may_change(*FINDING_WORKERS), can_close=may_change(*FINDING_CLOSERS),
                  can_cb=may_change(*FINDING_CB_ROLES), me=actor().id, can_target=may_change(*FINDING_TARGETERS),
                  target_choices=[s for s in STAGE_KEYS if not is_before(s, finding.stage)]), \
        (error.status if error else 200)


def _done(finding: Finding, message: str, anchor: str = ""):
    ops.save(g.client)
    flash(message, "success")
    return redirect(url_for("workspace.finding", finding_id=finding.id) + anchor, 303)


def _refused(finding_id: int, err: Refusal, form: str):
    db.session.rollback()
    return record_page(db.get_or_404(Finding, finding_id), err, form, request.form)


def _owner(field: str = "owner"):
    user_id = parse_id(request.form.get(field, ""))
    return people().get(user_id) if user_id is not None else None


@bp.get("/findings/<int:finding_id>")
def finding(finding_id):
    return record_page(db.get_or_404(Finding, finding_id))


@bp.post("/findings/<int:finding_id>/record")
@requires(*FINDING_WORKERS)
def finding_record(finding_id):
    finding = db.get_or_404(Finding, finding_id)
    try:
        changed = ops.update_record(finding, ops.RecordForm.from_form(request.form, finding), actor())
    except Refusal as err:
        return _refused(finding_id, err, "record")
    return _done(finding, "Record saved." if changed else "Nothing changed.", "#record")


@bp.post("/findings/<int:finding_id>/actions")
@requires(*FINDING_WORKERS)
def finding_action(finding_id):
    finding = db.get_or_404(Finding, finding_id)
    try:
        action = ops.add_action(finding, request.form.get("description", ""), _owner(),
                                request.form.get("due_on", ""), actor())
    except Refusal as err:
        return _refused(finding_id, err, "action")
    return _done(finding, f"Corrective action #{action.id} planned; its task is on the task list.", "#actions")


@bp.post("/findings/<int:finding_id>/actions/<int:action_id>/done")
@requires(*FINDING_WORKERS)
def finding_action_done(finding_id, action_id):
    finding = db.get_or_404(Finding, finding_id)
    try:
        ops.complete_action(finding, ops.action_of(finding, action_id), actor())
    except Refusal as err:
        return _refused(finding_id, err, f"done-{action_id}")
    return _done(finding, f"Corrective action #{action_id} completed.", f"#action-{action_id}")


@bp.post("/findings/<int:finding_id>/actions/<int:action_id>/verification")
@requires(*FINDING_WORKERS)
def finding_verification(finding_id, action_id):
    finding = db.get_or_404(Finding, finding_id)
    f = request.form
    follow = ops.FollowUp(f.get("follow_description", ""), _owner("follow_owner"), f.get("follow_due_on", ""))
    try:
        ops.verify_action(finding, ops.action_of(finding, action_id), f.get("verify_on", ""),
                          f.get("verify_method", ""), f.get("verify_criteria", ""), f.get("result", ""),
                          f.get("result_note", ""), actor(), follow)
    except Refusal as err:
        return _refused(finding_id, err, f"verify-{action_id}")
    return _done(finding, f"Effectiveness of action #{action_id} recorded.", f"#action-{action_id}")


@bp.post("/findings/<int:finding_id>/certification-body")
@requires(*FINDING_CB_ROLES)
def finding_cb(finding_id):
    finding = db.get_or_404(Finding, finding_id)
    f = request.form
    try:
        ops.save_cb_response(finding, f.get("cb_reference", ""), f.get("cb_submitted_on", ""),
                             f.get("cb_accepted_on", ""), f.get("cb_verification", ""), actor())
    except Refusal as err:
        return _refused(finding_id, err, "cb")
    return _done(finding, "The certification body's response saved.", "#certification-body")


@bp.post("/findings/<int:finding_id>/escalation")
@requires(*FINDING_CLOSERS)
def finding_escalation(finding_id):
    finding = db.get_or_404(Finding, finding_id)
    try:
        ops.decide_escalation(finding, request.form.get("decision", ""), request.form.get("escalation_reason", ""),
                              actor())
    except Refusal as err:
        return _refused(finding_id, err, "escalation")
    return _done(finding, "Escalation decided.", "#ageing")


@bp.post("/findings/<int:finding_id>/target-stage")
@requires(*FINDING_TARGETERS)
def finding_target_stage(finding_id):
    finding = db.get_or_404(Finding, finding_id)
    try:
        changed = ops.set_target_stage(finding, request.form.get("target_stage", ""), actor())
    except Refusal as err:
        return _refused(finding_id, err, "target")
    return _done(finding, "Target stage moved." if changed else "Nothing changed.", "#target-stage")
