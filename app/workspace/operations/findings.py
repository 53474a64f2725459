"""Audit findings: raised with a grade and a stage, closed when remedied."""
from __future__ import annotations

import re

import workflows as wf

from ... import clock
from ...extensions import db
from ...models import Finding
from ...notify.events import announce
from ...refusal import Refusal
from .common import Actor, check_length, log
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


def raise_finding(stage: str, severity: str, title: str, clause: str | None, description: str, actor: Actor) -> Finding:
    try:
        wf.check_new_finding(stage, severity, title)
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err
    title = check_length(title.strip(), Finding.title, "title", "The finding's title")
    finding = Finding(stage=stage, severity=severity, title=title, clause=_clauses(clause),
                      description=(description or "").strip(), raised_by_id=actor.id, raised_at=clock.now())
    db.session.add(finding)
    db.session.flush()
    log(actor, "finding.raised", "finding", finding.id, f"{severity.title()} finding #{finding.id}: {finding.title}",
        None, {"severity": severity, "clause": finding.clause})
    # Findings have no owner of their own: the client's admins answer for them.
    announce("finding_raised", f"finding/{finding.id}", "workspace.findings", actor_id=actor.id,
             fragment=f"finding-{finding.id}", title=finding.title, severity=severity,
             clause=f" (clause {finding.clause})" if finding.clause else "")
    return finding


def _note(text: str | None, field: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise Refusal(f"{what} can be at most {NOTE_MAX:,} characters long ({len(text):,} given).", 422, field=field)
    return text


def _locked(finding: Finding) -> None:
    # Closing a major finding opens gates and reopening one holds them: under the gate lock, so neither
    # slips in beside an approval being decided, and on the finding as it is now.
    lock_gate_state()
    db.session.refresh(finding)


def close_finding(finding: Finding, note: str | None, actor: Actor) -> None:
    """Close a remedied finding; the closing note says how it was remedied (required)."""
    note = _note(note, "note", "The closing note")
    _locked(finding)
    try:
        wf.check_close_finding(finding.status, finding.id, note)
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="note") from err
    finding.status, finding.closed_at, finding.closed_by_name, finding.closing_note = \
        "closed", clock.now(), actor.name, note
    log(actor, "finding.closed", "finding", finding.id, f"Finding #{finding.id} closed: {finding.title} — {note}",
        {"status": "open"}, {"status": "closed", "closing_note": note})


def reopen_finding(finding: Finding, reason: str | None, actor: Actor) -> None:
    """Open a closed finding again, with the reason (required); a reopened major holds the gates again."""
    reason = _note(reason, "reason", "The reason")
    _locked(finding)
    try:
        wf.check_reopen_finding(finding.status, finding.id, reason)
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="reason") from err
    before = {"status": "closed", "closing_note": finding.closing_note}
    finding.status, finding.closed_at, finding.closed_by_name, finding.closing_note = "open", None, None, None
    finding.reopened_at, finding.reopened_by_name, finding.reopen_reason = clock.now(), actor.name, reason
    log(actor, "finding.reopened", "finding", finding.id, f"Finding #{finding.id} reopened: {finding.title} — {reason}",
        before, {"status": "open", "reopen_reason": reason})
