"""/reminders, for a consultancy's owners: the lead days of the due-date ladder, the consultancy's time zone,
and the mails that failed for good (refused by the mail server, or given up after every retry), with a retry.

Owners only: a consultant, a client's people and other consultancies get 404, whether or not a message exists.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_login import login_required
from sqlalchemy import and_, or_, select

from workflows import reminders as rules

from ..extensions import db
from ..models import AccountMember, Client, RemindersSent
from ..permissions import ACCOUNT_OWNERS, current_account
from ..templating import render
from ..transaction import after_commit
from .outbox import MAX_ATTEMPTS, enqueue_send
from .views import bp

FAILED_LIMIT = 200


def _owner_only() -> None:
    current = current_account()
    if current is None or current[1] not in ACCOUNT_OWNERS:
        abort(404)  # the same answer whether the page exists for them or not
    g.account, g.account_role = current


def _failed_of(account_id: int):
    """The consultancy's messages that failed for good: about its clients, or to its people (their briefs)."""
    gave_up = or_(RemindersSent.failed_at.is_not(None),
                  and_(RemindersSent.sent_at.is_(None), RemindersSent.attempts >= MAX_ATTEMPTS))
    ours = or_(RemindersSent.client_id.in_(select(Client.id).where(Client.account_id == account_id)),
               and_(RemindersSent.client_id.is_(None), RemindersSent.user_id.in_(
                   select(AccountMember.user_id).where(AccountMember.account_id == account_id))))
    return and_(gave_up, ours, RemindersSent.held.is_(False))


def _page(status=200, typed=None, errors=None):
    account = g.account
    rows = db.session.execute(
        select(RemindersSent, Client.name).outerjoin(Client, Client.id == RemindersSent.client_id)
        .where(_failed_of(account.id)).order_by(RemindersSent.claimed_at.desc()).limit(FAILED_LIMIT)).all()
    lead = typed["lead_days"] if typed else ", ".join(str(d) for d in rules.lead_days_of(account.reminder_lead_days))
    zone = typed["time_zone"] if typed else (account.time_zone or "")
    return render("notify/owner.html", account=account, rows=rows, lead=lead, zone=zone, errors=errors or {},
                  zones=rules.time_zones(), standard=", ".join(str(d) for d in rules.LEAD_DAYS)), status


@bp.get("/reminders")
@login_required
def reminder_settings():
    _owner_only()
    return _page()


@bp.post("/reminders")
@login_required
def save_reminder_settings():
    _owner_only()
    typed = {"lead_days": request.form.get("lead_days", ""), "time_zone": request.form.get("time_zone", "")}
    errors, lead, zone = {}, None, None
    try:
        lead = rules.parse_lead_days(typed["lead_days"])
    except rules.WorkflowError as err:
        errors["lead_days"] = str(err)
    try:
        zone = rules.check_time_zone(typed["time_zone"])
    except rules.WorkflowError as err:
        errors["time_zone"] = str(err)
    if errors:
        return _page(422, typed, errors)
    g.account.reminder_lead_days = None if lead == rules.LEAD_DAYS else rules.format_lead_days(lead)
    g.account.time_zone = zone
    db.session.commit()
    flash(f"Reminders now go {', '.join(str(d) for d in lead)} days before a due date.", "success")
    return redirect(url_for("notify.reminder_settings"), 303)


@bp.post("/reminders/failed/retry")
@login_required
def retry_failed():
    _owner_only()
    key = request.form.get("key", "")
    row = db.session.scalar(select(RemindersSent).where(RemindersSent.key == key, _failed_of(g.account.id))
                            .with_for_update())
    if row is None:  # someone else's, already retried, or made up: as if it did not exist
        abort(404)
    row.failed_at, row.error, row.attempts = None, None, 0
    told = f"“{row.subject}” to {row.to_email} is queued again."
    after_commit(enqueue_send, row.key)
    db.session.commit()
    flash(told, "success")
    return redirect(url_for("notify.reminder_settings") + "#failed", 303)
