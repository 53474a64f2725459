"""The client's latest value of each library KPI in the shared schema (`client_kpi_latest`), written with
the summary row: the cross-client views and percentiles read it, and no page fans out over tenant schemas.

Only KPIs taken from the library have a key that means the same at every client; a client's own KPIs stay
in its schema.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import aliased
from sqlalchemy.dialects.postgresql import insert

from workflows import kpi as wk

from ... import clock
from ...extensions import db
from ...models import Client, ClientKpiLatest
from .kpis import KpiRow

RECENT_PERIODS = 12  # the small multiples' window


def latest_rows(client: Client, rows: list[KpiRow]) -> list[dict]:
    found = []
    for row in rows:
        if not row.kpi.library_key:
            continue
        recent = row.position.periods[-RECENT_PERIODS:]
        latest = row.position.latest_value
        values = [r.value for r in recent if r.value is not None]
        found.append({
            "client_id": client.id, "library_key": row.kpi.library_key, "name": row.kpi.name, "unit": row.kpi.unit,
            "direction": row.kpi.direction, "period": latest.period.key if latest else None,
            "value": latest.value if latest else None, "status": row.position.status,
            "recent_periods": [r.period.key for r in recent], "recent_values": [r.value for r in recent],
            "recent_low": min(values) if values else None, "recent_high": max(values) if values else None,
        })
    return found


def write_latest(client: Client, rows: list[KpiRow]) -> None:
    """Bring the client's rows up to date: changed ones rewritten, unchanged ones left alone (most saves
    change no KPI), rows of KPIs the client no longer has removed."""
    wanted = latest_rows(client, rows)
    table = ClientKpiLatest.__table__
    compared = ("name", "unit", "direction", "period", "value", "status", "recent_periods", "recent_values",
                "recent_low", "recent_high")
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


@dataclass(frozen=True)
class BoardPage:
    """One page of a KPI's small multiples, worst first, with what the whole board needs."""
    rows: list  # (id, slug, name, period, value, status, recent_periods, recent_values, below, ties, above)
    total: int  # clients shown (assigned to the person, or all)
    among: int  # clients of the consultancy with a value: what the percentiles are among
    newest: str | None  # the newest latest period among the shown: a client whose latest is older is late
    periods: list[str]  # the shared x axis: the last `window` periods any shown client has
    low: float | None  # the values' range on those periods (the shared y axis), None without values
    high: float | None


_SCOPED = """
    WITH scoped AS (
        SELECT c.id, c.slug, c.name, k.period, k.value, k.status, k.recent_periods, k.recent_values,
               k.recent_low, k.recent_high,
               (CAST(:everyone AS boolean) OR EXISTS (SELECT 1 FROM client_consultants cc
                                                    WHERE cc.client_id = c.id AND cc.user_id = :user_id)) AS shown
        FROM clients c JOIN client_kpi_latest k ON k.client_id = c.id
        WHERE c.account_id = :account_id AND c.status = 'active' AND k.library_key = :key)"""

_WORST_FIRST = ("value IS NULL, CASE WHEN :higher THEN value END, CASE WHEN NOT :higher THEN value END DESC, "
                "lower(name), id")

# One statement. Every client's standing is counted over the whole consultancy (the windows), then the shown
# ones are ordered worst first — by value, the KPI's direction taken into account, which is the percentiles'
# order — and one page of them kept; NULLs (no value yet) sort last and have no standing. Beside each row, the
# shared axes: x, the last `window` distinct periods of the shown clients (read from their distinct arrays, a
# handful, not from every element); y, their values from the first of those periods on (period keys of one
# KPI sort as text, so "from the first on" is "in the window") — the range kept with each row where all of its
# recent periods are in the window, its array unnested only where some are older. `scoped` is read three
# times, so PostgreSQL joins the clients to their rows once.
_BOARD = text(_SCOPED + f""",
    ranked AS (
        SELECT *, count(value) OVER () AS among,
               CASE WHEN value IS NOT NULL THEN rank() OVER (ORDER BY value) - 1 END AS below,
               CASE WHEN value IS NOT NULL THEN count(*) OVER (PARTITION BY value) - 1 END AS ties
        FROM scoped),
    page AS (
        SELECT id, slug, name, period, value, status, recent_periods, recent_values, below, ties,
               among - below - ties - 1 AS above, among, count(*) OVER () AS total, max(period) OVER () AS newest,
               row_number() OVER (ORDER BY {_WORST_FIRST}) AS position
        FROM ranked WHERE shown ORDER BY {_WORST_FIRST} LIMIT :limit OFFSET :offset),
    axis AS (SELECT DISTINCT period FROM (SELECT DISTINCT recent_periods FROM scoped WHERE shown) AS arrays,
                                         unnest(arrays.recent_periods) AS period
             ORDER BY period DESC LIMIT :window),
    bounds AS (SELECT min(period) AS first, ARRAY(SELECT period FROM axis ORDER BY period) AS periods FROM axis),
    span AS (SELECT min(low) AS low, max(high) AS high FROM (
                 SELECT recent_low AS low, recent_high AS high FROM scoped, bounds
                 WHERE shown AND recent_periods[1] >= bounds.first
                 UNION ALL
                 SELECT p.value, p.value
                 FROM scoped, bounds, unnest(recent_periods, recent_values) AS p(period, value)
                 WHERE shown AND recent_periods[1] < bounds.first AND p.period >= bounds.first
                       AND p.value IS NOT NULL) AS ranges)
    SELECT page.*, bounds.periods AS axis, span.low, span.high FROM page, bounds, span ORDER BY page.position""")


def board(account_id: int, key: str, direction: str, assigned_to: int | None, page: int, per_page: int,
          window: int = RECENT_PERIODS) -> BoardPage:
    """One page of the consultancy's active clients that track `key` (those assigned to `assigned_to`, or all),
    worst first, in one statement whatever the number of clients: each row with its counts of the
    consultancy's values under, equal to and over its own (the percentile's inputs), and the shared axes.
    A page past the end is the last page."""
    params = {"account_id": account_id, "key": key, "everyone": assigned_to is None, "user_id": assigned_to or 0,
              "higher": direction == wk.HIGHER, "limit": per_page, "window": window}
    rows = db.session.execute(_BOARD, {**params, "offset": (page - 1) * per_page}).all()
    if not rows and page > 1:
        total = db.session.scalar(text(_SCOPED + " SELECT count(*) FROM scoped WHERE shown"), params)
        last = max(1, -(-total // per_page))
        rows = db.session.execute(_BOARD, {**params, "offset": (last - 1) * per_page}).all()
    if not rows:
        return BoardPage([], 0, 0, None, [], None, None)
    first = rows[0]
    return BoardPage(rows, first.total, first.among, first.newest, list(first.axis), first.low, first.high)


def tracked(account_id: int) -> dict[str, tuple[int, int]]:
    """Per library key: how many of the consultancy's active clients track it, and how many have it red."""
    rows = db.session.execute(
        select(ClientKpiLatest.library_key, func.count(),
               func.count().filter(ClientKpiLatest.status.in_(wk.RED_STATUSES)))
        .join(Client, Client.id == ClientKpiLatest.client_id)
        .where(Client.account_id == account_id, Client.status == "active")
        .group_by(ClientKpiLatest.library_key))
    return {key: (n, red) for key, n, red in rows}


__all__ = ["RECENT_PERIODS", "BoardPage", "Standing", "board", "latest_rows", "standings", "tracked", "write_latest"]
