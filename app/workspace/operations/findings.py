"""Findings as nonconformity records: raised with a source, kind, grade and clause; the statement, reaction and
evaluation recorded as the client deals with it; closed when the closing rule of workflows/nonconformity.py
is met; reopened with a reason. Corrective actions and their verification are in corrective_actions.py."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

import workflows as wf
from workflows import nonconformity as nc
from workflows import target_stage as ts
from workflows.stages import stage_label

from ... import clock
from ...extensions import db
from ...models import Finding
from ...notify.events import announce
from ...refusal import Refusal
from .certification import parse_day
from .common import Actor, check_length, log
from .common import apply_rule as _rule  # the area's rules refused as a Refusal
from .state import lock_gate_state, template

NOTE_MAX = 5_000

# "8.4.1 and 8.4.2", "clauses 8.4.1 & 8.4.2": the words between the numbers are separators.
_CLAUSE_WORDS = re.compile(r"\b(?:and|clauses?)\b|&", re.IGNORECASE)


def _clauses(text: str | None) -> str | None:
    """The clause numbers typed for a finding, checked against the client's standard: "8.4.1, 8.4.2"."""
    if not (text or "").strip():
        return None
    try:
        refs = wf.parse_clause_refs(_CLAUSE_WORDS.sub(",", text), template())
    except wf.TemplateError as err:
        raise Refusal(str(err), 422, field="clause") from err
    return check_length(", ".join(refs), Finding.clause, "clause", "The list of clauses") or None


