"""Corrective actions on a finding (10.2.1 c), each carried out as a task in the client's current stage, and the
verification of their effectiveness (10.2.1 d); the certification body's side of its own findings (ISO/IEC
17021-1 9.4); ageing: stale records and the escalation of an overdue minor. Rules in workflows/nonconformity.py
and workflows/cycle.py (response deadlines)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from workflows import cycle as wc
from workflows import nonconformity as nc

from ... import clock
from ...extensions import db
from ...models import CorrectiveAction, ExternalAudit, Finding, Stage, User
from ...notify.events import announce
from ...refusal import Refusal
from .certification import parse_day
from .common import Actor, log
from .cycle import client_rules
from .findings import _locked, _note, _rule, ensure_open, touch
from .state import current_stage_key
from .tasks import append_task

TITLE_ROOM = 200  # of the task title, for the action's own words


def add_action(finding: Finding, description: str, owner: User | None, due: str, actor: Actor) -> CorrectiveAction:
    """A corrective action with its owner and due date, and the task that carries it out."""
    ensure_open(finding)
    description = _note(description, "description", "The action")
    if not description:
        raise Refusal("Say what the corrective action is.", 422, field="description")
    if owner is None:
        raise Refusal("Choose who owns the action (someone working on this client).", 422, field="owner")
    due_on = parse_day(due, "due_on", "Due on")
    if due_on is None:
        raise Refusal("Give the date the action is due.", 422, field="due_on")
    action = CorrectiveAction(finding_id=finding.id, description=description, owner_id=owner.id,
                              owner_name=owner.name, due_on=due_on, created_by_name=actor.name, created_at=clock.now())
    db.session.add(action)
    db.session.flush()
    stage = db.session.get(Stage, current_stage_key())
    short = description if len(description) <= TITLE_ROOM else description[:TITLE_ROOM - 1] + "…"
    task = append_task(stage, key=f"capa_{finding.id}_{action.id}", title=f"Corrective action (finding #{finding.id}): "
                       f"{short}", guidance=f"Corrective action for finding #{finding.id}, “{finding.title}”.\n"
                       f"{description}", clauses=[c.strip() for c in (finding.clause or "10.2").split(",")][:5],
                       role="client_admin", required=False, allow_not_applicable=False, status="todo",
                       assignee_id=owner.id, start_on=clock.today(), due_on=due_on)
    action.task_id = task.id
    touch(finding)
    log(actor, "finding.action_added", "finding", finding.id, f"Corrective action #{action.id} on finding "
        f"#{finding.id}, owned by {owner.name}, due {due_on.isoformat()}: {description}", None,
        {"action": action.id, "owner_id": owner.id, "due_on": due_on.isoformat(), "task_id": task.id})
    if owner.id != actor.id:
        announce("task_assigned", f"task/{task.id}", "workspace.task", actor_id=actor.id, to=(owner.id,),
                 link_values={"task_id": task.id}, title=task.title)
    return action


def action_of(finding: Finding, action_id: int) -> CorrectiveAction:
    action = db.session.get(CorrectiveAction, action_id)
    if action is None or action.finding_id != finding.id:
        raise Refusal(f"Finding #{finding.id} has no action #{action_id}.", 404)
    return action


def complete_action(finding: Finding, action: CorrectiveAction, actor: Actor) -> None:
    """The action is carried out; its task is done with it."""
    ensure_open(finding)
    if action.done:
        raise Refusal(f"Corrective action #{action.id} is completed already.", 409)
    action.completed_at, action.completed_by_name = clock.now(), actor.name
    if action.task is not None and action.task.status != "done":
        action.task.status, action.task.completed_at, action.task.completed_by_id = "done", clock.now(), actor.id
    touch(finding)
    log(actor, "finding.action_completed", "finding", finding.id,
        f"Corrective action #{action.id} on finding #{finding.id} completed", {"action": action.id, "done": False},
        {"action": action.id, "done": True})


@dataclass
class FollowUp:
    description: str = ""
    owner: User | None = None
    due: str = ""

    @property
    def given(self) -> bool:
        return bool(self.description.strip() or self.owner or self.due.strip())


def verify_action(finding: Finding, action: CorrectiveAction, planned: str, method: str, criteria: str,
                  result: str, note: str, actor: Actor, follow_up: FollowUp | None = None) -> None:
    """Plan the effectiveness check (date, method, criteria) and, once done, record its result. The result is
    recorded by someone other than the action's owner; not effective needs the new action (`follow_up`)."""
    ensure_open(finding)
    if action.result is not None:
        verdict = nc.VERIFICATION_RESULTS[action.result].lower()
        raise Refusal(f"Corrective action #{action.id} was verified already ({verdict}, by "
                      f"{action.verified_by_name}).", 409)
    planned_on = parse_day(planned, "verify_on", "Check planned on")
    method, criteria = _note(method, "verify_method", "The method"), _note(criteria, "verify_criteria", "The criteria")
    note = _note(note, "result_note", "The result")
    outcome = result or None
    _rule(nc.check_verification, outcome, planned_on, method, criteria, action.done,
          field="result" if outcome else "verify_method")
    if outcome is not None:
        _rule(nc.check_verifier, action.owner_id, actor.id, action.owner_name, field="result")
        if outcome == "not_effective" and not (follow_up and follow_up.given):
            raise Refusal("Not effective: plan the new corrective action (what, who, by when) in the same form.",
                          422, field="follow_description")
    action.verify_on, action.verify_method, action.verify_criteria = planned_on or action.verify_on, method, criteria
    if outcome is not None:
        action.result, action.result_note = outcome, note
        action.verified_by_id, action.verified_by_name, action.verified_at = actor.id, actor.name, clock.now()
    touch(finding)
    what = (f"verified {nc.VERIFICATION_RESULTS[outcome].lower()} by {actor.name}" if outcome
            else f"effectiveness check planned for {planned_on.isoformat()}")
    log(actor, "finding.action_verified" if outcome else "finding.verification_planned", "finding", finding.id,
        f"Corrective action #{action.id} on finding #{finding.id} {what}", None,
        {"action": action.id, "result": outcome, "method": method, "criteria": criteria})
    if outcome == "not_effective":
        add_action(finding, follow_up.description, follow_up.owner, follow_up.due, actor)


