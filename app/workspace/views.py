from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts import AccountError, invite, send_invitation
from ..auth.forms import InviteForm
from ..extensions import db
from ..models import ActivityEntry, ClientMember, Invitation, Stage, User
from ..tenancy import CONSULTANT_ROLES, requires
from . import bp

PEOPLE_MANAGERS = (*CONSULTANT_ROLES, "client_admin")


@bp.get("/")
def overview():
    stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
    activity = db.session.scalars(select(ActivityEntry).order_by(ActivityEntry.at.desc()).limit(10)).all()
    return render_template("workspace/overview.html", client=g.client, stages=stages, activity=activity,
                           summary=g.client.summary)


def _people_page(form, status=200):
    members = db.session.execute(
        select(User, ClientMember.role).join(ClientMember, ClientMember.user_id == User.id)
        .where(ClientMember.client_id == g.client.id).order_by(User.name)
    ).all()
    pending = db.session.scalars(
        select(Invitation).where(Invitation.client_id == g.client.id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    return render_template("workspace/people.html", client=g.client, form=form, members=members,
                           consultants=g.client.consultants, pending=pending,
                           can_invite=g.client_role in PEOPLE_MANAGERS), status


def _invite_form():
    form = InviteForm()
    form.role.choices = [("staff", "Staff"), ("client_admin", "Client admin"), ("auditor", "Auditor (read-only)")]
    return form


@bp.get("/people")
def people():
    return _people_page(_invite_form())


@bp.post("/people")
@requires(*PEOPLE_MANAGERS)
def invite_person():
    form = _invite_form()
    if not form.validate_on_submit():
        return _people_page(form, 422)
    try:
        issued = invite(current_user, g.client.account, form.email.data, form.role.data, client=g.client)
        db.session.commit()
    except AccountError as err:
        db.session.rollback()
        form.email.errors = [str(err)]
        return _people_page(form, 422)
    send_invitation(issued, current_user)
    flash(f"Invitation sent to {issued.invitation.email}.", "success")
    return redirect(url_for("workspace.people"))
