"""The consultancy's side of the certification cycle: each certification body's response deadlines
(`/response-rules`, defaults shown) and the calendar of every client's next external audit and certificate
expiry over the next twelve months (`/calendar`), read from `client_summaries` in one query, never from
client schemas. A consultant sees the clients assigned to them, an owner every client.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import and_, or_, select

from workflows import cycle as wc

from .. import clock
from ..extensions import db
from ..models import Client, ClientSummary
from ..permissions import CALENDAR_READERS, RESPONSE_RULE_EDITORS, account_required
from ..refusal import Refusal
from ..templating import render
from ..workspace import operations as ops
from . import bp
from . import listing as ls

RULE_FIELDS = tuple(wc.RULE_LIMITS)
HORIZON_MONTHS = 12


def _rules_page(status: int = 200, error: Refusal | None = None, typed: dict | None = None):
    return render("portfolio/response_rules.html", rows=ops.body_rules(g.account.id), defaults=wc.DEFAULT_RULES,
                  labels=wc.RULE_LABELS, limits=wc.RULE_LIMITS, error=error,
                  typed=typed or {"body": "", **{k: str(getattr(wc.DEFAULT_RULES, k)) for k in RULE_FIELDS}}), status


@bp.get("/response-rules")
@account_required(*RESPONSE_RULE_EDITORS)
def response_rules():
    edit = request.args.get("body", "")
    row = next((r for r in ops.body_rules(g.account.id) if r.body_key == edit), None) if edit else None
    if row is None:
        return _rules_page()
    return _rules_page(typed={"body": row.body_name, **{k: str(getattr(row, k)) for k in RULE_FIELDS}})


@bp.post("/response-rules")
@account_required(*RESPONSE_RULE_EDITORS)
def save_response_rules():
    typed = {k: request.form.get(k, "") for k in ("body", *RULE_FIELDS)}
    try:
        row = ops.save_body_rules(g.account.id, typed["body"], typed, current_user.name)
    except Refusal as err:
        db.session.rollback()
        return _rules_page(err.status, err, typed)
    db.session.commit()
    flash(f"{row.body_name}: majors within {row.major_days} days, minors within {row.minor_days} days, stage 2 "
          f"repeated after {row.stage_2_repeat_months} months. Clients certified by it count down by these now.",
          "success")
    return redirect(url_for("portfolio.response_rules") + "#bodies", 303)


@bp.post("/response-rules/remove")
@account_required(*RESPONSE_RULE_EDITORS)
def remove_response_rules():
    try:
        name = ops.delete_body_rules(g.account.id, request.form.get("body_key", "")[:200])
    except Refusal:
        abort(404)
    db.session.commit()
    flash(f"{name} has the default deadlines again.", "success")
    return redirect(url_for("portfolio.response_rules") + "#bodies", 303)


# --- the portfolio calendar -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    on: date
    kind: str  # an audit kind, or "expiry"
    slug: str
    name: str

    @property
    def label(self) -> str:
        return "Certificate expires" if self.kind == "expiry" else wc.AUDIT_LABELS.get(self.kind, "External audit")


def _scope() -> ls.Scope:
    return ls.Scope(g.account.id, assigned_to=None if g.account_role == "owner" else current_user.id)


def calendar_entries(scope: ls.Scope, today: date, until: date) -> list[Entry]:
    """Next external audits up to `until` (and any already past their date) and certificate expiries between
    today and `until`, soonest first."""
    S = ClientSummary
    rows = db.session.execute(
        select(Client.slug, Client.name, S.next_audit_on, S.next_audit_kind, S.certificate_expires_on)
        .select_from(Client).join(S, S.client_id == Client.id).where(scope.condition(), or_(
            S.next_audit_on <= until, and_(S.certificate_expires_on >= today, S.certificate_expires_on <= until)))
    ).all()
    entries = []
    for slug, name, audit_on, kind, expires_on in rows:
        if audit_on is not None and audit_on <= until:
            entries.append(Entry(audit_on, kind or "external", slug, name))
        if expires_on is not None and today <= expires_on <= until:
            entries.append(Entry(expires_on, "expiry", slug, name))
    return sorted(entries, key=lambda e: (e.on, e.name.lower(), e.kind))


@bp.get("/calendar")
@account_required(*CALENDAR_READERS)
def calendar():
    today = clock.today()
    until = wc.add_months(today, HORIZON_MONTHS)
    entries = calendar_entries(_scope(), today, until)
    overdue = [e for e in entries if e.on < today]
    months: dict[tuple[int, int], list[Entry]] = {}
    for e in entries:
        if e.on >= today:
            months.setdefault((e.on.year, e.on.month), []).append(e)
    return render("portfolio/calendar.html", overdue=overdue, months=months, today=today, until=until,
                  audits=sum(1 for e in entries if e.kind != "expiry"),
                  expiries=sum(1 for e in entries if e.kind == "expiry"))
