"""The client's latest value of each library KPI in the shared schema (`client_kpi_latest`), written with
the summary row: the cross-client views and percentiles read it, and no page fans out over tenant schemas.

Only KPIs taken from the library have a key that means the same at every client; a client's own KPIs stay
in its schema.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, func, literal, select, type_coerce
from sqlalchemy.types import NullType
from sqlalchemy.orm import aliased
from sqlalchemy.dialects.postgresql import insert

from workflows import kpi as wk

from ... import clock
from ...extensions import db
from ...models import Client, ClientConsultant, ClientKpiLatest
from .kpis import KpiRow

RECENT_PERIODS = 12  # the small multiples' window


def latest_rows(client: Client, rows: list[KpiRow]) -> list[dict]:
    found = []
    for row in rows:
        if not row.kpi.library_key:
            continue
        recent = row.position.periods[-RECENT_PERIODS:]
        latest = row.position.latest_value
        found.append({
            "client_id": client.id, "library_key": row.kpi.library_key, "name": row.kpi.name, "unit": row.kpi.unit,
            "direction": row.kpi.direction, "period": latest.period.key if latest else None,
            "value": latest.value if latest else None, "status": row.position.status,
            "recent_periods": [r.period.key for r in recent], "recent_values": [r.value for r in recent],
        })
    return found


def write_latest(client: Client, rows: list[KpiRow]) -> None:
    """Bring the client's rows up to date: changed ones rewritten, unchanged ones left alone (most saves
    change no KPI), rows of KPIs the client no longer has removed."""
    wanted = latest_rows(client, rows)
    table = ClientKpiLatest.__table__
    compared = ("name", "unit", "direction", "period", "value", "status", "recent_periods", "recent_values")
    if wanted:
        stmt = insert(table).values([{**w, "updated_at": clock.now()} for w in wanted])
        changed = None
        for col in compared:
            differs = table.c[col].is_distinct_from(stmt.excluded[col])
            changed = differs if changed is None else changed | differs
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.client_id, table.c.library_key],
            set_={col: stmt.excluded[col] for col in (*compared, "updated_at")}, where=changed))
    keys = [w["library_key"] for w in wanted]
    gone = delete(table).where(table.c.client_id == client.id)
    if keys:
        gone = gone.where(table.c.library_key.not_in(keys))
    db.session.execute(gone)


# --- reading across clients (shared schema only) --------------------------------------------------

@dataclass(frozen=True)
class Standing:
    percentile: int | None
    among: int  # clients of the consultancy with a value of this KPI, this one included


def standings(account_id: int, client_id: int) -> dict[str, Standing]:
    """This client's percentile on each of its library KPIs among the consultancy's active clients: one
    aggregate query counting, per KPI, the other clients' values under, equal to and over this one's."""
    mine = aliased(ClientKpiLatest)
    other = (select(ClientKpiLatest.client_id, ClientKpiLatest.library_key, ClientKpiLatest.value)
             .join(Client, Client.id == ClientKpiLatest.client_id)
             .where(Client.account_id == account_id, Client.status == "active", ClientKpiLatest.value.is_not(None),
                    ClientKpiLatest.client_id != client_id).subquery())
    rows = db.session.execute(
        select(mine.library_key, mine.direction,
               func.count().filter(other.c.value < mine.value), func.count().filter(other.c.value == mine.value),
               func.count().filter(other.c.value > mine.value))
        .outerjoin(other, other.c.library_key == mine.library_key)
        .where(mine.client_id == client_id, mine.value.is_not(None))
        .group_by(mine.library_key, mine.direction))
    return {key: Standing(wk.from_counts(below, ties, above, direction), below + ties + above + 1)
            for key, direction, below, ties, above in rows}


def board(account_id: int, key: str, assigned_to: int | None = None) -> list:
    """Every active client of the consultancy that tracks `key`: (id, slug, name, period, value, status,
    recent_periods, recent_values, shown), where
    shown says whether the client is assigned to `assigned_to` (always, without one). One query: the
    percentiles need every client, the page only the shown ones."""
    shown = (exists().where(ClientConsultant.client_id == Client.id, ClientConsultant.user_id == assigned_to)
             if assigned_to is not None else literal(True))
    k = ClientKpiLatest
    # The arrays as the driver returns them (lists already): SQLAlchemy's ARRAY type would walk every element
    # of thousands of rows again in Python.
    recent = [type_coerce(col, NullType()).label(col.key) for col in (k.recent_periods, k.recent_values)]
    return db.session.execute(  # plain rows, not ORM objects: thousands of them
        select(Client.id, Client.slug, Client.name, k.period, k.value, k.status, *recent, shown.label("shown"))
        .join(ClientKpiLatest, ClientKpiLatest.client_id == Client.id)
        .where(Client.account_id == account_id, Client.status == "active", ClientKpiLatest.library_key == key)
    ).all()


def tracked(account_id: int) -> dict[str, tuple[int, int]]:
    """Per library key: how many of the consultancy's active clients track it, and how many have it red."""
    rows = db.session.execute(
        select(ClientKpiLatest.library_key, func.count(),
               func.count().filter(ClientKpiLatest.status.in_(wk.RED_STATUSES)))
        .join(Client, Client.id == ClientKpiLatest.client_id)
        .where(Client.account_id == account_id, Client.status == "active")
        .group_by(ClientKpiLatest.library_key))
    return {key: (n, red) for key, n, red in rows}


__all__ = ["RECENT_PERIODS", "Standing", "board", "latest_rows", "standings", "tracked", "write_latest"]
