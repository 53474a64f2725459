"""The client's people: members, consultants, pending invitations, and inviting someone."""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from ...accounts import invite_and_notify
from ...auth.forms import InviteForm
from ...extensions import db
from ...models import ClientMember, Invitation, User
from ...permissions import CLIENT_MANAGERS, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp


def _people_page(form, status=200):
    members = db.session.execute(
        select(User, ClientMember.role).join(ClientMember, ClientMember.user_id == User.id)
        .where(ClientMember.client_id == g.client.id).order_by(User.name)
    ).all()
    pending = db.session.scalars(
        select(Invitation).where(Invitation.client_id == g.client.id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    return render("workspace/people.html", client=g.client, form=form, members=members,
                  consultants=g.client.consultants, pending=pending,
                  can_invite=may_change(*CLIENT_MANAGERS)), status


def _invite_form():
    form = InviteForm()
    form.role.choices = [("staff", "Staff"), ("client_admin", "Client admin"), ("auditor", "Auditor (read-only)")]
    return form


@bp.get("/people")
def people():
    return _people_page(_invite_form())


@bp.post("/people")
@requires(*CLIENT_MANAGERS)
def invite_person():
    form = _invite_form()
    if not form.validate_on_submit():
        return _people_page(form, 422)
    try:
        invitation = invite_and_notify(current_user, g.client.account, form.email.data, form.role.data,
                                       client=g.client)
    except Refusal as err:
        db.session.rollback()
        form.email.errors = [str(err)]
        return _people_page(form, 422)
    db.session.commit()
    flash(f"Invitation sent to {invitation.email}.", "success")
    return redirect(url_for("workspace.people"))
