"""Stage gates: the gates page, review requests and decisions, reopening, the certification decision, and who
may ask for reviews.

Every gate form answers with a redirect (303) to the gates page, a conflict included: a stale tab's approval
of a gate someone already approved lands on the gates page with the reason flashed, never on a POST that a
refresh would send again. Only input to correct (422) comes back as the page itself, with what was typed.
"""
from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, request, session, url_for
from sqlalchemy import select

from workflows.stages import STAGE_KEYS, is_before, stage_label

from ...extensions import db, htmx
from ...models import GateReview, Stage
from ...permissions import CONSULTANT_ROLES, WRITER_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, client_admin_names, may_request, refused

DRAFT = "gate_draft"  # what was typed into a refused gate form, kept for the page the refusal redirects to
DRAFT_MAX = 1_500  # characters: the session is a cookie; a longer text is not kept (the message still is)
FLASH_MAX = 400  # a long list of unmet criteria is cut short: the gate lists them all anyway
CERTIFICATION = "certification"  # the draft key of the certification decision form (it has no stage)


def _typed() -> dict | None:
    """The form to fill back in: the one just sent (a 422 answered with the page), or a refused one's draft."""
    if request.method == "POST":
        return {"stage": (request.view_args or {}).get("stage", CERTIFICATION), "form": request.form.to_dict()}
    return session.pop(DRAFT, None) if DRAFT in session else None


@bp.get("/gates")
def gates():
    state = ops.client_state()
    stages = ops.stages()
    results = {st.key: ops.gate(st.key, state) for st in stages if st.status != "upcoming"}
    reviews = db.session.scalars(select(GateReview).order_by(GateReview.requested_at.desc(),
                                                             GateReview.id.desc())).all()
    pending, sent_back = ops.review_state(state.current_stage, reviews)
    # Open majors a later stage will remedy: shown under the current gate, which they do not hold.
    later = [f for f in state.findings if f.is_open_major and is_before(state.current_stage, f.holds_from)]
    return render("workspace/gates.html", client=g.client, stages=stages, results=results, reviews=reviews,
                  later_majors=later,
                  current=state.current_stage, pending=pending, sent_back=sent_back, settings=ops.settings(),
                  is_consultant=may_change(*CONSULTANT_ROLES), can_request=may_request(),
                  requesters=client_admin_names(), typed=_typed() or {}, error=None)


def _brief(message: str) -> str:
    if len(message) <= FLASH_MAX:
        return message
    cut = message.rfind("; ", 0, FLASH_MAX)
    return message[:cut if cut > 0 else FLASH_MAX] + "; … and more, listed under the gate."


def _gate_action(fn, *args, success: str, draft: str):
    try:
        fn(*args, actor())
    except Refusal as err:
        # A conflict sent from a plain form (a stale second tab, a double click) redirects, so that a refresh
        # shows the gates page instead of posting again; htmx keeps the page's URL and gets the 409 itself.
        if err.status != 409 or htmx:
            return refused(err, "workspace.gates")
        db.session.rollback()
        flash(_brief(str(err)), "error")
        typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
        if sum(len(v) for v in typed.values()) <= DRAFT_MAX:
            session[DRAFT] = {"stage": draft, "form": typed}
        return _to_gates(draft)
    ops.save(g.client)
    flash(success, "success")
    return _to_gates(draft)


def _to_gates(anchor: str):
    return redirect(url_for("workspace.gates") + (f"#gate-{anchor}" if anchor in STAGE_KEYS else ""), 303)


def _known_stage(stage: str) -> None:
    if stage not in STAGE_KEYS:
        abort(404)


@bp.post("/gates/<stage>/request")
@requires(*WRITER_ROLES)
def gate_request(stage):
    if not may_request():  # staff only when a consultant has let them; never the auditor
        abort(403)
    _known_stage(stage)
    return _gate_action(ops.request_gate_review, stage, request.form.get("note", ""), draft=stage,
                        success=f"Review of the {stage_label(stage)} gate requested: it now shows as awaiting "
                                "approval in your consultant's portfolio.")


@bp.post("/gates/<stage>/approve")
@requires(*CONSULTANT_ROLES)
def gate_approve(stage):
    _known_stage(stage)
    return _gate_action(ops.approve_gate, stage, request.form.get("comment", ""), draft=stage,
                        success=f"{stage_label(stage)} gate approved.")


@bp.post("/gates/<stage>/send-back")
@requires(*CONSULTANT_ROLES)
def gate_send_back(stage):
    _known_stage(stage)
    return _gate_action(ops.send_back_gate, stage, request.form.get("reasons", ""), draft=stage,
                        success=f"{stage_label(stage)} gate sent back with your reasons.")


@bp.post("/stages/<stage>/reopen")
@requires(*CONSULTANT_ROLES)
def stage_reopen(stage):
    _known_stage(stage)
    return _gate_action(ops.reopen_stage, stage, request.form.get("reason", ""), draft=stage,
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
                        request.form.get("body"), decided, draft=CERTIFICATION,
                        success="Certification decision recorded.")


@bp.post("/gates/review-requests")
@requires(*CONSULTANT_ROLES)
def review_requests():
    allowed = request.form.get("staff_may_request") == "1"
    changed = ops.set_staff_review_requests(allowed, actor())
    ops.save(g.client)
    if not changed:
        flash("Nothing changed.", "info")
    elif allowed:
        flash("The client's staff can now request gate reviews.", "success")
    else:
        flash("Only the client's admins can request gate reviews now.", "success")
    return redirect(url_for("workspace.gates") + "#review-requests", 303)
