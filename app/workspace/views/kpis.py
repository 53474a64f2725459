"""KPIs: the list with status and sparklines, adding one (library or own), the detail page with its
chart, measurement entry, target changes and CSV import (preview, then confirm)."""
from __future__ import annotations

import base64
import binascii

from flask import abort, flash, g, redirect, request, url_for
from sqlalchemy import select

import workflows as wf
from workflows import kpi as wk

from ... import clock
from ...extensions import db
from ...library import kpi_store
from ...models import Kpi
from ...permissions import CLIENT_MANAGERS, CONSULTANT_ROLES, WRITER_ROLES, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, people

CHART_PERIODS = 24
SPARK_PERIODS = 12


def _owner(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return -1  # not anyone: refused by the operation with a clear message


def sparkline(row: ops.KpiRow, width: int = 120, height: int = 32) -> dict:
    """Polyline segments (a missing period breaks the line) and the last point, for an inline SVG."""
    results = [r for r in row.position.periods][-SPARK_PERIODS:]
    values = [r.value for r in results if r.value is not None]
    if not values:
        return {"segments": [], "last": None}
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(results) - 1, 1)
    segments, current, last = [], [], None
    for i, r in enumerate(results):
        if r.value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x, y = round(i * step, 1), round(height - 3 - (r.value - low) / span * (height - 6), 1)
        current.append(f"{x},{y}")
        last = (x, y)
    if current:
        segments.append(" ".join(current))
    return {"segments": segments, "last": last}


@bp.get("/kpis")
def kpis():
    rows = ops.kpi_rows()
    return render("workspace/kpis.html", client=g.client, rows=rows, people=people(), spark=sparkline,
                  can_manage=g.client_role in CLIENT_MANAGERS, labels=_labels(), standings=_standings(),
                  ordinal=wk.ordinal, implementation=ops.implementation_kpis(),
                  severity_labels=wf.FINDING_SEVERITY_LABELS)


def _standings() -> dict:
    """The client's percentile per library KPI among the consultancy's clients, for the consultancy's eyes only
    (it is drawn from other clients' figures)."""
    return ops.standings(g.client.account_id, g.client.id) if g.client_role in CONSULTANT_ROLES else {}


def _labels() -> dict:
    return {"status": wk.STATUS_LABELS, "trend": wk.TREND_LABELS, "frequency": wk.FREQUENCY_LABELS,
            "direction": wk.DIRECTION_LABELS, "area": wk.AREA_LABELS}


def _new_page(form=None, error: Refusal | None = None, status: int = 200):
    taken = set(db.session.scalars(select(Kpi.library_key)))
    return render("workspace/kpi_new.html", client=g.client, library=kpi_store.library_of(g.client.account_id),
                  taken=taken,
                  people=people(), form=form or {}, error=error, labels=_labels(),
                  frequencies=wk.FREQUENCIES, directions=wk.DIRECTIONS), status


@bp.get("/kpis/new")
@requires(*CLIENT_MANAGERS)
def new_kpi():
    return _new_page()


@bp.post("/kpis/library")
@requires(*CLIENT_MANAGERS)
def add_library_kpi():
    form = request.form
    try:
        kpi = ops.add_from_library(form.get("key", ""), _owner(form.get("owner_id")), set(people()), actor(),
                                   kpi_store.library_of(g.client.account_id))
    except Refusal as err:
        db.session.rollback()
        return _new_page(form, err, err.status)
    ops.save(g.client)
    flash(f"{kpi.name} added. Enter its first value below.", "success")
    return redirect(url_for("workspace.kpi", kpi_id=kpi.id), 303)


@bp.post("/kpis")
@requires(*CLIENT_MANAGERS)
def define_kpi():
    form = request.form
    fields = {k: form.get(k, "") for k in ("name", "numerator", "denominator", "unit", "direction", "frequency",
                                           "target", "amber", "red", "clauses")}
    try:
        kpi = ops.define_kpi(ops.KpiForm(**fields, owner_id=_owner(form.get("owner_id"))), set(people()), actor())
    except Refusal as err:
        db.session.rollback()
        return _new_page(form, err, err.status)
    ops.save(g.client)
    flash(f"{kpi.name} added.", "success")
    return redirect(url_for("workspace.kpi", kpi_id=kpi.id), 303)


# --- one KPI ------------------------------------------------------------------------------------

