"""/my-work and the count beside it in the top bar: one query on the shared schema each, no client schema.

The rows are kept exact by `operations.save` (see app/workspace/operations/work_items.py); this side only
narrows them to the clients the person may open now, in the consultancy they are working in, so a row left
behind by a removed membership never shows.
"""
from __future__ import annotations

from itertools import groupby

from flask_login import current_user, login_required
from sqlalchemy import func, nulls_last, select

from workflows import due_dates

from .. import clock
from ..extensions import db
from ..models import WORK_KINDS, Client, WorkItem
from ..notify.links import item_href
from ..permissions import current_account, visible_clients_query
from ..templating import render
from . import bp

KIND_LABELS = {
    "gate_review": ("Gate reviews", "Stage gates your clients asked you to review, oldest request first."),
    "document_approval": ("Documents to approve", "Documents and records sent for review, longest waiting first."),
    # Tasks and every other source of due dates: their entries in workflows/due_dates.py.
    **{s.item_kind: (s.label, s.hint) for s in due_dates.SOURCES},
}


def _mine(account_id: int | None):
    """Conditions for the current person's rows at active clients they may open (of one consultancy)."""
    visible = visible_clients_query(current_user, account_id).with_only_columns(Client.id)
    return (WorkItem.user_id == current_user.id, Client.status == "active", WorkItem.client_id.in_(visible))


def _account_id() -> int | None:
    current = current_account()
    return current[0].id if current else None


@bp.get("/my-work")
@login_required
def index():
    q = (select(WorkItem, Client.slug, Client.name).join(Client, Client.id == WorkItem.client_id)
         .where(*_mine(_account_id()))
         .order_by(WorkItem.kind, nulls_last(WorkItem.due_on.asc()), nulls_last(WorkItem.waiting_since.asc()),
                   Client.name, WorkItem.title))
    items = [(item, slug, name, item_href(item, slug)) for item, slug, name in db.session.execute(q)]
    by_kind = {kind: list(rows) for kind, rows in groupby(items, key=lambda row: row[0].kind)}
    groups = [(kind, *KIND_LABELS[kind], by_kind[kind]) for kind in WORK_KINDS if kind in by_kind]
    return render("mywork/index.html", groups=groups, total=len(items), today=clock.today())


def count_query():
    """The number in the top bar's "My work (7)", as a scalar subquery (app/topbar.py reads it with the bell's)."""
    return (select(func.count()).select_from(WorkItem).join(Client, Client.id == WorkItem.client_id)
            .where(*_mine(_account_id())).scalar_subquery())
