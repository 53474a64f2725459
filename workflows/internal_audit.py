"""The internal audit (ISO 9001 9.2): the programme's coverage, the checklist of an audit, impartiality.

The programme lists the client's in-scope processes, each with its owner and risk; audits cover processes and
clauses. The checklist of an audit is the gap analysis's checklist (``gap_analysis.Checklist``) cut down to the
audited clauses, so the internal audit asks the questions the initial audit asked.

Coverage, as an auditor reads 9.2.2 a:
- before the internal-audit gate: every clause 4–10 (all its checklist items) and every in-scope process has
  been covered by a completed audit of the programme;
- afterwards, in a certification cycle: every clause at least once in three years, high-risk processes every
  year (``cycle_overdue``).

Impartiality (9.2.2 c): an auditor may not audit a process they own, nor clauses of tasks they completed
(``conflicts``: refused); a consultant auditing documents they wrote is warned (``authored_documents``).
Plain values in, plain values out.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import CONFLICT, INVALID_INPUT, TransitionError
from .gap_analysis import Checklist, Requirement

CLAUSE_GROUPS: tuple[str, ...] = ("4", "5", "6", "7", "8", "9", "10")
RISKS: dict[str, str] = {"high": "High", "medium": "Medium", "low": "Low"}
METHODS: dict[str, str] = {
    "interviews": "Interviews",
    "record_sampling": "Record sampling",
    "walkthrough": "Tool walkthrough",
    "observation": "Observation of work",
    "remote": "Remote audit",
}
PLANNED, IN_PROGRESS, COMPLETED = "planned", "in_progress", "completed"
AUDIT_STATUSES: dict[str, str] = {PLANNED: "Planned", IN_PROGRESS: "In progress", COMPLETED: "Completed"}
CYCLE = timedelta(days=3 * 365)  # every clause once per three-year certification cycle
HIGH_RISK_INTERVAL = timedelta(days=365)  # high-risk processes every year


class InternalAuditError(TransitionError):
    """A change the internal-audit rules refuse; `status` 409 (the state forbids it) or 422 (bad input)."""

    def __init__(self, message: str, status: int = CONFLICT, field: str | None = None):
        super().__init__(message, status=status)
        self.field = field


@dataclass(frozen=True)
class ProcessState:
    id: int
    name: str
    owner_id: int | None = None
    risk: str = "medium"
    in_scope: bool = True


@dataclass(frozen=True)
class AuditState:
    id: int
    reference: str
    status: str
    clauses: tuple[str, ...]  # clause refs as planned: "8", "8.4", "9.2.2"
    process_ids: tuple[int, ...] = ()
    completed_on: date | None = None

    @property
    def done(self) -> bool:
        return self.status == COMPLETED


# --- the checklist of an audit --------------------------------------------------------------------------

def _under(clause: str, ref: str) -> bool:
    return clause == ref or clause.startswith(ref + ".")


def parse_clause_scope(text: str | None, checklist: Checklist) -> tuple[str, ...]:
    """The audited clauses as typed ("4, 5, 8.4, 9.2"), each a clause group or a requirement of the checklist,
    in the standard's order without repeats; InternalAuditError (422) naming what is not a clause."""
    refs: list[str] = []
    for part in (text or "").replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().rstrip(".")
        if not part:
            continue
        if part not in CLAUSE_GROUPS and checklist.find(part) is None:
            raise InternalAuditError(f"“{part[:40]}” is not a clause of {checklist.standard} (use e.g. 8 or 8.4).",
                                     INVALID_INPUT, "clauses")
        if part not in refs:
            refs.append(part)
    if not refs:
        raise InternalAuditError("Name the clauses the audit covers (e.g. 4, 5, 8.4).", 422, "clauses")
    # a ref inside another one adds nothing
    refs = [r for r in refs if not any(o != r and _under(r, o) for o in refs)]
    order = {r.clause: i for i, r in enumerate(checklist.requirements)}
    return tuple(sorted(refs, key=lambda r: (int(r.split(".")[0]), order.get(r, -1))))


def checklist_items(checklist: Checklist, refs: Iterable[str]) -> tuple[Requirement, ...]:
    """The rated items of the checklist under the audited clauses, in the standard's order."""
    refs = tuple(refs)
    return tuple(item for item in checklist.items() if any(_under(item.clause, r) for r in refs))


# --- coverage -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """What the programme's completed audits cover, and what is still to cover before the gate."""

    clauses_missing: tuple[tuple[str, tuple[str, ...]], ...]  # (group, its items not yet audited)
    processes_missing: tuple[str, ...]  # names of in-scope processes no completed audit covered
    matrix: dict[tuple[int, str], str]  # (process id, group) → "done" / "planned"

    @property
    def complete(self) -> bool:
        return not self.clauses_missing and not self.processes_missing

    def unmet(self) -> tuple[str, ...]:
        """Each unmet part, named as the gate names it."""
        out = [f"Clause {g}: {len(items)} requirement{'s' if len(items) != 1 else ''} not yet audited "
               f"({', '.join(items[:4])}{' …' if len(items) > 4 else ''})" for g, items in self.clauses_missing]
        out += [f"Process “{name}” has not been audited" for name in self.processes_missing]
        return tuple(out)


