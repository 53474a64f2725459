"""/notifications (the bell), /settings/notifications, and the signed one-click unsubscribe of each mail."""
from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from workflows import reminders as rules

from .. import clock
from ..extensions import csrf, db
from ..models import Client, Notification, NotificationPreference, User
from ..templating import render
from .events import preferences
from .outbox import read_unsubscribe_token

bp = Blueprint("notify", __name__)
LIST_LIMIT = 100
TIME_ZONES = sorted(available_timezones() - {"localtime", "Factory"})


def unread_count_query():
    """The number on the bell in the top bar (one indexed count), as a scalar subquery for app/topbar.py."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_at.is_(None)).scalar_subquery())


@bp.get("/notifications")
@login_required
def index():
    rows = db.session.execute(
        select(Notification, Client.name).outerjoin(Client, Client.id == Notification.client_id)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(LIST_LIMIT)).all()
    unread = sum(1 for n, _ in rows if n.read_at is None)
    return render("notify/index.html", rows=rows, unread=unread)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id):
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:  # someone else's: as if it did not exist
        abort(404)
    if note.read_at is None:
        note.read_at = clock.now()
    link = note.link
    db.session.commit()
    if request.form.get("open") == "1" and link and link.startswith("/") and not link.startswith("//"):
        return redirect(link, 303)
    return redirect(url_for("notify.index"), 303)


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    done = db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                         Notification.read_at.is_(None))
                              .values(read_at=clock.now())).rowcount
    db.session.commit()
    flash(f"{done} notification{'s' if done != 1 else ''} marked as read." if done else "Nothing was unread.",
          "success" if done else "info")
    return redirect(url_for("notify.index"), 303)


def _set_preference(user_id: int, kind_key: str, delivery: str) -> None:
    stmt = insert(NotificationPreference).values(user_id=user_id, kind=kind_key, delivery=delivery)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["user_id", "kind"],
                                                  set_={"delivery": delivery}))


CHOICES = rules.DELIVERIES  # the columns of the page; a digest itself offers no "in the digest"


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    errors, typed = {}, {}
    if request.method == "POST":
        typed = {k.key: request.form.get(k.key, "") for k in rules.PREFERENCE_KINDS}
        zone = request.form.get("time_zone", "").strip()
        for key, choice in typed.items():
            try:
                rules.check_preference(key, choice)
            except rules.WorkflowError as err:
                errors[key] = str(err)
        if zone and zone not in TIME_ZONES:
            errors["time_zone"] = "Choose a time zone from the list."
        if not errors:
            for key, choice in typed.items():
                _set_preference(current_user.id, key, choice)
            db.session.get(User, current_user.id).time_zone = zone or None
            db.session.commit()
            flash("Notification settings saved.", "success")
            return redirect(url_for("notify.settings"), 303)
    chosen = preferences([current_user.id])
    current = {k.key: typed.get(k.key) or rules.delivery(k.key, chosen.get((current_user.id, k.key)))
               for k in rules.PREFERENCE_KINDS}
    zone = request.form.get("time_zone", "") if request.method == "POST" else (current_user.time_zone or "")
    return render("notify/settings.html", kinds=rules.PREFERENCE_KINDS, current=current, errors=errors,
                  labels=rules.DELIVERY_LABELS, choices=CHOICES, offered=rules.choices, zones=TIME_ZONES,
                  zone=zone), (422 if errors else 200)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without a session; the signed token is the proof
def unsubscribe(token):
    found = read_unsubscribe_token(token)
    if found is None:
        return render("notify/unsubscribe.html", state="invalid", kind=None), 404
    user_id, kind_key = found
    kind = rules.kind(kind_key)
    if kind.mandatory or db.session.get(User, user_id) is None:
        return render("notify/unsubscribe.html", state="invalid", kind=None), 404
    if request.method == "GET":  # a link checker that follows the link must not unsubscribe anyone
        return render("notify/unsubscribe.html", state="confirm", kind=kind, token=token)
    _set_preference(user_id, kind_key, rules.OFF)
    db.session.commit()
    return render("notify/unsubscribe.html", state="done", kind=kind)


from . import owner  # noqa: E402,F401  (the owners' /reminders page, on this blueprint)
