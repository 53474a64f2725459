from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

import workflows as wf

from .. import clock
from ..clients import DEFAULT_PLAN_DAYS, create_client
from ..extensions import db
from ..inputs import parse_id
from ..jobs.spares import queue_top_up
from ..library import store as library
from ..models import AccountMember, User
from ..permissions import ACCOUNT_MEMBERS, account_required, consultancy_read_only, current_account
from ..refusal import Refusal
from ..templating import render
from ..workspace import operations as ops
from . import bp
from .forms import NewClientForm


@bp.before_request
def _read_only_by_subscription():
    """A read-only consultancy (subscription ended, or overdue past its grace) changes nothing from its portfolio
    either; switching to another consultancy still works, and so does every page and export."""
    if (request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint == "portfolio.switch_account"
            or not current_user.is_authenticated):
        return None
    current = current_account()
    message = consultancy_read_only(current[0].id) if current is not None else None
    if message is None:
        return None
    return render("errors/error.html", code=409, title="This consultancy is read-only", message=message), 409


@bp.post("/switch-account")
@login_required
def switch_account():
    account_id = parse_id(request.form.get("account_id"))
    member = db.session.get(AccountMember, (account_id, current_user.id)) if account_id else None
    if member is None:
        abort(404)
    session["account_id"] = account_id
    return redirect(url_for("portfolio.index"))


def _consultant_choices(account):
    return [(user.id, user.name) for user, _ in ops.consultancy_members(account.id)]


def _template_choices(form, choices) -> None:
    grouped = any(c.own for c in choices)  # option groups only once the consultancy has copies of its own
    form.template.choices = [SelectChoice(c.ref, c.label, optgroup=("Your templates" if c.own else "Standard")
                                          if grouped else None) for c in choices]


@bp.route("/clients/new", methods=["GET", "POST"])
@account_required(*ACCOUNT_MEMBERS)
def new_client():
    form = NewClientForm()
    form.consultants.choices = _consultant_choices(g.account)
    choices = library.choices(g.account.id)
    _template_choices(form, choices)
    if request.method == "GET":
        form.consultants.data = [current_user.id]
        form.template.data = choices[0].ref
        form.start_on.data = clock.today()
        form.target_on.data = clock.today() + timedelta(days=DEFAULT_PLAN_DAYS)
    if form.validate_on_submit() and _plan_dates_ok(form):
        template = library.resolve(g.account.id, form.template.data) if form.template.data else choices[0].template
        if template is None:
            form.template.errors = [*form.template.errors, "Choose one of the templates in the list."]
            return render("portfolio/new_client.html", form=form), 422
        chosen = set(form.consultants.data or [])
        if g.account_role == "consultant":
            chosen.add(current_user.id)  # a consultant always keeps access to the client they create
        users = db.session.scalars(select(User).where(User.id.in_(chosen))).all() if chosen else []
        try:
            client = create_client(g.account, form.name.data, form.slug.data, consultants=users, template=template,
                                   start_on=form.start_on.data, target_on=form.target_on.data, created_by=current_user)
        except Refusal as err:
            db.session.rollback()
            fields = {"slug": form.slug, "name": form.name, "start_on": form.start_on, "target_on": form.target_on}
            target = fields.get(err.field, form.name)
            target.errors = list(target.errors) + [str(err)]
            # A field's input that cannot be used is 422; no room on the plan (no field) is a state: 409.
            return render("portfolio/new_client.html", form=form), 422 if err.field else err.status
        queue_top_up()  # the client took a spare schema: build its replacement off the request path
        flash(f"{client.name} is ready. Invite their staff from the People page.", "success")
        warning = wf.plan_length_warning(form.start_on.data or clock.today(), form.target_on.data
                                         or (form.start_on.data or clock.today()) + timedelta(days=DEFAULT_PLAN_DAYS))
        if warning:
            flash(warning, "warning")
        return redirect(url_for("workspace.overview", slug=client.slug))
    status = 422 if request.method == "POST" else 200
    return render("portfolio/new_client.html", form=form), status


def _plan_dates_ok(form) -> bool:
    """Start and target within a few years of today (workflows.check_plan_date): 9999-12-31 is a typo."""
    ok = True
    for field, anchor, what in ((form.start_on, None, "The start date"),
                                (form.target_on, form.start_on.data, "The target certification date")):
        if field.data is None:
            continue
        try:
            wf.check_plan_date(field.data, anchor, None, clock.today(), what=what)
        except wf.PlanError as err:
            field.errors = [*field.errors, str(err)]
            ok = False
    return ok
