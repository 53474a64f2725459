"""The internal audit (9.2): the programme and its processes, audits planned impartially with a checklist from
the gap analysis's questions, each line rated with its evidence, a finding raised from a line in one step, the
report and the audit's completion. Every rule is workflows/internal_audit.py's."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from sqlalchemy import func, select

from workflows import gap_analysis as gap
from workflows import internal_audit as ia
from workflows import nonconformity as nc

from ... import clock
from ...extensions import db
from ...models import (AuditLine, AuditProcess, AuditProgramme, CorrectiveAction, Document, DocumentVersion, Finding,
                       InternalAudit, Task, User)
from ...refusal import Refusal
from .audit_gate import (audit_states, audits, gate_fields, ncs_without_action,  # noqa: F401  (the area's reads)
                         process_states, processes)
from .common import Actor, check_length, log
from .common import apply_rule as _rule  # the area's rules refused as a Refusal
from .certification import parse_day
from .findings import raise_finding
from .gap_analysis import gap_checklist
from .state import current_stage_key, template

TEXT_MAX = 5_000


def _text(value: str | None, field_: str, what: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise Refusal(f"{what} can be at most {TEXT_MAX:,} characters long ({len(value):,} given).", 422,
                      field=field_)
    return value


# --- the programme ----------------------------------------------------------------------------------------

def programme() -> AuditProgramme | None:
    return db.session.scalar(select(AuditProgramme).order_by(AuditProgramme.id).limit(1))


@dataclass
class ProgrammeForm:
    period_start: str = ""
    period_end: str = ""
    notes: str = ""
    methods: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, p: AuditProgramme | None) -> "ProgrammeForm":
        if p is None:
            return cls()
        return cls(p.period_start.isoformat() if p.period_start else "",
                   p.period_end.isoformat() if p.period_end else "", p.notes, list(p.methods or ()))


def save_programme(form: ProgrammeForm, manager: User | None, actor: Actor) -> AuditProgramme:
    start = parse_day(form.period_start, "period_start", "The programme's start")
    end = parse_day(form.period_end, "period_end", "The programme's end")
    if start is None or end is None:
        raise Refusal("Give the period the programme covers (its first and last day).", 422,
                      field="period_start" if start is None else "period_end")
    if end <= start:
        raise Refusal("The programme's period ends after it starts.", 422, field="period_end")
    unknown = [m for m in form.methods if m not in ia.METHODS]
    if unknown or not form.methods:
        raise Refusal("Choose the audit methods from the list (at least one).", 422, field="methods")
    if manager is None:
        raise Refusal("Choose who manages the programme (someone working on this client).", 422, field="manager_id")
    p = programme()
    if p is None:
        p = AuditProgramme()
        db.session.add(p)
    p.period_start, p.period_end, p.methods = start, end, [m for m in ia.METHODS if m in form.methods]
    p.manager_id, p.manager_name, p.notes = manager.id, manager.name, _text(form.notes, "notes", "The notes")
    p.updated_at = clock.now()
    db.session.flush()
    log(actor, "audit_programme.saved", "audit_programme", p.id,
        f"Internal audit programme {start.isoformat()} to {end.isoformat()}, managed by {manager.name}", None,
        {"methods": p.methods})
    return p


@dataclass
class ProcessForm:
    name: str = ""
    risk: str = "medium"
    in_scope: bool = True
    importance: str = ""
    recent_changes: str = ""
    previous_results: str = ""

    @classmethod
    def of(cls, p: AuditProcess) -> "ProcessForm":
        return cls(**{f.name: getattr(p, f.name) for f in fields(cls)})


def save_process(process: AuditProcess | None, form: ProcessForm, owner: User | None, actor: Actor) -> AuditProcess:
    """Add a process to the programme (or change one), with its owner and its risk rationale."""
    name = check_length(form.name.strip(), AuditProcess.name, "name", "The process's name")
    if not name:
        raise Refusal("Name the process (e.g. Sales and quoting).", 422, field="name")
    if form.risk not in ia.RISKS:
        raise Refusal("Choose the risk: high, medium or low.", 422, field="risk")
    if owner is None:
        raise Refusal("Choose the process owner (someone working on this client).", 422, field="owner_id")
    clash = db.session.scalar(select(AuditProcess.id).where(func.lower(AuditProcess.name) == name.lower()))
    if clash is not None and (process is None or clash != process.id):
        raise Refusal(f"The programme already has a process “{name}”.", 409, field="name")
    values = {"name": name, "risk": form.risk, "in_scope": bool(form.in_scope), "owner_id": owner.id,
              "owner_name": owner.name,
              **{k: _text(getattr(form, k), k, k.replace("_", " ").capitalize())
                 for k in ("importance", "recent_changes", "previous_results")}}
    if form.risk == "high" and not (values["importance"] or values["recent_changes"] or values["previous_results"]):
        raise Refusal("Say why the process is high risk (its importance, a recent change or previous results).",
                      422, field="importance")
    created = process is None
    if created:
        process = AuditProcess()
        db.session.add(process)
    for k, v in values.items():
        setattr(process, k, v)
    db.session.flush()
    log(actor, "audit_process.added" if created else "audit_process.updated", "audit_process", process.id,
        f"Process “{name}” ({ia.RISKS[form.risk].lower()} risk, owner {owner.name}) "
        f"{'added to' if created else 'changed in'} the audit programme", None, {"risk": form.risk})
    return process


# --- audits ------------------------------------------------------------------------------------------------

@dataclass
class AuditForm:
    title: str = ""
    criteria: str = "ISO 9001:2015 and the client's own procedures and playbooks"
    clauses: str = ""
    scope_note: str = ""
    planned_on: str = ""
    auditees: str = ""
    process_ids: list[int] = field(default_factory=list)


def _tasks_done() -> list[ia.TaskDone]:
    rows = db.session.execute(select(Task.title, Task.clauses, Task.completed_by_id)
                              .where(Task.status == "done", Task.completed_by_id.is_not(None)))
    return [ia.TaskDone(t, tuple(c or ()), by) for t, c, by in rows]


def _documents_written() -> list[ia.DocumentWritten]:
    rows = db.session.execute(select(Document.id, Document.title, Document.clauses, DocumentVersion.created_by_id)
                              .join(DocumentVersion, DocumentVersion.document_id == Document.id)
                              .where(DocumentVersion.created_by_id.is_not(None)))
    docs: dict[int, tuple[str, tuple[str, ...], set[int]]] = {}
    for doc_id, title, clauses, by in rows:
        docs.setdefault(doc_id, (title, tuple(clauses or ()), set()))[2].add(by)
    return [ia.DocumentWritten(t, c, frozenset(a)) for t, c, a in docs.values()]


@dataclass(frozen=True)
class Warning_:
    """A consultant about to audit documents they wrote: which, and colleagues who could audit instead."""

    documents: tuple[str, ...]
    colleagues: tuple[str, ...]


def authored_warning(auditor: User, refs: tuple[str, ...], colleagues: list[User]) -> Warning_ | None:
    docs = _documents_written()
    written = ia.authored_documents(auditor.id, refs, docs)
    if not written:
        return None
    others = tuple(u.name for u in colleagues if u.id != auditor.id and not ia.authored_documents(u.id, refs, docs))
    return Warning_(written, others)


def plan_audit(form: AuditForm, auditor: User | None, actor: Actor) -> InternalAudit:
    """An audit of the programme with its checklist: one line per checklist item under the audited clauses.
    Refused (422, with the reason) when the auditor owns an audited process or completed tasks on its clauses."""
    checklist = gap_checklist()
    title = check_length(form.title.strip(), InternalAudit.title, "title", "The audit's title")
    if not title:
        raise Refusal("Give the audit a title (e.g. Sales and delivery, clauses 8 and 9).", 422, field="title")
    refs = _rule(ia.parse_clause_scope, form.clauses, checklist)
    planned_on = parse_day(form.planned_on, "planned_on", "The audit date")
    if planned_on is None:
        raise Refusal("Give the date of the audit.", 422, field="planned_on")
    wanted = set(form.process_ids)
    scope = [p for p in processes() if p.id in wanted]
    if len(scope) != len(wanted):
        raise Refusal("Choose the audited processes from the programme's list.", 422, field="process_ids")
    if auditor is None:
        raise Refusal("Choose the auditor (someone working on this client).", 422, field="auditor_id")
    _rule(ia.check_impartial, auditor.name, ia.conflicts(auditor.id, refs, process_states(scope), _tasks_done()))
    number = (db.session.scalar(select(func.count(InternalAudit.id))) or 0) + 1
    audit = InternalAudit(reference=f"IA-{number:03}", title=title,
                          criteria=_text(form.criteria, "criteria", "The criteria"), clauses=list(refs),
                          scope_note=_text(form.scope_note, "scope_note", "The scope"), planned_on=planned_on,
                          auditees=check_length(form.auditees.strip(), InternalAudit.auditees, "auditees",
                                                "The auditees"),
                          auditor_id=auditor.id, auditor_name=auditor.name, status=ia.PLANNED,
                          created_by_name=actor.name, processes=scope)
    audit.lines = [AuditLine(clause=item.clause, position=i)
                   for i, item in enumerate(ia.checklist_items(checklist, refs))]
    db.session.add(audit)
    db.session.flush()
    log(actor, "internal_audit.planned", "internal_audit", audit.id,
        f"Internal audit {audit.reference} “{title}” planned for {planned_on.isoformat()} by {auditor.name} "
        f"(clauses {', '.join(refs)}; {len(audit.lines)} checklist lines)", None,
        {"clauses": list(refs), "processes": [p.name for p in scope]})
    return audit


def line_of(audit: InternalAudit, clause: str) -> AuditLine:
    line = next((ln for ln in audit.lines if ln.clause == clause), None)
    if line is None:
        raise Refusal(f"The checklist of {audit.reference} has no line {clause}.", 404)
    return line


def _locked(audit: InternalAudit) -> None:
    db.session.execute(select(InternalAudit.id).where(InternalAudit.id == audit.id).with_for_update())
    db.session.refresh(audit)


def _may_audit(audit: InternalAudit, actor: Actor) -> None:
    """The person rating must be impartial on this audit's scope too (not only the planned auditor)."""
    reasons = ia.conflicts(actor.id, tuple(audit.clauses), process_states(audit.processes), _tasks_done())
    _rule(ia.check_impartial, actor.name, reasons)


