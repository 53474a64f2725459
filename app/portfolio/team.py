"""The team page (/team): the consultancy's owners and consultants, their roles, invitations, and removal.

Everyone in the team sees it; only owners change it. A person or invitation of another consultancy is the same
404 as one that does not exist, whoever asks.
"""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

import tenants

from .. import clock, team as team_ops
from ..accounts import invite_and_notify, pending_invitations, resend_invitation, revoke_invitation
from ..auth.forms import InviteForm
from ..extensions import db
from ..inputs import parse_id
from ..models import AccountMember, Client, ClientConsultant, Invitation, User
from ..permissions import ACCOUNT_MEMBERS, ACCOUNT_OWNERS, ACCOUNT_ROLES, ROLE_LABELS, account_required
from ..refusal import Refusal
from ..templating import render
from ..workspace import operations as ops
from . import bp

log = logging.getLogger(__name__)
ROLE_CHOICES = [(role, ROLE_LABELS[role]) for role in reversed(ACCOUNT_ROLES)]  # consultant first: the usual one


def _team_form():
    form = InviteForm()
    form.role.choices = ROLE_CHOICES
    return form


def _team_page(form, status=200):
    members = db.session.execute(
        select(User, AccountMember.role).join(AccountMember, AccountMember.user_id == User.id)
        .where(AccountMember.account_id == g.account.id).order_by(User.name)
    ).all()
    client_counts = dict(db.session.execute(
        select(ClientConsultant.user_id, func.count()).join(Client, Client.id == ClientConsultant.client_id)
        .where(Client.account_id == g.account.id).group_by(ClientConsultant.user_id)).all())
    return render("portfolio/team.html", form=form, members=members, client_counts=client_counts,
                  pending=pending_invitations(g.account.id, None), now=clock.now(), roles=ROLE_CHOICES,
                  is_owner=g.account_role == "owner"), status


def _owners_only():
    """After the object was found in the consultancy (404 otherwise, whoever asks): consultants get 403."""
    if g.account_role not in ACCOUNT_OWNERS:
        abort(403)


def _member_or_404(user_id: int) -> AccountMember:
    member = team_ops.member_of(g.account.id, user_id)
    if member is None:
        abort(404)
    _owners_only()
    return member


def _invitation_or_404(invitation_id: int) -> Invitation:
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or inv.account_id != g.account.id or inv.client_id is not None:
        abort(404)
    _owners_only()
    return inv


def _refused(err: Refusal):
    db.session.rollback()
    flash(str(err), "error")
    return _team_page(_team_form(), err.status)


@bp.get("/team")
@account_required(*ACCOUNT_MEMBERS)
def team():
    return _team_page(_team_form())


@bp.post("/team")
@account_required(*ACCOUNT_OWNERS)
def invite_consultant():
    form = _team_form()
    if not form.validate_on_submit():
        return _team_page(form, 422)
    try:
        issued = invite_and_notify(current_user, g.account, form.email.data, form.role.data)
    except Refusal as err:
        db.session.rollback()
        getattr(form, err.field or "email").errors = [str(err)]
        return _team_page(form, 422)
    db.session.commit()
    email = issued.invitation.email
    flash(f"{email} already had an invitation waiting: a new link was sent, and the earlier one no longer works."
          if issued.resent else f"Invitation sent to {email}.", "success")
    return redirect(url_for("portfolio.team"))


@bp.post("/team/<int:user_id>/role")
@account_required(*ACCOUNT_MEMBERS)
def change_team_role(user_id):
    member = _member_or_404(user_id)
    try:
        changed = team_ops.change_role(member, request.form.get("role", ""), current_user)
    except Refusal as err:
        return _refused(err)
    name, role = member.user.name, member.role
    db.session.commit()
    if changed:
        flash(f"{name} is now {ROLE_LABELS[role]}.", "success")
    return redirect(url_for("portfolio.team"))


def _successors(clients) -> dict[int, int | None]:
    """Who takes over each client: its own choice in the form, else the one colleague chosen for all."""
    for_all = parse_id(request.form.get("takeover_all"))
    return {c.id: parse_id(request.form.get(f"takeover-{c.id}")) or for_all for c in clients}


def _removal_page(member, status=200, error=None):
    return render("portfolio/team_remove.html", member=member, clients=team_ops.assigned_clients(member),
                  colleagues=team_ops.colleagues(member), error=error, form=request.form), status


@bp.route("/team/<int:user_id>/remove", methods=["GET", "POST"])
@account_required(*ACCOUNT_MEMBERS)
def remove_team_member(user_id):
    member = _member_or_404(user_id)
    if request.method == "GET":
        return _removal_page(member)
    name = member.user.name
    try:
        handed = team_ops.remove_member(member, current_user, _successors(team_ops.assigned_clients(member)))
    except Refusal as err:
        db.session.rollback()
        if err.field == "takeover":
            return _removal_page(team_ops.member_of(g.account.id, user_id), err.status, str(err))
        return _refused(err)
    db.session.commit()
    for h in handed:
        _log_hand_over(h, name)
    flash(f"{name} is no longer in the team" + (f"; {len(handed)} client{'s' if len(handed) != 1 else ''} handed "
                                                "over." if handed else "."), "success")
    return redirect(url_for("portfolio.team"))


def _log_hand_over(h: team_ops.HandOver, leaver: str) -> None:
    """Each client's own activity log says who its consultant is now (a transaction per client, after the
    team's change is committed: a client schema can't join the shared transaction)."""
    try:
        with tenants.tenant_scope(db.session, h.schema_name):
            ops.log(ops.Actor.of(current_user), "people.consultant", "user", h.successor_id,
                    f"{h.successor_name} takes over from {leaver}, who left the consultancy",
                    {"consultant": leaver}, {"consultant": h.successor_name})
            ops.save(db.session.get(Client, h.client_id))
    except Exception:  # the hand-over itself is committed; a missing log line must not turn it into an error
        log.exception("could not log the hand-over of client %s", h.client_id)


@bp.post("/team/invitations/<int:invitation_id>/resend")
@account_required(*ACCOUNT_MEMBERS)
def resend_team_invitation(invitation_id):
    inv = _invitation_or_404(invitation_id)
    try:
        resend_invitation(inv, current_user)
    except Refusal as err:
        return _refused(err)
    email = inv.email
    db.session.commit()
    flash(f"A new invitation link was sent to {email}; the earlier one no longer works.", "success")
    return redirect(url_for("portfolio.team"))


@bp.post("/team/invitations/<int:invitation_id>/revoke")
@account_required(*ACCOUNT_MEMBERS)
def revoke_team_invitation(invitation_id):
    inv = _invitation_or_404(invitation_id)
    email = inv.email
    try:
        revoke_invitation(inv)
    except Refusal as err:
        return _refused(err)
    db.session.commit()
    flash(f"The invitation of {email} is revoked: its link no longer works.", "success")
    return redirect(url_for("portfolio.team"))
