"""Audit findings: raised with a grade and a stage, closed when remedied."""
from __future__ import annotations

import re

import workflows as wf

from ... import clock
from ...extensions import db
from ...models import Finding
from ...refusal import Refusal
from .common import Actor, check_length, log
from .state import template

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
    return finding


def close_finding(finding: Finding, actor: Actor) -> None:
    try:
        wf.check_close_finding(finding.status, finding.id)
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err
    finding.status, finding.closed_at = "closed", clock.now()
    log(actor, "finding.closed", "finding", finding.id, f"Finding #{finding.id} closed: {finding.title}",
        {"status": "open"}, {"status": "closed"})
