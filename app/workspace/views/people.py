"""The client's people: members and their roles, consultants, pending invitations, inviting and removing."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ... import clock
from ...accounts import invite_and_notify, pending_invitations
from ...auth.forms import InviteForm
from ...extensions import db
from ...models import ClientMember, User
from ...permissions import CLIENT_MANAGERS, CLIENT_ROLES, ROLE_LABELS, may_change, requires
from ...refusal import Refusal
from ...templating import render
from .. import operations as ops
from ..blueprint import bp
from ..operations import people as people_ops
from .common import actor

# Staff first: the role most invitations are for.
ROLE_CHOICES = [(role, ROLE_LABELS[role]) for role in ("staff", *(r for r in CLIENT_ROLES if r != "staff"))]


def _people_page(form, status=200):
    members = db.session.execute(
        select(User, ClientMember.role).join(ClientMember, ClientMember.user_id == User.id)
        .where(ClientMember.client_id == g.client.id).order_by(User.name)
    ).all()
    return render("workspace/people.html", client=g.client, form=form, members=members,
                  consultants=g.client.consultants, pending=pending_invitations(g.client.account_id, g.client.id),
                  now=clock.now(), roles=ROLE_CHOICES, can_manage=may_change(*CLIENT_MANAGERS)), status


def _invite_form():
    form = InviteForm()
    form.role.choices = ROLE_CHOICES
    return form


def _refused(err: Refusal):
    db.session.rollback()
    flash(str(err), "error")
    return _people_page(_invite_form(), err.status)


def _member_or_404(user_id: int) -> ClientMember:
    member = people_ops.member_of(g.client, user_id)
    if member is None:
        abort(404)
    return member


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
        issued = invite_and_notify(current_user, g.client.account, form.email.data, form.role.data, client=g.client)
        people_ops.invited(issued, actor())
    except Refusal as err:
        db.session.rollback()
        getattr(form, err.field or "email").errors = [str(err)]
        return _people_page(form, 422)
    ops.save(g.client)
    email = issued.invitation.email
    flash(f"{email} already had an invitation waiting: a new link was sent, and the earlier one no longer works."
          if issued.resent else f"Invitation sent to {email}.", "success")
    return redirect(url_for("workspace.people"))


@bp.post("/people/<int:user_id>/role")
@requires(*CLIENT_MANAGERS)
def change_person_role(user_id):
    member = _member_or_404(user_id)
    try:
        people_ops.change_member_role(member, request.form.get("role", ""), actor())
    except Refusal as err:
        return _refused(err)
    name, role = member.user.name, member.role
    ops.save(g.client)
    flash(f"{name} is now {ROLE_LABELS[role]}.", "success")
    return redirect(url_for("workspace.people"))


@bp.route("/people/<int:user_id>/remove", methods=["GET", "POST"])
@requires(*CLIENT_MANAGERS)
def remove_person(user_id):
    member = _member_or_404(user_id)
    if request.method == "GET":
        return render("workspace/person_remove.html", client=g.client, member=member,
                      open_tasks=people_ops.open_tasks_of(user_id))
    name = member.user.name
    try:
        unassigned = people_ops.remove_member(member, actor())
    except Refusal as err:
        return _refused(err)
    ops.save(g.client)
    flash(f"{name} no longer has access to {g.client.name}"
          + (f"; {len(unassigned)} open task{'s' if len(unassigned) != 1 else ''} now unassigned." if unassigned
             else "."), "success")
    return redirect(url_for("workspace.people"))


def _invitation_or_404(invitation_id: int):
    inv = people_ops.invitation_of(g.client, invitation_id)
    if inv is None:
        abort(404)
    return inv


@bp.post("/people/invitations/<int:invitation_id>/resend")
@requires(*CLIENT_MANAGERS)
def resend_invitation(invitation_id):
    inv = _invitation_or_404(invitation_id)
    try:
        people_ops.resend(inv, current_user, actor())
    except Refusal as err:
        return _refused(err)
    email = inv.email
    ops.save(g.client)
    flash(f"A new invitation link was sent to {email}; the earlier one no longer works.", "success")
    return redirect(url_for("workspace.people"))


@bp.post("/people/invitations/<int:invitation_id>/revoke")
@requires(*CLIENT_MANAGERS)
def revoke_invitation(invitation_id):
    inv = _invitation_or_404(invitation_id)
    email = inv.email
    try:
        people_ops.revoke(inv, actor())
    except Refusal as err:
        return _refused(err)
    ops.save(g.client)
    flash(f"The invitation of {email} is revoked: its link no longer works.", "success")
    return redirect(url_for("workspace.people"))
