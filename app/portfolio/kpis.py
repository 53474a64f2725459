"""KPIs across the consultancy's clients: the library with how many clients track each KPI (`/kpis`), and one
KPI over every client as small multiples on one shared scale, with each client's percentile (`/kpis/<key>`).

Both read the shared `client_kpi_latest` summary in one query; no page opens a tenant schema. Percentiles are
among all the consultancy's active clients that have a value (the same figure the client's own KPI page shows);
a consultant sees the clients assigned to them, an owner every client or one consultant's (`?consultant=`).
"""
from __future__ import annotations

from flask import abort, g, request
from flask_login import current_user

from workflows import kpi as wk

from ..inputs import parse_id
from ..library import kpi_store
from ..permissions import ACCOUNT_MEMBERS, account_required
from ..templating import render
from ..workspace import operations as ops
from . import bp
from . import listing as ls

WIDTH, HEIGHT, PAD = 200, 64, 6
RECENT = 12  # periods on the shared x axis (client_kpi_latest keeps as many)
PER_PAGE = 60  # charts per page: percentiles and the scale still cover every client


def _assigned_to() -> int | None:
    """Whose clients this user's cross-client view shows (None: every client of the account)."""
    wanted = parse_id(request.args.get("consultant"))
    if g.account_role == "owner":
        if wanted is None:
            return None
        if not ls.is_member(g.account.id, wanted):
            abort(404)
    elif wanted is not None and wanted != current_user.id:
        abort(404)
    else:
        wanted = current_user.id
    return wanted


@bp.get("/kpis")
@account_required(*ACCOUNT_MEMBERS)
def kpi_index():
    library = kpi_store.library_of(g.account.id)  # names and units as the consultancy edited them
    counts = ops.tracked(g.account.id)
    return render("portfolio/kpis.html", library=library, counts=counts, labels=wk.AREA_LABELS,
                  frequency=wk.FREQUENCY_LABELS)


def scale(values: list[float], kpi: wk.KpiDefinition | None) -> tuple[float, float]:
    """One scale for every client: the values' range, widened to the KPI's bounds when it has them
    and the values come near (a percentage from 0 to 100)."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if kpi is not None and kpi.minimum is not None and low - kpi.minimum <= (high - low):
        low = kpi.minimum
    if kpi is not None and kpi.maximum is not None and kpi.maximum - high <= (high - low):
        high = kpi.maximum
    if high == low:
        low, high = low - 1, high + 1
    return low, high


def multiple(periods: list[str], row, low: float, high: float) -> dict:
    """SVG geometry of one client's recent values on the shared x (periods) and y (low..high) axes."""
    by_period = dict(zip(row.recent_periods, row.recent_values))
    step = (WIDTH - 2 * PAD) / max(len(periods) - 1, 1)
    span = high - low
    segments, current, last = [], [], None
    for i, period in enumerate(periods):
        value = by_period.get(period)
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = round(PAD + i * step, 1)
        y = round(HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD), 1)
        current.append(f"{x},{y}")
        last = (x, y)
    if current:
        segments.append(" ".join(current))
    return {"segments": segments, "last": last}


@bp.get("/kpis/<key>")
@account_required(*ACCOUNT_MEMBERS)
def kpi_across(key):
    definition = kpi_store.definitions_by_key(g.account.id).get(key)  # archived ones too: clients still track them
    if definition is None:
        abort(404)
    page = parse_id(request.args.get("page"), hi=10**6) or 1
    board = ops.board(g.account.id, key, definition.direction, _assigned_to(), page, PER_PAGE, RECENT)
    pages = max(1, -(-board.total // PER_PAGE))
    page = min(page, pages)
    low, high = scale([v for v in (board.low, board.high) if v is not None], definition)
    cards = []
    for r in board.rows:
        percentile = wk.from_counts(r.below, r.ties, r.above, definition.direction) if r.value is not None else None
        cards.append({"id": r.id, "slug": r.slug, "name": r.name, "latest": r, "percentile": percentile,
                      "chart": multiple(board.periods, r, low, high)})
    return render("portfolio/kpi_across.html", kpi=definition, cards=cards, newest=board.newest, total=board.total,
                  page=page, pages=pages, first=(page - 1) * PER_PAGE + 1, among=board.among, low=low, high=high,
                  periods=board.periods, width=WIDTH, height=HEIGHT, status_labels=wk.STATUS_LABELS,
                  ordinal=wk.ordinal, period_label=lambda key: wk.parse_period(key).label,
                  consultants=ls.consultants_of(g.account.id) if g.account_role == "owner" else [],
                  consultant=parse_id(request.args.get("consultant")))
