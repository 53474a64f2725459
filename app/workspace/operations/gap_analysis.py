"""The gap analysis of the initial audit: rating the checklist's items, and turning a gap into a finding or a
task that carries its clause. The checklist and every rule about ratings live in workflows/gap_analysis.py."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workflows import gap_analysis as gap
from workflows import GapAnalysisError
from workflows import target_stage as ts
from workflows.stages import stage_label

from ... import clock
from ...extensions import db
from ...models import Finding, GapRating, Stage, Task, TaskComment
from ...refusal import Refusal
from .common import Actor, log
from .findings import raise_finding
from .state import current_stage_key, template
from .tasks import append_task


def gap_checklist() -> gap.Checklist:
    """The checklist this client is rated on (the standard's; the template's standard once there are others)."""
    return gap.load_checklist(gap.DEFAULT_CHECKLIST)


def gap_ratings() -> dict[str, GapRating]:
    """The client's ratings by clause."""
    rows = db.session.scalars(select(GapRating).where(GapRating.checklist == gap_checklist().key))
    return {r.clause: r for r in rows}


@dataclass(frozen=True)
class GapReport:
    checklist: gap.Checklist
    ratings: dict[str, GapRating]
    groups: tuple[gap.Score, ...]
    overall: gap.Score
    by_outcome: dict[str, tuple[str, ...]]


def gap_report() -> GapReport:
    c = gap_checklist()
    rows = gap_ratings()
    groups, overall = gap.scores(c, {k: r.rating for k, r in rows.items()})
    return GapReport(c, rows, groups, overall, gap.by_outcome(c, {k: r.outcome for k, r in rows.items()}))


def rate_gap_item(clause: str, rating: str | None, outcome: str | None, notes: str | None, evidence: str | None,
         justification: str | None, actor: Actor) -> GapRating:
    """Rate one item (again): the rules check the rating; who and when are recorded with it."""
    c = gap_checklist()
    try:
        checked = gap.check_rating(c, clause, rating, outcome, justification, notes)
        if len(evidence or "") > gap.NOTES_MAX:
            raise GapAnalysisError(f"The evidence can be at most {gap.NOTES_MAX:,} characters long "
                                   f"({len(evidence):,} given).", field="evidence")
    except GapAnalysisError as err:
        raise Refusal(str(err), err.status, field=err.field) from err
    row = _locked_row(c.key, clause)
    before = None if row is None else {"rating": row.rating, "outcome": row.outcome}
    if row is None:
        try:
            with db.session.begin_nested():  # two people rating a new item at once: the second updates
                row = GapRating(checklist=c.key, clause=clause, rating=checked.rating, outcome=checked.outcome,
                                justification=checked.justification or None, rated_by_name=actor.name,
                                rated_at=clock.now())
                db.session.add(row)
        except IntegrityError:
            row = _locked_row(c.key, clause)
            before = {"rating": row.rating, "outcome": row.outcome}
    row.rating, row.outcome = checked.rating, checked.outcome
    row.justification = checked.justification or None
    row.notes, row.evidence = (notes or "").strip(), (evidence or "").strip()
    row.rated_by_id, row.rated_by_name, row.rated_at = actor.id, actor.name, clock.now()
    db.session.flush()
    item = c.item(clause)
    what = gap.RATING_LABELS[checked.rating].lower()
    if checked.outcome:
        what += f" ({gap.OUTCOME_LABELS[checked.outcome].lower()})"
    log(actor, "gap.rated", "gap_rating", row.id, f"Gap analysis {item.label}: {what}", before,
        {"rating": checked.rating, "outcome": checked.outcome})
    return row


def _locked_row(checklist_key: str, clause: str) -> GapRating | None:
    return db.session.scalar(select(GapRating).where(GapRating.checklist == checklist_key, GapRating.clause == clause)
                             .with_for_update().execution_options(populate_existing=True))


def _gap(clause: str) -> tuple[gap.Requirement, GapRating]:
    """The rated gap on `clause`: 404 for a clause the checklist does not rate, 409 unless it is a gap."""
    item = gap_checklist().item(clause)
    if item is None:
        raise Refusal(f"The checklist has no item {clause}.", 404)
    row = _locked_row(gap_checklist().key, clause)
    if row is None or row.rating not in gap.GAP_RATINGS:
        raise Refusal(f"{item.label} is not rated as a gap (partly or not conforming).", 409)
    return item, row


def gap_remedy_stage(clause: str) -> str:
    """The stage that will close a gap on `clause`: the target stage a finding on it raised now gets by default
    (workflows/target_stage.py: the first stage from the current one whose template tasks build the clause), so
    the gap's task, its finding and the page that lists it name the same stage."""
    return ts.target_stage_for(template(), current_stage_key(), [clause])


def _description(item: gap.Requirement, row: GapRating) -> str:
    lines = [f"Raised from the gap analysis: {item.label} rated {gap.RATING_LABELS[row.rating].lower()} — "
             f"{gap.OUTCOME_LABELS[row.outcome].lower()}.",
             f"To be remedied in: {stage_label(gap_remedy_stage(item.clause))}."]
    lines += [f"Notes: {row.notes}"] if row.notes else []
    lines += [f"Evidence seen: {row.evidence}"] if row.evidence else []
    return "\n".join(lines)


def finding_from_gap(clause: str, severity: str | None, actor: Actor) -> Finding:
    """A finding on the gap, with the clause (the nearest the client's template knows) and the severity chosen."""
    item, row = _gap(clause)
    if row.finding_id is not None and db.session.get(Finding, row.finding_id) is not None:
        raise Refusal(f"{item.label} already has finding #{row.finding_id}.", 409)
    known = template().clause_numbers
    finding = raise_finding(current_stage_key(), severity or "", f"{item.label}: {gap.OUTCOME_LABELS[row.outcome]}",
                            gap.nearest_clause(item.clause, known), _description(item, row), actor,
                            source="gap_analysis", target_stage=gap_remedy_stage(item.clause))
    row.finding_id = finding.id
    return finding


def task_from_gap(clause: str, actor: Actor) -> Task:
    """A required task in the stage that will remedy the gap, carrying its clause; the gap's notes go on it as
    its first comment, so that it stays with the client if a newer template version is applied."""
    item, row = _gap(clause)
    key = "gap_" + item.clause.replace(".", "_")
    existing = db.session.scalar(select(Task).where(Task.key == key))
    if existing is not None:
        raise Refusal(f"{item.label} already has the task “{existing.title}”.", 409)
    stage = db.session.get(Stage, gap_remedy_stage(item.clause))
    task = append_task(stage, key=key, title=f"Close the gap on {item.label}",
                       guidance="Questions from the gap analysis:\n" + "\n".join(f"- {q}" for q in item.questions),
                       clauses=[item.clause], role="client_admin", required=True, allow_not_applicable=False,
                       status="todo", start_on=stage.planned_start.date() if stage.planned_start else None,
                       due_on=stage.planned_end.date() if stage.planned_end else None)
    db.session.add(TaskComment(task_id=task.id, author_id=actor.id, author_name=actor.name,
                               body=_description(item, row)))
    row.task_id = task.id
    log(actor, "task.created", "task", task.id, f"Task “{task.title}” created from the gap analysis in "
        f"{stage_label(stage.key)}", None, {"clause": item.clause, "stage": stage.key})
    return task
