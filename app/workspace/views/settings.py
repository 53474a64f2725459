"""The client's settings, for its consultants and the consultancy's owners: name, consultants, the plan's
start and target dates (previewed, then applied), working days and time zone, archiving and unarchiving."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from workflows import reminders as rules

from ...extensions import db
from ...permissions import CLIENT_SETTINGS_ROLES, ROLE_LABELS, client_role, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from ..operations.client import NAME_MAX
from .common import actor, refused


class RenameForm(FlaskForm):
    # Checked by ops.client_name, the rule new clients follow too.
    name = StringField("Company name", render_kw={"maxlength": NAME_MAX},
                       description="Links stay the same: the client's address /c/<address> does not change.")


class ConsultantsForm(FlaskForm):
    consultants = SelectMultipleField("Assigned consultants", coerce=int, choices=[], validate_choice=False,
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                      description="They see this client in their portfolio and work on it. "
                                                  "Owners see every client anyway.")


class DatesForm(FlaskForm):
    start_on = DateField("Start date", validators=[InputRequired("Enter the start date.")],
                         description="The kick-off. Moving it moves no task.")
    target_on = DateField("Target certification date", validators=[InputRequired("Enter the target date.")],
                          description="Open tasks and stages move with it; finished work keeps its dates.")


class ApplyDatesForm(DatesForm):
    # The dates the preview was made from: if they changed since, the preview is stale.
    seen_start_on = DateField(validators=[Optional()])
    seen_target_on = DateField(validators=[Optional()])


def _valid(form) -> bool:
    """form.validate(), with one message per field: an empty date is "Enter the date", not also "not valid"."""
    ok = form.validate() if request.method == "GET" else form.validate_on_submit()
    for f in form:
        f.errors = list(f.errors)[-1:]
    return ok


def _consultants_form(formdata=None):
    form = ConsultantsForm(formdata) if formdata is not None else ConsultantsForm()
    form.consultants.choices = [(u.id, f"{u.name} · {ROLE_LABELS[role]} · {u.email}")
                                for u, role in ops.consultancy_members(g.client.account_id)]
    return form


def _page(status: int = 200, rename=None, consultants=None, dates=None, preview=None, calendar=None):
    s = ops.settings()
    if rename is None:
        rename = RenameForm(formdata=None, data={"name": g.client.name})
    if consultants is None:
        consultants = _consultants_form(formdata=None)
        consultants.consultants.data = [u.id for u in g.client.consultants]
    if dates is None:
        dates = DatesForm(formdata=None, data={"start_on": s.start_on, "target_on": s.target_on},
                          meta={"csrf": False})
    return render("workspace/settings.html", client=g.client, settings=s, rename=rename, consultants=consultants,
                  dates=dates, preview=preview, can_change=may_change(*CLIENT_SETTINGS_ROLES),
                  calendar=calendar or _calendar(), weekdays=rules.WEEKDAY_NAMES, zones=rules.time_zones(),
                  firm_zone=g.client.account.time_zone or "UTC"), status


def _calendar(days=None, zone=None, errors=None) -> dict:
    """The working days and time zone form: as stored, or as typed with its errors."""
    if days is None:
        days = list(g.client.working_days or "01234")
        zone = g.client.time_zone or ""
    return {"days": days, "zone": zone, "errors": errors or {}}


@bp.get("/settings")
@requires(*CLIENT_SETTINGS_ROLES)
def client_settings():
    return _page()


@bp.post("/settings/name")
@requires(*CLIENT_SETTINGS_ROLES)
def client_rename():
    form = RenameForm()
    if form.validate_on_submit():
        try:
            ops.rename_client(g.client, form.name.data, actor())
        except Refusal as err:
            db.session.rollback()
            form.name.errors = [str(err)]
        else:
            ops.save(g.client)
            flash(f"Renamed to {g.client.name}. Its address stays /c/{g.client.slug}.", "success")
            return redirect(url_for("workspace.client_settings"), 303)
    return _page(422, rename=form)


@bp.post("/settings/consultants")
@requires(*CLIENT_SETTINGS_ROLES)
def client_consultants():
    form = _consultants_form(request.form)
    if form.validate_on_submit():
        try:
            ops.assign_consultants(g.client, form.consultants.data or [], actor())
        except Refusal as err:
            db.session.rollback()
            form.consultants.errors = [str(err)]
        else:
            ops.save(g.client)
            if client_role(current_user, g.client) is None:  # they unassigned themselves
                flash(f"You are no longer assigned to {g.client.name}.", "success")
                return redirect(url_for("portfolio.index"), 303)
            flash("Assigned consultants saved.", "success")
            return redirect(url_for("workspace.client_settings"), 303)
    return _page(422, consultants=form)


@bp.post("/settings/calendar")
@requires(*CLIENT_SETTINGS_ROLES)
def client_calendar():
    days, zone = request.form.getlist("working_days"), request.form.get("time_zone", "")
    try:
        ops.set_reminder_calendar(g.client, days, zone, actor())
    except Refusal as err:
        db.session.rollback()
        return _page(422, calendar=_calendar(days, zone, {err.field: str(err)}))
    ops.save(g.client)
    flash(f"Working days saved: {rules.working_days_label(g.client.working_days)}; reminders keep to them.",
          "success")
    return redirect(url_for("workspace.client_settings") + "#calendar", 303)


@bp.get("/settings/dates")
@requires(*CLIENT_SETTINGS_ROLES)
def client_dates_preview():
    """The preview of new dates: a GET, since it changes nothing (the form works without JavaScript)."""
    form = DatesForm(formdata=request.args, meta={"csrf": False})
    if not _valid(form):
        return _page(422, dates=form)
    try:
        preview = ops.preview_dates(form.start_on.data, form.target_on.data)
    except Refusal as err:
        _field(form, err.field).errors.append(str(err))
        return _page(422, dates=form)
    return _page(dates=form, preview=preview)


@bp.post("/settings/dates")
@requires(*CLIENT_SETTINGS_ROLES)
def client_dates():
    form = ApplyDatesForm()
    if _valid(form):
        try:
            change = ops.change_dates(form.start_on.data, form.target_on.data,
                                      (form.seen_start_on.data, form.seen_target_on.data), actor())
        except Refusal as err:
            db.session.rollback()
            if err.status == 409:  # stale preview: show the page as it is now, with the dates they wanted
                flash(str(err), "error")
                dates = DatesForm(formdata=None, data={"start_on": form.start_on.data,
                                                       "target_on": form.target_on.data}, meta={"csrf": False})
                return _page(409, dates=dates)
            _field(form, err.field).errors.append(str(err))
        else:
            ops.save(g.client)
            moved = (f"{change.moved} open task{'s' if change.moved != 1 else ''} moved by {change.days:+d} days"
                     if change.shift else "no task moved")
            flash(f"Plan dates saved: {change.new_start_on:%d %b %Y} – {change.new_target_on:%d %b %Y}; {moved}.",
                  "success")
            if change.warning:
                flash(change.warning, "warning")
            return redirect(url_for("workspace.client_settings"), 303)
    return _page(422, dates=form)


def _field(form, name):
    return getattr(form, name or "target_on", form.target_on)


@bp.post("/settings/archive")
@requires(*CLIENT_SETTINGS_ROLES)
def client_archive():
    try:
        ops.archive_client(g.client, actor())
    except Refusal as err:
        return refused(err, "workspace.client_settings")
    ops.save(g.client)
    flash(f"{g.client.name} is archived: read-only, and no longer in your portfolio's default view. "
          "Nothing was deleted.", "success")
    return redirect(url_for("workspace.client_settings"), 303)


@bp.post("/settings/unarchive")
@requires(*CLIENT_SETTINGS_ROLES)
def client_unarchive():
    try:
        ops.unarchive_client(g.client, actor())
    except Refusal as err:
        return refused(err, "workspace.client_settings")
    ops.save(g.client)
    flash(f"{g.client.name} is active again and back in the portfolio.", "success")
    return redirect(url_for("workspace.client_settings"), 303)
