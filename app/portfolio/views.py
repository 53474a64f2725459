from __future__ import annotations

from datetime import date, timedelta
from functools import wraps

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from ..accounts import AccountError, current_account, invite_and_notify, visible_clients_query
from ..auth.forms import InviteForm
from ..clients import DEFAULT_PLAN_DAYS, create_client
from ..extensions import db
from ..jobs.spares import queue_top_up
from ..models import AccountMember, Client, Invitation, User
from ..workspace.operations import WorkspaceError
from . import bp
from .forms import NewClientForm


def account_required(*roles):
    """Views of the current consultancy, limited to some account roles."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            current = current_account()
            if current is None:
                abort(404)  # client staff have no consultancy pages at all
            if current[1] not in roles:
                abort(403)
            g.account, g.account_role = current
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.get("/")
@login_required
def index():
    current = current_account()
    account = current[0] if current else None
    q = visible_clients_query(current_user, account.id if account else None).options(selectinload(Client.summary))
    clients = db.session.scalars(q.where(Client.status == "active")).all()
    # Worst first: a gate waiting on the consultant, then overdue work, then least progress.
    clients.sort(key=lambda c: (
        not (c.summary and c.summary.gate_awaiting_approval),
        -(c.summary.overdue_tasks if c.summary else 0),
        c.summary.overall_progress if c.summary else 0,
        c.name.lower(),
    ))
    if account is None and len(clients) == 1:
        return redirect(url_for("workspace.overview", slug=clients[0].slug))
    return render_template("portfolio/index.html", clients=clients, account=account,
                           account_role=current[1] if current else None)


@bp.post("/switch-account")
@login_required
def switch_account():
    account_id = request.form.get("account_id", type=int)
    member = db.session.get(AccountMember, (account_id, current_user.id)) if account_id else None
    if member is None:
        abort(404)
    session["account_id"] = account_id
    return redirect(url_for("portfolio.index"))


def _consultant_choices(account):
    rows = db.session.execute(
        select(User.id, User.name).join(AccountMember, AccountMember.user_id == User.id)
        .where(AccountMember.account_id == account.id).order_by(User.name)
    ).all()
    return [(uid, name) for uid, name in rows]


def _template_choices(form, choices) -> None:
    grouped = any(c.own for c in choices)  # option groups only once the consultancy has copies of its own
    form.template.choices = [SelectChoice(c.ref, c.label, optgroup=("Your templates" if c.own else "Standard")
                                          if grouped else None) for c in choices]


@bp.route("/clients/new", methods=["GET", "POST"])
@account_required("owner", "consultant")
def new_client():
    from ..library import store as library  # here: the library's views import this module's decorator

    form = NewClientForm()
    form.consultants.choices = _consultant_choices(g.account)
    choices = library.choices(g.account.id)
    _template_choices(form, choices)
    if request.method == "GET":
        form.consultants.data = [current_user.id]
        form.template.data = choices[0].ref
        form.start_on.data = date.today()
        form.target_on.data = date.today() + timedelta(days=DEFAULT_PLAN_DAYS)
    if form.validate_on_submit():
        template = library.resolve(g.account.id, form.template.data) if form.template.data else choices[0].template
        if template is None:
            form.template.errors = [*form.template.errors, "Choose one of the templates in the list."]
            return render_template("portfolio/new_client.html", form=form), 422
        chosen = set(form.consultants.data or [])
        if g.account_role == "consultant":
            chosen.add(current_user.id)  # a consultant always keeps access to the client they create
        users = db.session.scalars(select(User).where(User.id.in_(chosen))).all() if chosen else []
        try:
            client = create_client(g.account, form.name.data, form.slug.data, consultants=users, template=template,
                                   start_on=form.start_on.data, target_on=form.target_on.data, created_by=current_user)
        except (AccountError, WorkspaceError) as err:
            db.session.rollback()
            fields = {"slug": form.slug, "name": form.name, "start_on": form.start_on, "target_on": form.target_on}
            # A plan that can't be made from the dates (WorkspaceError) is about the target date.
            target = fields.get(err.field if isinstance(err, AccountError) else "target_on", form.name)
            target.errors = list(target.errors) + [str(err)]
            return render_template("portfolio/new_client.html", form=form), 422
        queue_top_up()  # the client took a spare schema: build its replacement off the request path
        flash(f"{client.name} is ready. Invite their staff from the People page.", "success")
        return redirect(url_for("workspace.overview", slug=client.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolio/new_client.html", form=form), status


def _team_form():
    form = InviteForm()
    form.role.choices = [("consultant", "Consultant"), ("owner", "Owner")]
    return form


def _team_page(form, status=200):
    members = db.session.execute(
        select(User, AccountMember.role).join(AccountMember, AccountMember.user_id == User.id)
        .where(AccountMember.account_id == g.account.id).order_by(User.name)
    ).all()
    pending = db.session.scalars(
        select(Invitation).where(Invitation.account_id == g.account.id, Invitation.client_id.is_(None),
                                 Invitation.accepted_at.is_(None)).order_by(Invitation.created_at.desc())
    ).all()
    return render_template("portfolio/team.html", form=form, members=members, pending=pending,
                           is_owner=g.account_role == "owner"), status


@bp.get("/team")
@account_required("owner", "consultant")
def team():
    return _team_page(_team_form())


@bp.post("/team")
@account_required("owner")
def invite_consultant():
    form = _team_form()
    if not form.validate_on_submit():
        return _team_page(form, 422)
    try:
        invitation = invite_and_notify(current_user, g.account, form.email.data, form.role.data)
    except AccountError as err:
        form.email.errors = [str(err)]
        return _team_page(form, 422)
    flash(f"Invitation sent to {invitation.email}.", "success")
    return redirect(url_for("portfolio.team"))
