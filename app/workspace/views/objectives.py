"""Quality objectives: the list with the 6.2.2 check and linked KPIs, adding and editing one."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

from workflows import kpi as wk

from ...extensions import db
from ...models import Kpi, Objective
from ...permissions import CLIENT_MANAGERS, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor


def _form(form) -> ops.ObjectiveForm:
    ids = []
    for value in form.getlist("kpi_ids"):
        try:
            ids.append(int(value))
        except ValueError:
            ids.append(-1)  # refused by the operation: not one of the client's KPIs
    return ops.ObjectiveForm(**{k: form.get(k, "") for k in _TEXT_FIELDS}, kpi_ids=tuple(ids))


_TEXT_FIELDS = ("title", "what", "resources", "responsible", "due_on", "evaluation")


def _values(o: Objective | None, form=None) -> dict:
    """What the form shows: what was typed (after a refusal), else the objective's own values."""
    if form is not None:
        return {**{k: form.get(k, "") for k in _TEXT_FIELDS}, "kpi_ids": form.getlist("kpi_ids")}
    if o is None:
        return {**{k: "" for k in _TEXT_FIELDS}, "kpi_ids": []}
    return {"title": o.title, "what": o.what, "resources": o.resources, "responsible": o.responsible,
            "due_on": o.due_on.isoformat() if o.due_on else "", "evaluation": o.evaluation,
            "kpi_ids": [str(k.id) for k in o.kpis]}


def _page(template: str, status: int = 200, **context):
    rows = ops.objective_rows()
    kpis = db.session.scalars(select(Kpi).order_by(Kpi.name)).all()
    return render(template, client=g.client, rows=rows, kpis=kpis, parts=wk.PLAN_PARTS,
                  status_labels={**wk.OBJECTIVE_STATUS_LABELS, **wk.STATUS_LABELS},
                  can_manage=g.client_role in CLIENT_MANAGERS, **context), status


@bp.get("/objectives")
def objectives():
    return _page("workspace/objectives.html", values=_values(None), error=None)


@bp.post("/objectives")
@requires(*CLIENT_MANAGERS)
def add_objective():
    try:
        objective = ops.save_objective(None, _form(request.form), actor())
    except Refusal as err:
        db.session.rollback()
        return _page("workspace/objectives.html", err.status, values=_values(None, request.form), error=err)
    title = objective.title
    ops.save(g.client)
    flash(f"Objective added: {title}.", "success")
    return redirect(url_for("workspace.objectives"), 303)


@bp.get("/objectives/<int:objective_id>")
def objective(objective_id):
    o = db.get_or_404(Objective, objective_id)
    return _page("workspace/objective.html", objective=o, values=_values(o), error=None)


@bp.post("/objectives/<int:objective_id>")
@requires(*CLIENT_MANAGERS)
def edit_objective(objective_id):
    o = db.get_or_404(Objective, objective_id)
    try:
        ops.save_objective(o, _form(request.form), actor())
    except Refusal as err:
        db.session.rollback()
        return _page("workspace/objective.html", err.status, objective=db.get_or_404(Objective, objective_id),
                     values=_values(None, request.form), error=err)
    ops.save(g.client)
    flash("Objective saved.", "success")
    return redirect(url_for("workspace.objectives"), 303)
