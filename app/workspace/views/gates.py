"""Stage gates: the gates page, review requests and decisions, reopening, the certification decision."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from sqlalchemy import select

from workflows.stages import STAGE_KEYS, stage_label

from ...extensions import db
from ...models import GateReview
from ...permissions import CLIENT_MANAGERS, CONSULTANT_ROLES, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, refused


@bp.get("/gates")
def gates():
    state = ops.client_state()
    stages = ops.stages()
    results = {st.key: ops.gate(st.key, state) for st in stages if st.status != "upcoming"}
    reviews = db.session.scalars(select(GateReview).order_by(GateReview.requested_at.desc())).all()
    return render("workspace/gates.html", client=g.client, stages=stages, results=results, reviews=reviews,
                  current=state.current_stage, pending=ops.pending_review(state.current_stage),
                  settings=ops.settings(), is_consultant=g.client_role in CONSULTANT_ROLES,
                  can_request=g.client_role in CLIENT_MANAGERS, error=None)


def _gate_action(fn, *args, success: str):
    try:
        fn(*args, actor())
    except Refusal as err:
        return refused(err, "workspace.gates")
    ops.save(g.client)
    flash(success, "success")
    return redirect(url_for("workspace.gates"), 303)


def _known_stage(stage: str) -> None:
    if stage not in STAGE_KEYS:
        abort(404)


@bp.post("/gates/<stage>/request")
@requires(*CLIENT_MANAGERS)
def gate_request(stage):
    _known_stage(stage)
    return _gate_action(ops.request_gate_review, stage, request.form.get("note", ""),
                        success=f"Review of the {stage_label(stage)} gate requested: it now shows as awaiting "
                                "approval in your consultant's portfolio.")


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
        return refused(Refusal("Enter the decision date as YYYY-MM-DD.", 422, field="decided_on"), "workspace.gates")
    return _gate_action(ops.record_certification_decision, request.form.get("decision", ""),
                        request.form.get("body"), decided, success="Certification decision recorded.")
