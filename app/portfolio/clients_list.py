"""The portfolio page (`/`) and its CSV export (`/portfolio.csv`), both on the same filters from the URL."""
from __future__ import annotations

import csv
from dataclasses import replace
import io

from flask import Response, abort, redirect, request, url_for
from flask_login import current_user, login_required

from workflows.cycle import AUDIT_LABELS
from workflows.stages import STAGE_KEYS, stage_label

from .. import clock
from ..permissions import current_account
from ..templating import render
from ..text import safe_cell
from . import bp
from . import listing as ls


def _scope_and_listing():
    """(scope, listing, account, role, consultants) for the current user and URL; 404 for a portfolio
    they may not open."""
    listing = ls.Listing.from_args(request.args)
    current = current_account()
    if current is None:  # client staff: their own companies
        return ls.Scope(None, member_id=current_user.id, status=None), replace(listing, consultant=None,
                                                                              archived=False), None, None, []
    account, role = current
    status = "archived" if listing.archived else "active"
    wanted = listing.consultant
    if role == "owner":
        if wanted is not None and not ls.is_member(account.id, wanted):
            abort(404)
        return ls.Scope(account.id, assigned_to=wanted, status=status), listing, account, role, \
            ls.consultants_of(account.id)
    # A consultant's portfolio is always their own: another's is not theirs to open.
    if wanted is not None and wanted != current_user.id:
        abort(404)
    return ls.Scope(account.id, assigned_to=current_user.id, status=status), listing, account, role, []


@bp.get("/")
@login_required
def index():
    scope, listing, account, role, consultants = _scope_and_listing()
    page = ls.page_of(scope, listing)
    if account is None and page.total == 1 and not listing.filtered:
        return redirect(url_for("workspace.overview", slug=page.rows[0].slug))
    strip, archived = ls.attention(scope) if account and not listing.archived else (None, 0)
    return render("portfolio/index.html", block="client_list", page=page, listing=listing, account=account,
                  account_role=role, consultants=consultants, attention=strip, flags=ls.FLAGS, stages=STAGE_KEYS,
                  sorts=ls.SORTS, today=clock.today(), archived_count=archived,
                  audit_labels=AUDIT_LABELS)


CSV_HEADER = ["Client", "Address", "Stage", "Stage progress %", "Progress %", "Readiness", "Overdue tasks",
              "Other overdue items", "Open tasks", "Gate awaiting approval", "Red KPIs", "Stale KPIs", "Days behind plan",
              "Target certification", "Next external audit", "Last activity", "Certificate expires",
              "Stale records"]


def csv_row(r) -> list[str]:
    return [safe_cell(v) for v in (
        r.name, f"/c/{r.slug}", stage_label(r.stage), r.stage_progress, r.overall_progress, r.readiness,
        r.overdue_tasks, r.overdue_items, r.open_tasks, "yes" if r.gate_awaiting_approval else "no", r.red_kpis, r.stale_kpis,
        r.days_behind_plan, r.target_certification_on.isoformat() if r.target_certification_on else "",
        r.next_audit_on.isoformat() if r.next_audit_on else "",
        r.last_activity_at.isoformat(timespec="seconds") if r.last_activity_at else "",
        r.certificate_expires_on.isoformat() if r.certificate_expires_on else "", r.stale_items)]


@bp.get("/portfolio.csv")
@login_required
def portfolio_csv():
    scope, listing, account, _role, _ = _scope_and_listing()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in ls.all_rows(scope, listing):
        writer.writerow(csv_row(r))
    name = f"portfolio-{clock.today().isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
