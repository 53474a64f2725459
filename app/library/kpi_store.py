"""A consultancy's KPI library: reading it (one query) and storing its edits.

The copy is made lazily, on the consultancy's first edit (changing, adding or archiving a definition), not
when the consultancy is created:
- consultancies that existed before the library could be edited need no data migration: without rows, the
  consultancy reads the standard library, exactly as before;
- until it edits anything, a consultancy keeps receiving the fixes shipped in the standard library;
- a consultancy that never edits carries no 23 rows of its own.
From the first edit on, the copy is whole (every standard definition is stored), so later standard releases
never change a library a consultancy has made its own. The rules are `workflows.kpi`'s; this module only
reads and writes `account_kpis` rows.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

import workflows as wf
from workflows import kpi as wk

from .. import clock
from ..extensions import db
from ..models import Account, AccountKpi
from ..refusal import Refusal

# The fields a definition and a row share (everything but the key and the bookkeeping).
_FIELDS = ("name", "area", "numerator", "denominator", "unit", "direction", "frequency", "target", "amber", "red",
           "minimum", "maximum", "never_zero_target", "note")


# Words the /library/kpis/ URLs use for themselves: a definition may not take them as its key.
RESERVED_KEYS = {"new"}


@dataclass(frozen=True)
class Entry:
    """One definition of a consultancy's library, with where it came from."""

    definition: wk.KpiDefinition
    based_on: str | None  # the standard definition it is a copy of; None: the consultancy's own
    archived: bool = False
    changes: tuple[wk.Difference, ...] = ()  # from the standard definition it copies
    updated_by: str | None = None
    updated_at: object = None

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def own(self) -> bool:
        return self.based_on is None


def standard() -> wk.KpiLibrary:
    return wk.load_kpi_library()


def clause_numbers() -> list[str]:
    """The clauses a definition may cite: those of the template the standard library names."""
    return [c.number for c in wf.load_template(standard().template).clauses]


def _definition(row: AccountKpi) -> wk.KpiDefinition:
    return wk.KpiDefinition(key=row.key, clauses=tuple(row.clauses), **{f: getattr(row, f) for f in _FIELDS})


def _entry(row: AccountKpi, shipped: wk.KpiLibrary) -> Entry:
    definition = _definition(row)
    changes: tuple = ()
    if row.based_on_key in shipped.keys():
        changes = tuple(wk.differences(shipped.get(row.based_on_key), definition))
    return Entry(definition, row.based_on_key, row.archived_at is not None, changes,
                 row.updated_by.name if row.updated_by else None, row.updated_at)


def _rows(account_id: int) -> list[AccountKpi]:
    return list(db.session.scalars(select(AccountKpi).where(AccountKpi.account_id == account_id)
                                   .options(joinedload(AccountKpi.updated_by))
                                   .order_by(AccountKpi.position, AccountKpi.id)))


def entries(account_id: int) -> list[Entry]:
    """Every definition of the consultancy's library, archived ones too, in the library's order."""
    shipped = standard()
    rows = _rows(account_id)
    if not rows:
        return [Entry(d, d.key) for d in shipped.definitions]
    return [_entry(row, shipped) for row in rows]


def entry(account_id: int, key: str) -> Entry | None:
    return next((e for e in entries(account_id) if e.key == key), None)


def library_of(account_id: int) -> wk.KpiLibrary:
    """What the consultancy's clients pick KPIs from (archived definitions left out): one query."""
    shipped = standard()
    rows = _rows(account_id)
    if not rows:
        return shipped
    return wk.KpiLibrary("own", 1, "Consultancy KPI library", shipped.template,
                         tuple(_definition(r) for r in rows if r.archived_at is None))


def definitions_by_key(account_id: int) -> dict[str, wk.KpiDefinition]:
    """Every definition a client KPI of this consultancy can have come from, archived ones too: the standard
    ones overlaid with the consultancy's (one query)."""
    found = {d.key: d for d in standard().definitions}
    found.update({row.key: _definition(row) for row in _rows(account_id)})
    return found


# --- writing (the caller commits) ---------------------------------------------------------------

def _own_rows(account_id: int, user) -> dict[str, AccountKpi]:
    """The consultancy's rows by key, copying the standard library first if this is its first edit. The
    account row is locked, so two first edits at the same moment make one copy."""
    db.session.scalar(select(Account.id).where(Account.id == account_id).with_for_update())
    rows = {row.key: row for row in _rows(account_id)}
    if rows:
        return rows
    for position, d in enumerate(standard().definitions, start=1):
        row = AccountKpi(account_id=account_id, key=d.key, position=position, based_on_key=d.key,
                         clauses=list(d.clauses), **{f: getattr(d, f) for f in _FIELDS})
        db.session.add(row)
        rows[d.key] = row
    db.session.flush()
    return rows


def _touch(row: AccountKpi, user) -> None:
    row.updated_at, row.updated_by_id = clock.now(), user.id if user is not None else None


def taken_names(account_id: int, except_key: str | None = None) -> list[str]:
    return [e.definition.name for e in entries(account_id) if e.key != except_key]


def update(account_id: int, definition: wk.KpiDefinition, user) -> bool:
    """Store an edited definition; False when nothing changed (nothing is copied then)."""
    current = entry(account_id, definition.key)
    if current is None:
        raise Refusal("Your library has no such KPI.", 404)
    if current.definition == definition:
        return False
    row = _own_rows(account_id, user)[definition.key]
    for name in _FIELDS:
        setattr(row, name, getattr(definition, name))
    row.clauses = list(definition.clauses)
    _touch(row, user)
    return True


def add(account_id: int, definition: wk.KpiDefinition, user) -> AccountKpi:
    """A definition of the consultancy's own, at the end of its library."""
    rows = _own_rows(account_id, user)
    if definition.key in rows or definition.key in standard().keys():
        raise Refusal("A KPI with this key is already in your library.", 409, field="name")
    row = AccountKpi(account_id=account_id, key=definition.key, based_on_key=None,
                     position=max((r.position for r in rows.values()), default=0) + 1,
                     clauses=list(definition.clauses), **{f: getattr(definition, f) for f in _FIELDS})
    _touch(row, user)
    db.session.add(row)
    db.session.flush()
    return row


def set_archived(account_id: int, key: str, archived: bool, user) -> AccountKpi:
    rows = _own_rows(account_id, user)
    row = rows.get(key)
    if row is None:
        raise Refusal("Your library has no such KPI.", 404)
    if (row.archived_at is not None) == archived:
        raise Refusal(f"{row.name} is already {'archived' if archived else 'in use'}.", 409)
    row.archived_at = clock.now() if archived else None
    _touch(row, user)
    return row


def new_key(account_id: int, name: str) -> str:
    return wk.new_key(name, {e.key for e in entries(account_id)} | set(standard().keys()) | RESERVED_KEYS)