def _note(text: str | None, field: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise Refusal(f"{what} can be at most {NOTE_MAX:,} characters long ({len(text):,} given).", 422, field=field)
    return text


def touch(finding: Finding) -> None:
    """The record changed now (its age for the stale rule counts from here)."""
    finding.updated_at = clock.now()


def raise_finding(stage: str, severity: str, title: str, clause: str | None, description: str, actor: Actor, *,
                  source: str | None = None, kind: str | None = None, grade: str | None = None, process: str = "",
                  requirement: str = "", evidence: str = "", statement: str = "",
                  cb_reference: str = "", target_stage: str | None = None) -> Finding:
    """Record a finding. With a `kind`, the severity follows from it and the `grade` (nonconformities are major or
    minor, always chosen); without one (the gap analysis, older callers) the severity is chosen directly.
    Its target stage is `target_stage` or, by default, the stage whose tasks carry its clause
    (workflows/target_stage.py)."""
    if source is not None:
        _rule(nc.check_source, source, field="source")
    if kind is not None:
        severity = _rule(nc.severity_for, kind, grade or None, field="grade" if kind in nc.KINDS else "kind")
    _rule(wf.check_new_finding, stage, severity, title, field="title")
    title = check_length(title.strip(), Finding.title, "title", "The finding's title")
    clauses = _clauses(clause)
    if target_stage is None:
        target_stage = ts.target_stage_for(template(), stage, ts.split_clauses(clauses))
    target_stage = _rule(ts.check_target_stage, stage, target_stage, field="target_stage")
    finding = Finding(stage=stage, target_stage=target_stage, severity=severity, title=title, clause=clauses,
                      description=(description or "").strip(), raised_by_id=actor.id, raised_at=clock.now(),
                      updated_at=clock.now(), source=source, kind=nc.kind_of(kind, severity),
                      process=check_length((process or "").strip(), Finding.process, "process", "The process"),
                      requirement=_note(requirement, "requirement", "The requirement"),
                      evidence=_note(evidence, "evidence", "The evidence"),
                      statement=_note(statement, "statement", "The statement"),
                      cb_reference=check_length((cb_reference or "").strip(), Finding.cb_reference, "cb_reference",
                                                "The certification body's reference"))
    db.session.add(finding)
    db.session.flush()
    log(actor, "finding.raised", "finding", finding.id, f"{severity.title()} finding #{finding.id}: {finding.title}",
        None, {"severity": severity, "clause": finding.clause, "source": source, "kind": finding.kind,
               "target_stage": target_stage})
    # Findings have no owner of their own: the client's admins answer for them.
    announce("finding_raised", f"finding/{finding.id}", "workspace.finding", actor_id=actor.id,
             link_values={"finding_id": finding.id}, title=finding.title, severity=severity,
             clause=f" (clause {finding.clause})" if finding.clause else "")
    return finding


@dataclass
class RecordForm:
    """The parts of the record filled in as the client deals with it, as typed (every field a string)."""

    requirement: str = ""
    evidence: str = ""
    statement: str = ""
    process: str = ""
    correction: str = ""
    containment: str = ""
    correction_by: str = ""
    correction_on: str = ""
    customer_informed: str = ""  # yes / no / "" (not known)
    concession: str = ""
    concession_granted_by: str = ""
    action_needed: str = ""  # yes / no / ""
    action_needed_reason: str = ""
    cause_method: str = ""
    cause_category: str = ""
    root_cause: str = ""
    similar_elsewhere: str = ""
    closure_evidence: str = ""

    @classmethod
    def of(cls, finding: Finding) -> "RecordForm":
        form = cls(**{f.name: getattr(finding, f.name) or "" for f in fields(cls)
                      if f.name not in ("correction_on", "customer_informed", "action_needed", "cause_method",
                                        "cause_category")})
        form.correction_on = finding.correction_on.isoformat() if finding.correction_on else ""
        form.customer_informed = _yes_no_text(finding.customer_informed)
        form.action_needed = _yes_no_text(finding.action_needed)
        form.cause_method, form.cause_category = finding.cause_method or "", finding.cause_category or ""
        return form

    @classmethod
    def from_form(cls, data, finding: Finding | None = None) -> "RecordForm":
        """What was sent; a field the form left out keeps the finding's value (a form of one section)."""
        kept = cls.of(finding) if finding is not None else cls()
        return cls(**{f.name: data.get(f.name, getattr(kept, f.name)) or "" for f in fields(cls)})


def _yes_no_text(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _yes_no(text: str, field: str) -> bool | None:
    if text not in ("", "yes", "no"):
        raise Refusal("Answer yes or no.", 422, field=field)
    return None if text == "" else text == "yes"


def _choice(text: str, choices: dict, field: str, what: str) -> str | None:
    if text and text not in choices:
        raise Refusal(f"Choose {what} from the list.", 422, field=field)
    return text or None


def ensure_open(finding: Finding) -> None:
    if finding.status != "open":
        raise Refusal(f"Finding #{finding.id} is closed; reopen it (with a reason) to change its record.", 409)


def update_record(finding: Finding, form: RecordForm, actor: Actor) -> list[str]:
    """Save the statement, reaction, evaluation and closure evidence; returns the fields that changed."""
    ensure_open(finding)
    values = {name: _note(getattr(form, name), name, name.replace("_", " ").capitalize())
              for name in ("requirement", "evidence", "statement", "correction", "containment", "concession",
                           "action_needed_reason", "root_cause", "similar_elsewhere", "closure_evidence")}
    for name, what in (("process", "The process"), ("correction_by", "Who made the correction"),
                       ("concession_granted_by", "Who granted the concession")):
        values[name] = check_length(getattr(form, name).strip(), getattr(Finding, name), name, what)
    values["correction_on"] = parse_day(form.correction_on, "correction_on", "Corrected on")
    if values["correction_on"] and values["correction_on"] > clock.today():
        raise Refusal("Corrected on: a correction is recorded once made, not ahead.", 422, field="correction_on")
    values["customer_informed"] = _yes_no(form.customer_informed, "customer_informed")
    values["action_needed"] = _yes_no(form.action_needed, "action_needed")
    values["cause_method"] = _choice(form.cause_method, nc.CAUSE_METHODS, "cause_method", "the root-cause method")
    values["cause_category"] = _choice(form.cause_category, nc.CAUSE_CATEGORIES, "cause_category", "the category")
    if values["cause_method"] == "category" and not values["cause_category"]:
        raise Refusal("Choose the cause category (or another root-cause method).", 422, field="cause_category")
    if values["action_needed"] is False and not values["action_needed_reason"]:
        raise Refusal("Say why no corrective action is needed (e.g. isolated and low impact).", 422,
                      field="action_needed_reason")
    if values["concession"] and not values["concession_granted_by"]:
        raise Refusal("Say who granted the concession (8.7.1 d).", 422, field="concession_granted_by")
    before = {k: getattr(finding, k) for k in values}
    changed = [k for k, v in values.items() if v != before[k]]
    if not changed:
        return []
    for k in changed:
        setattr(finding, k, values[k])
    touch(finding)
    as_json = lambda v: v.isoformat() if hasattr(v, "isoformat") else v  # noqa: E731
    log(actor, "finding.updated", "finding", finding.id, f"Finding #{finding.id} record updated: "
        + ", ".join(k.replace("_", " ") for k in changed),
        {k: as_json(before[k]) for k in changed}, {k: as_json(values[k]) for k in changed})
    return changed


def _locked(finding: Finding) -> None:
    # Closing a major finding opens gates and reopening one holds them: under the gate lock, so neither
    # slips in beside an approval being decided, and on the finding as it is now.
    lock_gate_state()
    db.session.refresh(finding)


def record_state(finding: Finding) -> nc.RecordState:
    """The finding as the closing rule sees it."""
    actions = tuple(nc.ActionState(a.id, a.done, a.result, bool(a.task is not None and a.task.attachments))
                    for a in finding.actions)
    return nc.RecordState(finding.id, nc.kind_of(finding.kind, finding.severity), finding.severity,
                          finding.root_cause or "", finding.correction or "", finding.closure_evidence or "", actions)


def close_finding(finding: Finding, note: str | None, actor: Actor) -> None:
    """Close a finding whose record meets the closing rule; the note says the result (or the decision)."""
    note = _note(note, "note", "The closing note")
    _locked(finding)
    _rule(wf.check_close_finding, finding.status, finding.id, note, field="note")
    db.session.expire(finding, ["actions"])
    _rule(nc.check_close, record_state(finding), note, field="note")
    finding.status, finding.closed_at, finding.closed_by_name, finding.closing_note = \
        "closed", clock.now(), actor.name, note
    touch(finding)
    log(actor, "finding.closed", "finding", finding.id, f"Finding #{finding.id} closed: {finding.title} — {note}",
        {"status": "open"}, {"status": "closed", "closing_note": note})


def reopen_finding(finding: Finding, reason: str | None, actor: Actor) -> None:
    """Open a closed finding again, with the reason (required); a reopened major holds the gates again."""
    reason = _note(reason, "reason", "The reason")
    _locked(finding)
    _rule(wf.check_reopen_finding, finding.status, finding.id, reason, field="reason")
    before = {"status": "closed", "closing_note": finding.closing_note}
    finding.status, finding.closed_at, finding.closed_by_name, finding.closing_note = "open", None, None, None
    finding.reopened_at, finding.reopened_by_name, finding.reopen_reason = clock.now(), actor.name, reason
    touch(finding)
    log(actor, "finding.reopened", "finding", finding.id, f"Finding #{finding.id} reopened: {finding.title} — {reason}",
        before, {"status": "open", "reopen_reason": reason})


def target_of(finding: Finding) -> str:
    """The stage that can remedy the finding: the first whose gate it holds while an open major."""
    return finding.target_stage or finding.stage


def set_target_stage(finding: Finding, target: str, actor: Actor) -> bool:
    """Move the stage that will remedy the finding (never before the one it was raised in); returns whether it
    changed. Under the gate lock: it changes which gates an open major holds."""
    _locked(finding)
    ensure_open(finding)
    target = _rule(ts.check_target_stage, finding.stage, target or "", field="target_stage")
    before = target_of(finding)
    if target == before:
        return False
    finding.target_stage = target
    touch(finding)
    log(actor, "finding.target_stage", "finding", finding.id,
        f"Finding #{finding.id} to be remedied in {stage_label(target)} (was {stage_label(before)})",
        {"target_stage": before}, {"target_stage": target})
    return True