def rate_line(audit: InternalAudit, clause: str, rating: str | None, evidence: str | None, notes: str | None,
              actor: Actor) -> AuditLine:
    _locked(audit)
    _rule(ia.check_changeable, audit.status)
    line = line_of(audit, clause)
    if rating not in gap.RATINGS:
        raise Refusal("Choose a rating: conforming, partly, not conforming or not applicable.", 422, field="rating")
    evidence = _text(evidence, "evidence", "The evidence")
    notes = _text(notes, "notes", "The notes")
    if not evidence:
        raise Refusal("Say what evidence you saw (records sampled, people interviewed, tools walked through).",
                      422, field="evidence")
    if rating == gap.NOT_APPLICABLE and len(notes) < gap.JUSTIFICATION_MIN:
        raise Refusal(f"Say in the notes why {clause} does not apply (at least {gap.JUSTIFICATION_MIN} characters).",
                      422, field="notes")
    _may_audit(audit, actor)
    before = {"rating": line.rating}
    line.rating, line.evidence, line.notes = rating, evidence, notes
    line.rated_by_id, line.rated_by_name, line.rated_at = actor.id, actor.name, clock.now()
    if audit.status == ia.PLANNED:
        audit.status = ia.IN_PROGRESS
    db.session.flush()
    log(actor, "internal_audit.rated", "internal_audit", audit.id,
        f"{audit.reference} {clause}: {gap.RATING_LABELS[rating].lower()}", before, {"rating": rating})
    return line


