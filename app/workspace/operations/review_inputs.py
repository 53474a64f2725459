"""The pre-fill of a management review's 9.3.2 inputs from what ISOpath holds about the client: one short text per
input, empty where ISOpath holds nothing (a participant then writes it, or marks it "nothing to report")."""
from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

import workflows as wf
from workflows import cycle as wc
from workflows import kpi as wk
from workflows import management_review as mr
from workflows import nonconformity as nc

from ...extensions import db
from ...models import ExternalAudit, Finding, ManagementReview, Task
from .gap_analysis import gap_report
from .kpis import kpi_rows
from .objectives import objective_rows


def _lines(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _on(clauses, prefixes: tuple[str, ...]) -> bool:
    return any(c == p or c.startswith(p + ".") for c in clauses or () for p in prefixes)


def _kpi_line(row) -> str:
    latest = row.position.latest_value
    status = wk.STATUS_LABELS.get(row.position.status or "", "not measured yet")
    if latest is None or latest.value is None:
        return f"{row.kpi.name}: no value yet ({status.lower()})"
    target = f" against a target of {latest.setting.target:g}" if latest.setting is not None else ""
    return f"{row.kpi.name}: {latest.value:g} {row.kpi.unit} in {latest.period}{target} — {status.lower()}"


def _tasks_on(prefixes: tuple[str, ...], tasks: list[Task], started_only: bool = True) -> list[str]:
    # Work not started says nothing about a change or a resource yet; only what is under way or done is reported.
    return [f"{t.title} ({wf.TASK_STATUS_LABELS.get(t.status, t.status).lower()})" for t in tasks
            if _on(t.clauses, prefixes) and not (started_only and t.status == "todo")]


def _previous_actions(before_id: int | None) -> list[str]:
    query = select(ManagementReview).where(ManagementReview.status == "closed")
    if before_id is not None:
        query = query.where(ManagementReview.id != before_id)
    lines = []
    for review in db.session.scalars(query.order_by(ManagementReview.closed_on)):
        for a in review.actions:
            state = wf.TASK_STATUS_LABELS.get(a.task.status, a.task.status).lower() if a.task else "no task"
            lines.append(f"Review of {review.closed_on.isoformat()}: {a.description} — {a.owner_name}, due "
                         f"{a.due_on.isoformat()}, {state}")
        if not review.actions:
            lines.append(f"Review of {review.closed_on.isoformat()}: no actions were decided")
    return lines


def _findings_lines(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    open_ = [f for f in findings if f.status == "open"]
    by_kind = Counter(nc.KINDS.get(nc.kind_of(f.kind, f.severity), "Other") for f in findings)
    lines = [f"{len(findings)} findings recorded, {len(open_)} open "
             f"({sum(1 for f in open_ if f.severity == 'major')} major, "
             f"{sum(1 for f in open_ if f.severity == 'minor')} minor)"]
    lines += [f"{label}: {n}" for label, n in sorted(by_kind.items())]
    actions = [a for f in findings for a in f.actions]
    if actions:
        done = sum(1 for a in actions if a.done)
        effective = sum(1 for a in actions if a.result == "effective")
        lines.append(f"{len(actions)} corrective actions: {done} carried out, {effective} verified effective")
    return lines


def prefill(today: date, review_id: int | None = None) -> dict[str, str]:
    """Each input's pre-fill as of `today` (the review's own actions are not its "previous" ones)."""
    kpis = kpi_rows()
    tasks = db.session.scalars(select(Task).order_by(Task.position)).all()
    findings = db.session.scalars(select(Finding).order_by(Finding.raised_at)).all()
    audits = db.session.scalars(select(ExternalAudit).where(ExternalAudit.held_on.is_not(None))
                                .order_by(ExternalAudit.held_on)).all()
    source = lambda *names: [f for f in findings if f.source in names]  # noqa: E731
    out: dict[str, list[str]] = {k: [] for k in mr.INPUT_KEYS}
    out["a"] = _previous_actions(review_id)
    out["b"] = _tasks_on(("4.1", "4.2", "4.3"), tasks)
    out["c1"] = [_kpi_line(r) for r in kpis if _on(r.kpi.clauses, ("9.1.2",))]
    complaints = source("customer_complaint")
    if complaints:
        out["c1"].append(f"{len(complaints)} customer complaints recorded, "
                         f"{sum(1 for f in complaints if f.status == 'open')} open")
    out["c2"] = [f"{row.objective.title}: {wk.OBJECTIVE_STATUS_LABELS.get(row.status, row.status).lower()}"
                 for row in objective_rows(kpis)]
    out["c3"] = [_kpi_line(r) for r in kpis if _on(r.kpi.clauses, ("4.4", "8"))]
    out["c4"] = _findings_lines(findings)
    out["c5"] = [_kpi_line(r) for r in kpis]
    audit_findings = source("internal_audit")
    if audit_findings:
        out["c6"].append(f"Internal audit: {len(audit_findings)} findings, "
                         f"{sum(1 for f in audit_findings if f.status == 'open')} open")
    out["c6"] += _tasks_on(("9.2",), tasks, started_only=False)
    overall = gap_report().overall
    if overall.rated:
        out["c6"].append(f"Gap analysis: {overall.rated} of {overall.items} requirements rated, score "
                         f"{overall.percent}%")
    out["c6"] += [f"{wc.AUDIT_LABELS.get(a.kind, a.kind)} held {a.held_on.isoformat()}: "
                  f"{wc.AUDIT_RESULTS.get(a.result, 'result not recorded').lower()}" for a in audits]
    suppliers = source("supplier")
    out["c7"] = [_kpi_line(r) for r in kpis if _on(r.kpi.clauses, ("8.4",))]
    if suppliers:
        out["c7"].append(f"{len(suppliers)} supplier findings, {sum(1 for f in suppliers if f.status == 'open')} open")
    out["d"] = _tasks_on(("7.1", "7.2"), tasks)
    out["e"] = _tasks_on(("6.1",), tasks)
    out["f"] = [f"#{f.id} {f.title}" for f in findings if f.status == "open"
                and nc.kind_of(f.kind, f.severity) == "opportunity"]
    return {k: _lines(v) for k, v in out.items()}
