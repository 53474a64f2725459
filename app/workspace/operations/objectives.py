"""Quality objectives (ISO 9001 6.2): their 6.2.2 plan, the KPIs that measure them, and their status."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import lazyload

from workflows import kpi as wk

from ...extensions import db
from ...models import Kpi, Objective, ObjectiveKpi
from ...refusal import Refusal
from .common import Actor, check_length, log
from .kpis import kpi_rows


@dataclass(frozen=True)
class ObjectiveForm:
    title: str = ""
    what: str = ""
    resources: str = ""
    responsible: str = ""
    due_on: str = ""
    evaluation: str = ""
    kpi_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ObjectiveRow:
    objective: Objective
    gaps: list[wk.PlanGap]
    status: str
    kpi_statuses: dict[int, str | None]
    kpis: list[Kpi]  # the KPIs that measure it, by name


def as_rule(o: Objective) -> wk.Objective:
    return wk.Objective(o.title, o.what, o.resources, o.responsible, o.due_on, o.evaluation)


def objective_rows(kpis: list | None = None) -> list[ObjectiveRow]:
    """Every objective with its plan check and status; `kpis` are the KPI rows if the caller has them.

    One query: each objective with the ids of its KPIs, which are taken from the KPI rows (read once, with
    their targets and measurements) instead of being loaded again through the relationship."""
    by_id = {row.kpi.id: row for row in (kpi_rows() if kpis is None else kpis)}
    linked_ids = (select(func.coalesce(func.array_agg(ObjectiveKpi.kpi_id), literal_column("'{}'::int[]")))
                  .where(ObjectiveKpi.objective_id == Objective.id).scalar_subquery())
    query = (select(Objective, linked_ids).options(lazyload(Objective.kpis))
             .order_by(Objective.due_on.nulls_last(), Objective.title))
    rows = []
    for o, ids in db.session.execute(query):
        measured = sorted((by_id[i] for i in ids if i in by_id), key=lambda row: row.kpi.name)
        linked = {row.kpi.id: row.position.status for row in measured}
        rows.append(ObjectiveRow(o, wk.check_objective(as_rule(o), linked_kpis=len(linked)),
                                 wk.objective_status(linked.values()), linked, [row.kpi for row in measured]))
    return rows


def _due(text: str) -> date | None:
    if not (text or "").strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refusal(f"{text.strip()!r} is not a date: use the date picker or write 2026-12-31.", 422,
                      field="due_on") from None


def save_objective(objective: Objective | None, form: ObjectiveForm, actor: Actor) -> Objective:
    """Create (objective None) or update an objective. A plan with gaps is saved — the check names them on
    the page — but an objective needs at least a title."""
    title = check_length(form.title.strip(), Objective.title, "title", "The objective")
    if not title:
        raise Refusal("Say what the objective is, e.g. “Deliver 95 % of jobs on time”.", 422, field="title")
    responsible = check_length(form.responsible.strip(), Objective.responsible, "responsible", "Who is responsible")
    kpis = db.session.scalars(select(Kpi).where(Kpi.id.in_(form.kpi_ids))).all() if form.kpi_ids else []
    if len(kpis) != len(set(form.kpi_ids)):
        raise Refusal("Choose the KPIs from this client's list.", 422, field="kpi_ids")
    values = {"title": title, "what": form.what.strip(), "resources": form.resources.strip(),
              "responsible": responsible, "due_on": _due(form.due_on), "evaluation": form.evaluation.strip()}
    created = objective is None
    before = None if created else {**{k: _plain(getattr(objective, k)) for k in values},
                                   "kpis": [k.name for k in objective.kpis]}
    if created:
        objective = Objective(owner_id=actor.id)
        db.session.add(objective)
    for name, value in values.items():
        setattr(objective, name, value)
    objective.kpis = sorted(kpis, key=lambda k: k.name)
    db.session.flush()
    after = {**{k: _plain(v) for k, v in values.items()}, "kpis": [k.name for k in objective.kpis]}
    log(actor, "objective.added" if created else "objective.changed", "objective", objective.id,
        f"Quality objective {'added' if created else 'changed'}: {title}", before, after)
    return objective


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value
