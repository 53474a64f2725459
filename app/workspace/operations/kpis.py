"""A client's KPIs: taking one from the library or defining one, entering and
importing measurements, changing targets, and what the measurements say.

The rules (periods, status, trend, target history, CSV parsing) are
`workflows.kpi`'s; this module stores and reads them. Corrections of a past
period keep the old value in the activity log; targets are only ever added.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

import workflows as wf
from workflows import kpi as wk

from ... import clock
from ...extensions import db
from ...models import Kpi, KpiTarget, Measurement
from ...refusal import Refusal
from .common import Actor, check_length, log
from .state import template

GRACE_DAYS = wk.DEFAULT_GRACE_DAYS


def library() -> wk.KpiLibrary:
    """The standard library (a consultancy's own is `app.library.kpi_store.library_of`)."""
    return wk.load_kpi_library()


# --- reading ----------------------------------------------------------------------------------

def settings_of(kpi: Kpi) -> list[wk.TargetSetting]:
    return [wk.TargetSetting(wk.parse_period(t.effective_from), wk.Thresholds(kpi.direction, t.target, t.amber, t.red),
                             t.reason, t.id) for t in kpi.targets]


_MEASUREMENT_COLUMNS = [Measurement.__table__.c[name] for name in
                        ("id", "kpi_id", "period", "value", "note", "entered_by_id", "entered_by_name", "entered_at")]


def measurements_of(kpi_ids: list[int]) -> dict[int, dict[wk.Period, Measurement]]:
    """Every measurement of these KPIs, by KPI and period, in one query — as read-only rows with the
    measurement's fields (pages read them; changes go through `record_measurement`)."""
    found: dict[int, dict[wk.Period, Measurement]] = {i: {} for i in kpi_ids}
    if kpi_ids:
        for m in db.session.execute(select(*_MEASUREMENT_COLUMNS).where(Measurement.kpi_id.in_(kpi_ids))):
            found[m.kpi_id][wk.parse_period(m.period)] = m
    return found


def position(kpi: Kpi, measured: dict[wk.Period, Measurement]) -> wk.KpiPosition:
    return wk.kpi_position(kpi.frequency, kpi.direction, {p: m.value for p, m in measured.items()}, settings_of(kpi),
                           clock.today(), first_period=wk.parse_period(kpi.first_period), grace_days=GRACE_DAYS)


@dataclass(frozen=True)
class KpiRow:
    kpi: Kpi
    position: wk.KpiPosition
    measured: dict

    @property
    def target(self) -> wk.TargetSetting | None:
        return wk.target_for(settings_of(self.kpi), self.position.periods[-1].period)


def kpi_rows() -> list[KpiRow]:
    kpis = db.session.scalars(select(Kpi).order_by(Kpi.name)).all()
    measured = measurements_of([k.id for k in kpis])
    return [KpiRow(k, position(k, measured[k.id]), measured[k.id]) for k in kpis]


def red_kpi_count() -> int:
    """KPIs whose latest due period is off track or missing (the portfolio's red KPIs)."""
    return sum(1 for row in kpi_rows() if row.position.is_red)


# --- parsing what was typed ----------------------------------------------------------------------

def _number(text: str | None, field: str, what: str) -> float:
    try:
        return wk.parse_number(text or "")
    except wk.KpiError as err:
        raise Refusal(f"{what}: {err}", 422, field=field) from err


def _thresholds(kpi_like, target: str, amber: str, red: str) -> wk.Thresholds:
    values = [_number(target, "target", "Target"), _number(amber, "amber", "Amber threshold"),
              _number(red, "red", "Red threshold")]
    try:
        return wk.check_thresholds(kpi_like.direction, *values, minimum=kpi_like.minimum, maximum=kpi_like.maximum,
                                   never_zero_target=kpi_like.never_zero_target)
    except wk.KpiError as err:
        raise Refusal(str(err), 422, field="target") from err


def _period(kpi: Kpi, text: str | None, field: str = "period") -> wk.Period:
    try:
        return wk.parse_period_cell(text or "", kpi.frequency)
    except wk.KpiError as err:
        raise Refusal(str(err)[0].upper() + str(err)[1:], 422, field=field) from err


def _add_target(kpi: Kpi, thresholds: wk.Thresholds, effective_from: wk.Period, reason: str, actor: Actor) -> KpiTarget:
    row = KpiTarget(kpi_id=kpi.id, effective_from=effective_from.key, target=thresholds.target, amber=thresholds.amber,
                    red=thresholds.red, reason=reason, set_by_id=actor.id, set_by_name=actor.name, set_at=clock.now())
    db.session.add(row)
    kpi.targets.append(row)
    return row


# --- creating KPIs ----------------------------------------------------------------------------

def _check_owner(owner_id: int | None, allowed: set[int]) -> int | None:
    if owner_id is not None and owner_id not in allowed:
        raise Refusal("Choose the KPI's owner from the people who work on this client.", 422, field="owner_id")
    return owner_id


def add_from_library(key: str, owner_id: int | None, allowed_owners: set[int], actor: Actor,
                     source: wk.KpiLibrary | None = None) -> Kpi:
    """A copy of a definition of `source` (the client's consultancy's library, as the view reads it; the
    standard library when None): later edits of the library leave this KPI as it is."""
    try:
        d = (source or library()).get(key)
    except wk.KpiError as err:
        raise Refusal(str(err), 422, field="key") from err
    if db.session.scalar(select(Kpi.id).where((Kpi.library_key == key) | (Kpi.name == d.name))):
        raise Refusal(f"{d.name} is already one of this client's KPIs.", 409, field="key")
    kpi = Kpi(library_key=d.key, name=d.name, numerator=d.numerator, denominator=d.denominator, unit=d.unit,
              direction=d.direction, frequency=d.frequency, clauses=list(d.clauses), minimum=d.minimum,
              maximum=d.maximum, never_zero_target=d.never_zero_target, owner_id=_check_owner(owner_id, allowed_owners),
              first_period=wk.period_containing(clock.today(), d.frequency).key)
    return _created(kpi, d.thresholds, "", actor)


@dataclass(frozen=True)
class KpiForm:
    name: str = ""
    numerator: str = ""
    denominator: str = ""
    unit: str = ""
    direction: str = "higher"
    frequency: str = "monthly"
    target: str = ""
    amber: str = ""
    red: str = ""
    clauses: str = ""
    owner_id: int | None = None

    minimum = maximum = None
    never_zero_target = False


def define_kpi(form: KpiForm, allowed_owners: set[int], actor: Actor) -> Kpi:
    name = check_length(form.name.strip(), Kpi.name, "name", "The KPI's name")
    if not name:
        raise Refusal("Give the KPI a name, e.g. “Invoices sent within 5 days”.", 422, field="name")
    if not form.numerator.strip():
        raise Refusal("Say what is counted or measured (the numerator).", 422, field="numerator")
    unit = check_length(form.unit.strip(), Kpi.unit, "unit", "The unit")
    if not unit:
        raise Refusal("Give the unit, e.g. %, days, count.", 422, field="unit")
    for check, value, field in ((wk.check_direction, form.direction, "direction"),
                                (wk.check_frequency, form.frequency, "frequency")):
        try:
            check(value)
        except wk.KpiError as err:
            raise Refusal(str(err), 422, field=field) from err
    thresholds = _thresholds(form, form.target, form.amber, form.red)
    try:
        clauses = wf.parse_clause_refs(form.clauses, template()) if form.clauses.strip() else ()
    except wf.TemplateError as err:
        raise Refusal(str(err), 422, field="clauses") from err
    if db.session.scalar(select(Kpi.id).where(Kpi.name == name)):
        raise Refusal(f"This client already has a KPI called {name}.", 409, field="name")
    kpi = Kpi(name=name, numerator=form.numerator.strip(), denominator=form.denominator.strip(), unit=unit,
              direction=form.direction, frequency=form.frequency, clauses=list(clauses),
              owner_id=_check_owner(form.owner_id, allowed_owners),
              first_period=wk.period_containing(clock.today(), form.frequency).key)
    return _created(kpi, thresholds, "", actor)


def _created(kpi: Kpi, thresholds: wk.Thresholds, reason: str, actor: Actor) -> Kpi:
    db.session.add(kpi)
    db.session.flush()
    _add_target(kpi, thresholds, wk.parse_period(kpi.first_period), reason, actor)
    log(actor, "kpi.added", "kpi", kpi.id, f"KPI added: {kpi.name}", None,
        {"library": kpi.library_key, "frequency": kpi.frequency, "target": thresholds.target,
         "amber": thresholds.amber, "red": thresholds.red})
    return kpi


# --- measurements and targets -----------------------------------------------------------------

def _locked(kpi: Kpi) -> Kpi:
    # One writer per KPI at a time: two entries for one period never race to the unique constraint.
    return db.session.scalars(select(Kpi).where(Kpi.id == kpi.id).with_for_update()).one()


def out_of_range(kpi: Kpi, value: float) -> str | None:
    """Why `value` cannot be a value of this KPI (a percentage over 100 …), or None."""
    if (kpi.minimum is None or value >= kpi.minimum) and (kpi.maximum is None or value <= kpi.maximum):
        return None
    low = "…" if kpi.minimum is None else f"{kpi.minimum:g}"
    high = "…" if kpi.maximum is None else f"{kpi.maximum:g}"
    return f"{value:g} {kpi.unit} is not possible for this KPI (from {low} to {high})"


def record_measurement(kpi: Kpi, period_text: str | None, value_text: str | None, note: str | None,
                       actor: Actor) -> tuple[Measurement, float | None]:
    """The stored measurement and the value it replaced (None for a new period)."""
    period = _period(kpi, period_text)
    if period.is_future(clock.today()):
        raise Refusal(f"{period.label} has not begun yet: values can be entered once their period has started.",
                      422, field="period")
    value = _number(value_text, "value", "Value")
    impossible = out_of_range(kpi, value)
    if impossible:
        raise Refusal(impossible, 422, field="value")
    note = check_length((note or "").strip(), Measurement.note, "note", "The note")
    return _store(_locked(kpi), period, value, note, actor)


def _store(kpi: Kpi, period: wk.Period, value: float, note: str, actor: Actor,
           known: dict[str, Measurement] | None = None) -> tuple[Measurement, float | None]:
    """`known`: the KPI's measurements by period, read once under its lock by a caller storing many (an
    import): the rows are then written together at the next flush instead of one statement each."""
    if known is None:
        existing = db.session.scalar(select(Measurement).where(Measurement.kpi_id == kpi.id,
                                                               Measurement.period == period.key))
    else:
        existing = known.get(period.key)
    if existing is None:
        m = Measurement(kpi_id=kpi.id, period=period.key, value=value, note=note, entered_by_id=actor.id,
                        entered_by_name=actor.name, entered_at=clock.now())
        db.session.add(m)
        if known is None:
            db.session.flush()
        else:
            known[period.key] = m
        log(actor, "kpi.measured", "kpi", kpi.id, f"{kpi.name}, {period.label}: {value:g} {kpi.unit}", None,
            {"period": period.key, "value": value, "note": note})
        return m, None
    before = {"period": period.key, "value": existing.value, "note": existing.note,
              "entered_by": existing.entered_by_name}
    old = existing.value
    existing.value, existing.note = value, note
    existing.entered_by_id, existing.entered_by_name, existing.entered_at = actor.id, actor.name, clock.now()
    log(actor, "kpi.corrected", "kpi", kpi.id, f"{kpi.name}, {period.label} corrected: {old:g} → {value:g} {kpi.unit}",
        before, {"period": period.key, "value": value, "note": note, "entered_by": actor.name})
    return existing, old


def change_target(kpi: Kpi, effective_text: str | None, target: str, amber: str, red: str, reason: str | None,
                  actor: Actor) -> KpiTarget:
    """A new target setting from a period on; the earlier ones stay and keep applying before it."""
    kpi = _locked(kpi)
    effective_from = _period(kpi, effective_text, "effective_from")
    thresholds = _thresholds(kpi, target, amber, red)
    try:
        reason = wk.check_target_change(settings_of(kpi), effective_from, reason or "", frequency=kpi.frequency)
    except wk.KpiError as err:
        raise Refusal(str(err), 422, field="reason") from err
    before = wk.target_for(settings_of(kpi), effective_from)
    row = _add_target(kpi, thresholds, effective_from, reason, actor)
    log(actor, "kpi.target_changed", "kpi", kpi.id,
        f"{kpi.name}: target {thresholds.target:g} {kpi.unit} from {effective_from.label} — {reason}",
        {"target": before.target, "amber": before.thresholds.amber, "red": before.thresholds.red} if before else None,
        {"effective_from": effective_from.key, "target": thresholds.target, "amber": thresholds.amber,
         "red": thresholds.red, "reason": reason})
    return row


# --- CSV import -----------------------------------------------------------------------------------

def parse_import(kpi: Kpi, data: bytes | str) -> wk.ImportResult:
    """The file's rows as the rules read them, with values this KPI cannot have turned into row errors."""
    result = wk.parse_measurements_csv(data, kpi.frequency, clock.today())
    rows, errors = [], list(result.errors)
    for row in result.rows:
        impossible = out_of_range(kpi, row.value)
        if impossible:
            errors.append(wk.RowError(row.row, impossible))
        elif len(row.note) > Measurement.note.type.length:
            errors.append(wk.RowError(row.row, "the note is too long"))
        else:
            rows.append(row)
    errors.sort(key=lambda e: e.row or 0)
    return wk.ImportResult(tuple(rows), tuple(errors), result.separator)


def import_measurements(kpi: Kpi, data: bytes | str, valid_rows_only: bool, actor: Actor) -> int:
    """Store the file's rows (parsed again: the preview is not trusted); with errors, only when the user
    chose to import the valid rows."""
    result = parse_import(kpi, data)
    if not result.rows:
        raise Refusal("Nothing to import: the file has no valid rows.", 422, field="file")
    if result.errors and not valid_rows_only:
        raise Refusal(f"The file has {len(result.errors)} row(s) with errors: fix them, or choose to import "
                      f"only the {len(result.rows)} valid row(s).", 422, field="valid_rows_only")
    kpi = _locked(kpi)
    known = {m.period: m for m in db.session.scalars(select(Measurement).where(Measurement.kpi_id == kpi.id))}
    for row in result.rows:
        _store(kpi, row.period, row.value, row.note, actor, known)
    log(actor, "kpi.imported", "kpi", kpi.id, f"{kpi.name}: {len(result.rows)} value(s) imported from a CSV file",
        None, {"rows": len(result.rows), "skipped": len(result.errors)})
    return len(result.rows)