# --- the certification body's side ------------------------------------------------------------------

def _audit_day(finding: Finding, audits: dict[str, ExternalAudit]) -> date:
    """The day of the external audit the body raised the finding at (else the day it was recorded)."""
    raised = finding.raised_at.date()
    prefix = nc.response_audit(finding.source)
    held = [a.held_on for k, a in audits.items() if prefix and k.startswith(prefix) and a.held_on
            and a.held_on <= raised]
    return max(held) if held else raised


def response_due(finding: Finding, audits: dict[str, ExternalAudit] | None = None,
                 rules: wc.ResponseRules | None = None) -> date | None:
    """The body's response deadline for its major or minor (workflows.cycle.response_deadline, with the rules
    the consultancy set for the client's body), else None."""
    if nc.response_audit(finding.source) is None or finding.severity not in nc.GRADES:
        return None
    audits = audits if audits is not None else {a.kind: a for a in db.session.scalars(select(ExternalAudit))}
    return wc.response_deadline(_audit_day(finding, audits), finding.severity, rules or client_rules())


def save_cb_response(finding: Finding, reference: str, submitted: str, accepted: str, verification: str,
                     actor: Actor) -> None:
    """The body's reference, when the answer was submitted, when the body accepted it and how it verified."""
    if nc.response_audit(finding.source) is None:
        raise Refusal(f"Finding #{finding.id} was not raised by the certification body.", 409)
    reference = reference.strip()
    if len(reference) > Finding.cb_reference.type.length:
        raise Refusal("The body's reference is too long.", 422, field="cb_reference")
    submitted_on = parse_day(submitted, "cb_submitted_on", "Submitted on")
    accepted_on = parse_day(accepted, "cb_accepted_on", "Accepted on")
    if verification and verification not in nc.CB_VERIFICATION_METHODS:
        raise Refusal("Choose how the body verified from the list.", 422, field="cb_verification")
    if accepted_on and not submitted_on:
        raise Refusal("The body accepts an answer once it was submitted: give the date submitted.", 422,
                      field="cb_submitted_on")
    if accepted_on and submitted_on and accepted_on < submitted_on:
        raise Refusal("Accepted on comes after submitted on.", 422, field="cb_accepted_on")
    if any(d and d > clock.today() for d in (submitted_on, accepted_on)):
        raise Refusal("Submission and acceptance are recorded once they happened, not ahead.", 422,
                      field="cb_submitted_on")
    before = {"cb_reference": finding.cb_reference, "cb_submitted_on": finding.cb_submitted_on and
              finding.cb_submitted_on.isoformat(), "cb_accepted_on": finding.cb_accepted_on and
              finding.cb_accepted_on.isoformat(), "cb_verification": finding.cb_verification}
    finding.cb_reference, finding.cb_submitted_on, finding.cb_accepted_on, finding.cb_verification = \
        reference, submitted_on, accepted_on, verification or None
    after = {"cb_reference": reference, "cb_submitted_on": submitted_on and submitted_on.isoformat(),
             "cb_accepted_on": accepted_on and accepted_on.isoformat(), "cb_verification": verification or None}
    if before == after:
        return
    touch(finding)
    log(actor, "finding.cb_response", "finding", finding.id, f"Finding #{finding.id}: the certification body's "
        "response recorded", before, after)


