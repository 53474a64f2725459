"""Audit findings: raised with a grade and a stage, closed when remedied."""
from __future__ import annotations

import workflows as wf

from ... import clock
from ...extensions import db
from ...models import Finding
from ...refusal import Refusal
from .common import Actor, log


def raise_finding(stage: str, severity: str, title: str, clause: str | None, description: str, actor: Actor) -> Finding:
    try:
        wf.check_new_finding(stage, severity, title)
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err
    finding = Finding(stage=stage, severity=severity, title=title.strip()[:300], clause=(clause or "").strip() or None,
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