def finding_from_line(audit: InternalAudit, clause: str, kind: str | None, grade: str | None, actor: Actor) -> Finding:
    """A nonconformity record from a rated line, in one step: its clause, source internal audit, the line's
    evidence, and a link back to the line."""
    _locked(audit)
    line = line_of(audit, clause)
    if line.rating is None:
        raise Refusal(f"Rate {clause} (with the evidence) before raising a finding on it.", 409)
    if line.finding_id is not None and db.session.get(Finding, line.finding_id) is not None:
        raise Refusal(f"{clause} of {audit.reference} already has finding #{line.finding_id}.", 409)
    item = gap_checklist().item(clause)
    requirement = " ".join(item.questions) if item else ""
    finding = raise_finding(current_stage_key(), "", f"{audit.reference} {item.label if item else clause}",
                            gap.nearest_clause(clause, template().clause_numbers), f"Raised from internal audit {audit.reference} “{audit.title}”, checklist line "
                            f"{clause}.{(' Notes: ' + line.notes) if line.notes else ''}", actor,
                            source="internal_audit", kind=kind or "system_nonconformity", grade=grade,
                            process=", ".join(p.name for p in audit.processes)[:200], requirement=requirement,
                            evidence=line.evidence)
    line.finding_id = finding.id
    return finding


@dataclass
class ReportForm:
    summary: str = ""
    conclusion: str = ""
    positives: str = ""
    distribution: str = ""

    @classmethod
    def of(cls, a: InternalAudit) -> "ReportForm":
        return cls(**{f.name: getattr(a, f.name) for f in fields(cls)})


def save_report(audit: InternalAudit, form: ReportForm, actor: Actor) -> None:
    _locked(audit)
    _rule(ia.check_changeable, audit.status)
    for f in fields(ReportForm):
        setattr(audit, f.name, _text(getattr(form, f.name), f.name, f.name.capitalize()))
    log(actor, "internal_audit.report", "internal_audit", audit.id, f"{audit.reference} report saved")


def complete_audit(audit: InternalAudit, actor: Actor) -> None:
    """Completed once every line is rated and the conclusion written; the checklist and report are then a record."""
    _locked(audit)
    unrated = tuple(ln.clause for ln in audit.lines if ln.rating is None)
    _rule(ia.check_complete, audit.status, unrated, audit.conclusion)
    audit.status, audit.completed_on = ia.COMPLETED, clock.today()
    log(actor, "internal_audit.completed", "internal_audit", audit.id, f"Internal audit {audit.reference} completed",
        None, {"status": ia.COMPLETED})


def findings_of(audit: InternalAudit) -> list[Finding]:
    ids = [ln.finding_id for ln in audit.lines if ln.finding_id is not None]
    return list(db.session.scalars(select(Finding).where(Finding.id.in_(ids)).order_by(Finding.id))) if ids else []


# --- what the gate and the programme page read -----------------------------------------------------------

def programme_coverage() -> ia.Coverage:
    return ia.coverage(gap_checklist(), process_states(), audit_states())


def cycle_due() -> tuple[str, ...]:
    return ia.cycle_overdue(gap_checklist(), process_states(), audit_states(), clock.today())


KINDS_FROM_LINE = {k: v for k, v in nc.KINDS.items() if k in ("system_nonconformity", "observation", "opportunity")}
