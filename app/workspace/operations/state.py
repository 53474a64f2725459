"""Reading one client's state: its settings, pinned template, stages and what the gate rules see."""
from __future__ import annotations

from datetime import date, timezone
from functools import lru_cache

from sqlalchemy import func, literal_column, select

import tenants
import workflows as wf
from workflows import gap_analysis as gap
from workflows.management_review import INTERNAL_AUDIT_TASK_KEYS
from workflows.stages import STAGE_KEYS

from ... import clock
from ...extensions import db
from ...models import (Document, Finding, GapRating, GateReview, InternalAudit, ManagementReview, RecordEntry,
                       Stage, Task, WorkspaceSettings)
from . import audit_gate
from .common import json_rows


def _held(name: str, load):
    """Objects read once per client binding and held for the rest of it.

    The session's identity map keeps objects only weakly, so the settings row and the five stages, which
    several helpers of one page ask for, would otherwise be read again each time. Held under the bound
    schema's name and re-read once the binding has dropped them (its end expunges every tenant object);
    commits and rollbacks only expire them, and they reload on their next use.
    """
    memo = _memo()
    objs = memo.get(name)
    if objs is None or any(o not in db.session for o in objs):
        objs = memo[name] = load()
    return objs


def _memo() -> dict:
    schema = tenants.current_schema()
    memo = db.session.info.get("held")
    if memo is None or memo[0] != schema:
        memo = db.session.info["held"] = (schema, {})
    return memo[1]


def settings() -> WorkspaceSettings:
    found = _held("settings", lambda: [s for s in [db.session.get(WorkspaceSettings, 1)] if s is not None])
    return found[0] if found else None


def stages() -> list[Stage]:
    """The client's five stages in order."""
    return _held("stages", lambda: db.session.scalars(select(Stage).order_by(Stage.position)).all())


def lock_gate_state() -> WorkspaceSettings:
    """Take this client's gate lock and re-read what the gate rules look at under it.

    Every change to the gates — a review request, an approval, a send-back, a reopening, the certification
    decision — starts here: the settings row (one per client) is locked with SELECT … FOR UPDATE until the
    request's one commit or rollback, so two such changes at once run one after the other and the second sees
    what the first did (a double click gets a 409 instead of writing the same record twice). Stages and
    pending reviews are reloaded from the database, never taken from what the session read before the lock.
    """
    fresh = {"populate_existing": True}
    s = db.session.scalars(select(WorkspaceSettings).with_for_update().execution_options(**fresh)).one()
    memo = _memo()  # what was read under the lock is what the rest of the request holds
    memo["settings"] = [s]
    memo["stages"] = db.session.scalars(select(Stage).order_by(Stage.position).execution_options(**fresh)).all()
    db.session.scalars(select(GateReview).where(GateReview.status == "requested").execution_options(**fresh)).all()
    return s


def template() -> wf.Template:
    """The client's pinned template, parsed once per process for each version it has been on."""
    s = settings()
    return _pinned(tenants.current_schema(), s.template_key, s.template_version)


@lru_cache(maxsize=512)
def _pinned(schema: str, key: str, version: int) -> wf.Template:
    # A client's snapshot changes only together with its version (apply_template), and schema names
    # are never reused for another client, so the three name one snapshot for good.
    return wf.read_template(settings().template_snapshot)


def current_stage_key() -> str:
    return next((st.key for st in stages() if st.status == "current"), STAGE_KEYS[-1])


def client_state() -> wf.ClientState:
    all_stages, s = stages(), settings()
    gates = [st.gate for st in template().stages]
    # Tasks, documents, findings and whatever else the template's gates look at, in one round trip: the gate
    # rules need them on most pages.
    extra = _gate_reads(gates)
    row = db.session.execute(select(
        json_rows(Task.key, Task.stage, Task.required, Task.status, Task.title,
                  Task.na_approved_at.isnot(None) | (Task.status != "not_applicable")),
        json_rows(Document.key, Document.stage, Document.required, Document.status, Document.title),
        json_rows(Finding.id, Finding.stage, Finding.severity, Finding.status, Finding.title, Finding.target_stage),
        *_management_review_facts(), *extra.values(),
    )).one()
    tasks, docs, findings, mr_complete, mr_closed_on, audited_on = row[:6]
    read = dict(zip(extra, row[6:]))
    current = next((st.key for st in all_stages if st.status == "current"), STAGE_KEYS[-1])
    return wf.ClientState(
        current_stage=current,
        tasks=[wf.TaskState(*row) for row in tasks],
        documents=[wf.DocumentState(*row) for row in docs],
        findings=[wf.FindingState(*row) for row in findings],
        signoffs={st.key for st in all_stages if st.status == "passed"},
        certification_decision=s.certification_decision if s else None,
        management_review_inputs_complete=bool(mr_complete),
        management_review_closed_on=mr_closed_on,
        internal_audit_completed_on=audited_on,
        **_evidence_over_time(all_stages, gates, read),
        **(audit_gate.gate_fields(read["audit"]) if "audit" in read else {}),
    )


