"""Stage gates: a review requested by the client, approved or sent back by the consultant; reopening;
the certification body's decision."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import workflows as wf
from workflows.stages import next_stage, stage_label

from ... import clock
from ...extensions import db
from ...models import ONE_PENDING_REVIEW, GateReview, Stage, WorkspaceSettings
from ...notify.events import announce
from ...refusal import Refusal
from .common import Actor, check_length, log
from .state import client_state, lock_gate_state, pending_review, template

ALREADY_REQUESTED = "A review of this gate is already waiting for the consultant."


def request_gate_review(stage_key: str, note: str, actor: Actor) -> GateReview:
    lock_gate_state()
    try:
        wf.check_gate_request(template(), client_state(), stage_key, pending=pending_review(stage_key) is not None)
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err
    review = GateReview(stage=stage_key, requested_by_id=actor.id, requested_by_name=actor.name,
                        request_note=(note or "").strip(), requested_at=clock.now())
    try:
        # The unique index holds even for a writer that skipped the lock; its loser gets the same 409.
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError as err:
        if getattr(getattr(err.orig, "diag", None), "constraint_name", None) != ONE_PENDING_REVIEW:
            raise
        raise Refusal(ALREADY_REQUESTED, 409) from err
    log(actor, "gate.requested", "gate", stage_key, f"Gate review requested for {stage_label(stage_key)}",
        None, {"review_id": review.id})
    announce("gate_review_requested", f"gate/{stage_key}", "workspace.gates", actor_id=actor.id,
             fragment=f"gate-{stage_key}", stage=stage_label(stage_key))
    return review


def approve_gate(stage_key: str, comment: str, actor: Actor) -> None:
    """Sign the gate off and move the client into the next stage."""
    lock_gate_state()
    state = client_state()
    if stage_key in state.signoffs:  # a second click, or a colleague, got there first: say who and when
        raise Refusal(_already_approved(stage_key), 409)
    try:
        wf.approve_gate(template(), state, stage_key)
    except wf.GateBlocked as blocked:
        raise Refusal("The gate can't be approved: " + "; ".join(u.message for u in blocked.unmet) + ".",
                      409, unmet=blocked.unmet) from blocked
    except wf.TransitionError as err:
        raise Refusal(str(err), 409) from err
    now = clock.now()
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
    announce("gate_approved", f"gate/{stage_key}", "workspace.gates", actor_id=actor.id,
             to=(review.requested_by_id,), fragment=f"gate-{stage_key}", stage=stage_label(stage_key))
    target = f"the client enters {stage_label(following)}" if following else "the client is certified"
    log(actor, "gate.approved", "gate", stage_key,
        f"{stage_label(stage_key)} gate approved: {target}"
        + (f" — “{comment.strip()}”" if comment and comment.strip() else ""),
        {"current_stage": stage_key}, {"current_stage": following or stage_key, "passed": stage_key})


def _already_approved(stage_key: str) -> str:
    approval = db.session.scalar(select(GateReview).where(GateReview.stage == stage_key,
                                                          GateReview.status == "approved")
                                 .order_by(GateReview.decided_at.desc()).limit(1))
    by = f" by {approval.decided_by_name} on {approval.decided_at:%d %b %Y}" if approval else ""
    return f"The gate of “{stage_label(stage_key)}” is already approved{by}."


def send_back_gate(stage_key: str, reasons: str, actor: Actor) -> None:
    reasons = (reasons or "").strip()
    if not reasons:
        raise Refusal("Say what still needs doing, so the client knows why the gate was sent back.", 422,
                      field="reasons")
    lock_gate_state()
    review = pending_review(stage_key)
    if review is None:
        raise Refusal("There is no pending review of this gate to send back.", 409)
    review.status, review.decided_by_id, review.decided_by_name = "sent_back", actor.id, actor.name
    review.decided_at, review.decision_comment = clock.now(), reasons
    announce("gate_sent_back", f"gate/{stage_key}", "workspace.gates", actor_id=actor.id,
             to=(review.requested_by_id,), fragment=f"gate-{stage_key}", stage=stage_label(stage_key),
             reasons=reasons)
    log(actor, "gate.sent_back", "gate", stage_key, f"{stage_label(stage_key)} gate sent back: {reasons}",
        {"status": "requested"}, {"status": "sent_back"})


def reopen_stage(stage_key: str, reason: str, actor: Actor) -> None:
    s = lock_gate_state()
    try:
        new_state = wf.reopen_stage(client_state(), stage_key, reason)
    except wf.TransitionError as err:
        raise Refusal.of(err, field="reason") from err
    for stage in db.session.scalars(select(Stage)):
        if stage.key == new_state.current_stage:
            stage.status, stage.passed_at, stage.passed_by_id = "current", None, None
        elif stage.key not in new_state.signoffs:
            if stage.status != "upcoming":
                stage.status, stage.passed_at, stage.passed_by_id, stage.entered_at = "upcoming", None, None, None
    if new_state.certification_decision != s.certification_decision:
        s.certification_decision = new_state.certification_decision
    log(actor, "stage.reopened", "stage", stage_key, f"{stage_label(stage_key)} reopened: {reason.strip()}",
        None, {"current_stage": stage_key, "reason": reason.strip()})


def record_certification_decision(decision: str, body: str | None, decided_on: date | None, actor: Actor) -> None:
    try:
        wf.check_certification_decision(decision)
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="decision") from err
    body = check_length((body or "").strip(), WorkspaceSettings.certification_body, "body", "The certification body")
    s = lock_gate_state()
    current = client_state().current_stage
    try:
        wf.check_certification_stage(current, db.session.get(Stage, current).status == "passed")
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="decision") from err
    if decided_on is not None:
        try:
            wf.check_plan_date(decided_on, s.start_on, s.target_on, clock.today(), what="The decision date")
        except wf.PlanError as err:
            raise Refusal.of(err, field="decided_on") from err
    body = body or s.certification_body
    if (decision, body, decided_on) == (s.certification_decision, s.certification_body, s.certification_decided_on):
        raise Refusal("That decision is already recorded.", 409, field="decision")
    before = {"certification_decision": s.certification_decision}
    s.certification_decision, s.certification_body, s.certification_decided_on = decision, body, decided_on
    log(actor, "certification.decision", "plan", None,
        f"Certification body decision recorded: {decision.replace('_', ' ')}", before,
        {"certification_decision": decision})


def set_staff_review_requests(allowed: bool, actor: Actor) -> bool:
    """Let the client's staff ask for gate reviews (or not); returns whether anything changed."""
    s = lock_gate_state()
    if s.staff_may_request_reviews == allowed:
        return False
    s.staff_may_request_reviews = allowed
    log(actor, "settings.review_requests", "plan", None,
        "Client staff may now request gate reviews" if allowed else "Only client admins may request gate reviews",
        {"staff_may_request_reviews": not allowed}, {"staff_may_request_reviews": allowed})
    return True