def _chart(kpi: Kpi, position: wk.KpiPosition) -> dict:
    results = position.periods[-CHART_PERIODS:]
    settings = [r.setting for r in results]
    return {
        "labels": [r.period.label for r in results],
        "values": [r.value for r in results],
        "target": [s.target if s else None for s in settings],
        "amber": [s.thresholds.amber if s else None for s in settings],
        "red": [s.thresholds.red if s else None for s in settings],
        "direction": kpi.direction,
        "unit": kpi.unit,
        "minimum": kpi.minimum,
        "maximum": kpi.maximum,
    }


def _detail(kpi: Kpi, status: int = 200, error: Refusal | None = None, form=None, preview=None):
    measured = ops.measurements_of([kpi.id])[kpi.id]
    position = ops.position(kpi, measured)
    current = position.periods[-1].period
    return render("workspace/kpi.html", client=g.client, kpi=kpi, position=position, measured=measured,
                  chart=_chart(kpi, position),
                  history=sorted(ops.settings_of(kpi), key=lambda s: s.sequence, reverse=True),
                  in_force=wk.target_for(ops.settings_of(kpi), current), people=people(), labels=_labels(),
                  can_write=g.client_role in WRITER_ROLES, can_manage=g.client_role in CLIENT_MANAGERS,
                  error=error, form=form or {}, preview=preview, today=clock.today(), standings=_standings(),
                  ordinal=wk.ordinal), status


def _kpi_or_404(kpi_id: int) -> Kpi:
    return db.get_or_404(Kpi, kpi_id)


@bp.get("/kpis/<int:kpi_id>")
def kpi(kpi_id):
    return _detail(_kpi_or_404(kpi_id))


@bp.post("/kpis/<int:kpi_id>/measurements")
@requires(*WRITER_ROLES)
def enter_measurement(kpi_id):
    kpi, form = _kpi_or_404(kpi_id), request.form
    try:
        m, old = ops.record_measurement(kpi, form.get("period"), form.get("value"), form.get("note"), actor())
    except Refusal as err:
        db.session.rollback()
        return _detail(_kpi_or_404(kpi_id), err.status, err, {**form, "form": "measurement"})
    label, value = wk.parse_period(m.period).label, m.value
    ops.save(g.client)
    flash(f"{label}: {value:g} {kpi.unit} recorded" + (f" (was {old:g})." if old is not None else "."), "success")
    return redirect(url_for("workspace.kpi", kpi_id=kpi_id), 303)


@bp.post("/kpis/<int:kpi_id>/targets")
@requires(*CLIENT_MANAGERS)
def change_target(kpi_id):
    kpi, form = _kpi_or_404(kpi_id), request.form
    try:
        row = ops.change_target(kpi, form.get("effective_from"), form.get("target", ""), form.get("amber", ""),
                                form.get("red", ""), form.get("reason"), actor())
    except Refusal as err:
        db.session.rollback()
        return _detail(_kpi_or_404(kpi_id), err.status, err, {**form, "form": "target"})
    message = f"New target {row.target:g} {kpi.unit} from {wk.parse_period(row.effective_from).label}."
    ops.save(g.client)
    flash(message, "success")
    return redirect(url_for("workspace.kpi", kpi_id=kpi_id), 303)


@bp.post("/kpis/<int:kpi_id>/import")
@requires(*WRITER_ROLES)
def import_measurements(kpi_id):
    """With a file: the preview (nothing stored). With the previewed content: the import."""
    kpi, form = _kpi_or_404(kpi_id), request.form
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read()
        preview = {"result": ops.parse_import(kpi, data), "content": base64.b64encode(data).decode(),
                   "filename": upload.filename}
        return _detail(kpi, 200, None, {"form": "import"}, preview)
    try:
        data = base64.b64decode(form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    try:
        count = ops.import_measurements(kpi, data, form.get("valid_rows_only") == "1", actor())
    except Refusal as err:
        db.session.rollback()
        kpi = _kpi_or_404(kpi_id)
        if not data:
            return _detail(kpi, 422, Refusal("Choose a CSV file to import.", 422, field="file"), {"form": "import"})
        preview = {"result": ops.parse_import(kpi, data), "content": form.get("content", ""),
                   "filename": form.get("filename", "")}
        return _detail(kpi, err.status, err, {"form": "import"}, preview)
    ops.save(g.client)
    flash(f"{count} value(s) imported.", "success")
    return redirect(url_for("workspace.kpi", kpi_id=kpi_id), 303)