# --- ageing -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ageing:
    stale: bool
    overdue: bool
    escalation_proposed: bool
    response_due: date | None
    countdown: str | None


def ageing(finding: Finding, audits: dict[str, ExternalAudit] | None = None,
           rules: wc.ResponseRules | None = None) -> Ageing:
    today = clock.today()
    due = response_due(finding, audits, rules)
    answered = finding.cb_submitted_on
    overdue = nc.is_overdue(finding.status, [a.due_on for a in finding.actions], [a.done for a in finding.actions],
                            due, answered, today)
    return Ageing(nc.is_stale(finding.status, finding.updated_at, clock.now()), overdue,
                  nc.escalation_proposed(finding.severity, overdue, finding.escalation),
                  due, wc.countdown(due, today) if due and finding.status == "open" and not answered else None)


def decide_escalation(finding: Finding, decision: str, reason: str, actor: Actor) -> None:
    """A consultant confirms (the minor becomes a major, holding gates) or declines, with the reason."""
    reason = _note(reason, "escalation_reason", "The reason")
    _locked(finding)
    ensure_open(finding)
    _rule(nc.check_escalation, finding.severity, ageing(finding).escalation_proposed, decision or None, reason,
          field="escalation_reason")
    finding.escalation, finding.escalation_reason, finding.escalation_by_name = decision, reason, actor.name
    before = {"severity": finding.severity}
    if decision == "confirmed":
        finding.severity = "major"
    touch(finding)
    log(actor, "finding.escalation", "finding", finding.id, f"Finding #{finding.id}: "
        f"{nc.ESCALATION_DECISIONS[decision].lower()} — {reason}", before,
        {"severity": finding.severity, "escalation": decision, "reason": reason})


def open_cb_deadlines(audits: dict[str, ExternalAudit] | None = None) -> list[tuple[Finding, Ageing]]:
    """Open certification-body majors and minors not yet answered, soonest deadline first (the overview); the
    external audits by kind are read here unless the caller has them."""
    rows = db.session.scalars(select(Finding).where(Finding.status == "open", Finding.source.in_(nc.CB_SOURCES),
                                                    Finding.severity.in_(nc.GRADES),
                                                    Finding.cb_submitted_on.is_(None))).all()
    if not rows:
        return []
    if audits is None:
        audits = {a.kind: a for a in db.session.scalars(select(ExternalAudit))}
    rules = client_rules()
    found = [(f, ageing(f, audits, rules)) for f in rows]
    return sorted(found, key=lambda fa: fa[1].response_due)


def stale_count() -> int:
    cutoff = clock.now() - nc.STALE_AFTER
    return db.session.scalar(select(db.func.count()).select_from(Finding)
                             .where(Finding.status == "open", Finding.updated_at <= cutoff)) or 0
