"""The consultancy's KPI library under /library/kpis/: the list (with what differs from the standard
library), editing a definition, adding one of its own, archiving and restoring.

A client's KPI is a copy made when the client adds it, so nothing here changes a running client: an edit
changes what clients get when they add the KPI from now on. Definitions are archived, never deleted, so the
client KPIs made from them keep their origin.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_login import current_user

from workflows import kpi as wk

from ..extensions import db
from ..permissions import KPI_LIBRARY_EDITORS, account_required
from ..refusal import Refusal
from ..templating import render
from ..workspace import operations as ops
from . import kpi_bp as bp
from . import kpi_store as store
from .forms import KpiDefinitionForm

LABELS = {"area": wk.AREA_LABELS, "frequency": wk.FREQUENCY_LABELS, "direction": wk.DIRECTION_LABELS}


@bp.get("/")
@account_required(*KPI_LIBRARY_EDITORS)
def index():
    return _index_page()


def _index_page(status: int = 200):
    entries = store.entries(g.account.id)
    return render("library/kpis.html", entries=entries, tracked=ops.tracked(g.account.id), labels=LABELS,
                  changed=[e for e in entries if e.changes], own=[e for e in entries if e.own],
                  archived=[e for e in entries if e.archived]), status


def _entry_or_404(key: str) -> store.Entry:
    found = store.entry(g.account.id, key)
    if found is None:
        abort(404)
    return found


def _edit_page(entry: store.Entry, form: KpiDefinitionForm, status: int = 200):
    standard = store.standard()
    original = standard.get(entry.based_on) if entry.based_on in standard.keys() else None
    clients = ops.tracked(g.account.id).get(entry.key, (0, 0))[0]
    return render("library/kpi_edit.html", entry=entry, form=form, original=original, clients=clients,
                  labels=LABELS), status


@bp.get("/<key>")
@account_required(*KPI_LIBRARY_EDITORS)
def edit(key):
    entry = _entry_or_404(key)
    return _edit_page(entry, KpiDefinitionForm.for_definition(entry.definition))


@bp.post("/<key>")
@account_required(*KPI_LIBRARY_EDITORS)
def update(key):
    entry = _entry_or_404(key)
    form = KpiDefinitionForm()
    definition = form.read(key, store.clause_numbers(), never_zero_target=entry.definition.never_zero_target,
                           taken_names=store.taken_names(g.account.id, except_key=key))
    if definition is None:
        return _edit_page(entry, form, 422)
    try:
        changed = store.update(g.account.id, definition, current_user)
    except Refusal as err:
        db.session.rollback()
        form.name.errors = [*form.name.errors, str(err)]
        return _edit_page(entry, form, err.status)
    db.session.commit()
    if changed:
        flash(f"{definition.name} saved. Clients add it like this from now on; KPIs clients already track "
              "keep their own settings.", "success")
    else:
        flash(f"{definition.name} is unchanged.", "info")
    return redirect(url_for(".index") + f"#kpi-{key}", 303)


@bp.get("/new")
@account_required(*KPI_LIBRARY_EDITORS)
def new():
    form = KpiDefinitionForm(formdata=None, data={"area": "delivery", "direction": "higher", "frequency": "monthly"})
    return render("library/kpi_new.html", form=form)


@bp.post("/new")
@account_required(*KPI_LIBRARY_EDITORS)
def add():
    form = KpiDefinitionForm()
    key = store.new_key(g.account.id, form.name.data or "")
    definition = form.read(key, store.clause_numbers(), taken_names=store.taken_names(g.account.id))
    if definition is not None:
        try:
            store.add(g.account.id, definition, current_user)
        except Refusal as err:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(err)]
        else:
            db.session.commit()
            flash(f"{definition.name} added to your KPI library. Your clients can take it from their KPI page.",
                  "success")
            return redirect(url_for(".index") + f"#kpi-{key}", 303)
    return render("library/kpi_new.html", form=form), 422


def _archived(key: str, archived: bool):
    entry = _entry_or_404(key)
    try:
        store.set_archived(g.account.id, key, archived, current_user)
    except Refusal as err:
        db.session.rollback()
        flash(str(err), "error")
        return _index_page(err.status)
    db.session.commit()
    name = entry.definition.name
    flash(f"{name} archived: clients can no longer add it; those that track it keep it." if archived
          else f"{name} is back in your library.", "success")
    return redirect(url_for(".index") + f"#kpi-{key}", 303)


@bp.post("/<key>/archive")
@account_required(*KPI_LIBRARY_EDITORS)
def archive(key):
    return _archived(key, True)


@bp.post("/<key>/restore")
@account_required(*KPI_LIBRARY_EDITORS)
def restore(key):
    return _archived(key, False)