def _management_review_facts():
    # What the 9.3 gate criteria read: a review with every input given, the latest close, and when the internal
    # audit was completed.
    complete = select(func.bool_or(ManagementReview.inputs_complete)).scalar_subquery()
    closed_on = select(func.max(ManagementReview.closed_on)).where(ManagementReview.status == "closed") \
        .scalar_subquery()
    task_done = select(func.max(Task.completed_at)).where(Task.key.in_(INTERNAL_AUDIT_TASK_KEYS),
                                                          Task.status == "done").scalar_subquery()
    audit_done = select(func.max(InternalAudit.completed_on)).where(InternalAudit.status == "completed") \
        .scalar_subquery()
    # The latest of a completed audit of the programme and the template's audit task (GREATEST skips NULLs).
    return complete, closed_on, func.greatest(func.date(task_done), audit_done)


def _gate_reads(gates) -> dict:
    """The subqueries of what only some templates' gates look at (the gap checklist's ratings, the record
    instances' dates, the internal audit programme), each read only when a gate of the client's template asks."""
    reads: dict = {}
    if any(g.all_gap_items_rated for g in gates):
        reads["gap_rated"] = select(func.coalesce(func.array_agg(GapRating.clause), literal_column("'{}'")))\
            .where(GapRating.checklist == gap.DEFAULT_CHECKLIST).scalar_subquery()
    keys = sorted({key for g in gates for key, _ in g.min_record_instances})
    if keys:
        reads["record_instances"] = json_rows(Document.key, RecordEntry.occurred_on,
                                              where=(RecordEntry.document_id == Document.id, Document.key.in_(keys)))
    if any(g.audit_coverage_complete or g.all_audit_ncs_have_ca for g in gates):
        reads["audit"] = func.json_build_array(*audit_gate.gate_columns())
    return reads


def _evidence_over_time(all_stages: list[Stage], gates, read: dict) -> dict:
    """The fields of the gate criteria of evidence over time (the gap checklist, when stages were entered, the
    record instances' dates) that the client's template asks for."""
    found: dict = {}
    if "gap_rated" in read:
        # The checklist gap_analysis.gap_checklist() rates (that module builds on this one).
        found["gap_items"] = tuple(i.clause for i in gap.load_checklist(gap.DEFAULT_CHECKLIST).items())
        found["gap_rated"] = frozenset(read["gap_rated"])
    if "record_instances" in read or any(g.min_operating_days for g in gates):
        found["today"] = clock.today()
        found["stage_entered"] = {st.key: st.entered_at.astimezone(timezone.utc).date() for st in all_stages
                                  if st.entered_at is not None}
    if "record_instances" in read:
        dates: dict[str, list] = {}
        for key, day in read["record_instances"]:
            dates.setdefault(key, []).append(date.fromisoformat(day))
        found["record_instances"] = {k: tuple(v) for k, v in dates.items()}
    return found


def gate(stage_key: str, state: wf.ClientState | None = None) -> wf.GateResult:
    return wf.evaluate_gate(template(), state or client_state(), stage_key)


def pending_review(stage_key: str) -> GateReview | None:
    return db.session.scalar(select(GateReview).where(GateReview.stage == stage_key,
                                                      GateReview.status == "requested"))


def review_state(stage_key: str, reviews: list[GateReview] | None = None
                 ) -> tuple[GateReview | None, GateReview | None]:
    """The stage's pending review and, if the consultant sent its latest back, that one — in one read (none
    if the caller has every review, newest first).

    A sent-back review shows until the client asks again (a new request is then the latest)."""
    if reviews is None:
        reviews = db.session.scalars(select(GateReview).where(GateReview.stage == stage_key)
                                     .order_by(GateReview.requested_at.desc(), GateReview.id.desc())).all()
    reviews = [r for r in reviews if r.stage == stage_key]
    pending = next((r for r in reviews if r.status == "requested"), None)
    sent_back = reviews[0] if reviews and reviews[0].status == "sent_back" else None
    return pending, sent_back