def coverage(checklist: Checklist, processes: Iterable[ProcessState], audits: Iterable[AuditState]) -> Coverage:
    audits = tuple(audits)
    done_items = {i.clause for a in audits if a.done for i in checklist_items(checklist, a.clauses)}
    missing = []
    for group in CLAUSE_GROUPS:
        items = tuple(i.clause for i in checklist.items(group) if i.clause not in done_items)
        if items:
            missing.append((group, items))
    in_scope = [p for p in processes if p.in_scope]
    done_processes = {pid for a in audits if a.done for pid in a.process_ids}
    matrix: dict[tuple[int, str], str] = {}
    for a in audits:
        groups = {i.group for i in checklist_items(checklist, a.clauses)}
        for pid in a.process_ids:
            for g in groups:
                if a.done:
                    matrix[(pid, g)] = "done"
                else:
                    matrix.setdefault((pid, g), "planned")
    return Coverage(tuple(missing), tuple(p.name for p in in_scope if p.id not in done_processes), matrix)


def cycle_overdue(checklist: Checklist, processes: Iterable[ProcessState], audits: Iterable[AuditState],
                  as_of: date) -> tuple[str, ...]:
    """After certification: clause groups not audited in the last three years and high-risk processes not
    audited in the last year, named."""
    done = [a for a in audits if a.done and a.completed_on is not None]
    out = []
    for group in CLAUSE_GROUPS:
        last = max((a.completed_on for a in done
                    if any(i.group == group for i in checklist_items(checklist, a.clauses))), default=None)
        if last is None or as_of - last > CYCLE:
            out.append(f"Clause {group} is due: " + (f"last audited {last.isoformat()}" if last else "never audited")
                       + " (at least once per three-year cycle)")
    for p in processes:
        if p.in_scope and p.risk == "high":
            last = max((a.completed_on for a in done if p.id in a.process_ids), default=None)
            if last is None or as_of - last > HIGH_RISK_INTERVAL:
                out.append(f"High-risk process “{p.name}” is due: "
                           + (f"last audited {last.isoformat()}" if last else "never audited") + " (every year)")
    return tuple(out)


# --- impartiality ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskDone:
    title: str
    clauses: tuple[str, ...]
    completed_by_id: int | None


def conflicts(auditor_id: int | None, refs: Iterable[str], processes: Iterable[ProcessState],
              tasks: Iterable[TaskDone]) -> tuple[str, ...]:
    """Why this auditor may not audit this scope: processes of theirs, tasks they completed on the audited
    clauses (empty: impartial). `processes` are the audited ones."""
    if auditor_id is None:
        return ()
    refs = tuple(refs)
    out = [f"they own the process “{p.name}”" for p in processes if p.owner_id == auditor_id]
    for t in tasks:
        if t.completed_by_id == auditor_id and any(_under(c, r) or _under(r, c) for c in t.clauses for r in refs):
            out.append(f"they completed the task “{t.title}” ({', '.join(t.clauses)})")
    return tuple(out)


def check_impartial(auditor_name: str, reasons: tuple[str, ...]) -> None:
    if reasons:
        raise InternalAuditError(f"{auditor_name} cannot audit this scope impartially: " + "; ".join(reasons)
                                 + ". Choose another auditor or change the scope.", 422, "auditor_id")


@dataclass(frozen=True)
class DocumentWritten:
    title: str
    clauses: tuple[str, ...]
    author_ids: frozenset[int]


def authored_documents(auditor_id: int | None, refs: Iterable[str],
                       documents: Iterable[DocumentWritten]) -> tuple[str, ...]:
    """Titles of documents on the audited clauses that the auditor wrote (a warning, not a refusal: a
    consultant often writes the system and is asked to audit it; a colleague should, where there is one)."""
    refs = tuple(refs)
    return tuple(d.title for d in documents if auditor_id in d.author_ids
                 and any(_under(c, r) or _under(r, c) for c in d.clauses for r in refs))


# --- an audit's course ----------------------------------------------------------------------------------

def check_complete(status: str, unrated: tuple[str, ...], conclusion: str) -> None:
    """An audit completes once every line is rated and the report's conclusion is written."""
    if status == COMPLETED:
        raise InternalAuditError("The audit is already completed.")
    problems = []
    if unrated:
        problems.append(f"{len(unrated)} checklist line{'s are' if len(unrated) != 1 else ' is'} not rated "
                        f"({', '.join(unrated[:5])}{' …' if len(unrated) > 5 else ''})")
    if not conclusion.strip():
        problems.append("the report has no conclusion")
    if problems:
        raise InternalAuditError("The audit cannot be completed: " + "; ".join(problems) + ".")


def check_changeable(status: str) -> None:
    if status == COMPLETED:
        raise InternalAuditError("The audit is completed; its checklist and report are a record and stay as they "
                                 "are.")
