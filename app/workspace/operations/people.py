"""The client's people: changing a member's role, removing a member, and the invitations to the client.

A removed member keeps their name on everything they did (activity, comments, evidence and reviews store the
name they had); only their access ends, and the open tasks assigned to them become unassigned so that nothing
waits on someone who can no longer sign in. Every change is written to the client's activity log.
"""
from __future__ import annotations

from sqlalchemy import select

import workflows as wf

from ...accounts import resend_invitation, revoke_invitation
from ...extensions import db
from ...models import Client, ClientMember, Invitation, Task, User
from ...permissions import CLIENT_ROLES, ROLE_LABELS
from ...refusal import Refusal
from .common import Actor, log
from .tasks import assign_task


def _not_yourself(member: ClientMember, actor: Actor, what: str) -> None:
    # Your own access is changed by someone else: a slip here would lock you out of the page that undoes it.
    if member.user_id == actor.id:
        raise Refusal(f"You can't {what} yourself. Ask your consultant or another client admin.", 409)


def change_member_role(member: ClientMember, role: str, actor: Actor) -> None:
    if role not in CLIENT_ROLES:
        raise Refusal("Choose one of the roles in the list.", 422, field="role")
    if role == member.role:
        return
    _not_yourself(member, actor, "change the role of")
    before = member.role
    member.role = role
    log(actor, "people.role", "user", member.user_id,
        f"{member.user.name}: {ROLE_LABELS[before]} → {ROLE_LABELS[role]}", {"role": before}, {"role": role})


def open_tasks_of(user_id: int) -> list[Task]:
    """The open tasks assigned to someone: what becomes unassigned if they are removed."""
    return list(db.session.scalars(select(Task).where(Task.assignee_id == user_id,
                                                      Task.status.in_(wf.OPEN_TASK_STATUSES))
                                   .order_by(Task.due_on.nulls_last(), Task.position)))


def remove_member(member: ClientMember, actor: Actor) -> list[Task]:
    """End a member's access; their open tasks become unassigned (returned). Finished work keeps its assignee."""
    _not_yourself(member, actor, "remove")
    user: User = member.user
    unassigned = open_tasks_of(user.id)
    for task in unassigned:
        assign_task(task, None, actor)
    log(actor, "people.removed", "user", user.id,
        f"{user.name} ({ROLE_LABELS[member.role]}) no longer has access"
        + (f"; {len(unassigned)} open task{'s' if len(unassigned) != 1 else ''} unassigned" if unassigned else ""),
        {"role": member.role, "email": user.email}, None)
    db.session.delete(member)
    return unassigned


def member_of(client: Client, user_id: int | None) -> ClientMember | None:
    return db.session.get(ClientMember, (client.id, user_id)) if user_id else None


def invitation_of(client: Client, invitation_id: int) -> Invitation | None:
    """An invitation to this client (None for any other's, or the team's)."""
    inv = db.session.get(Invitation, invitation_id)
    return inv if inv is not None and inv.client_id == client.id else None


def resend(inv: Invitation, inviter: User, actor: Actor) -> None:
    issued = resend_invitation(inv, inviter)
    log(actor, "people.invitation_resent", "invitation", inv.id,
        f"Invitation of {inv.email} ({ROLE_LABELS[inv.role]}) sent again; the earlier link no longer works",
        None, {"expires_at": issued.invitation.expires_at.isoformat()})


def revoke(inv: Invitation, actor: Actor) -> None:
    email, role, inv_id = inv.email, inv.role, inv.id
    revoke_invitation(inv)
    log(actor, "people.invitation_revoked", "invitation", inv_id, f"Invitation of {email} ({ROLE_LABELS[role]}) revoked",
        {"email": email, "role": role}, None)


def invited(issued, actor: Actor) -> None:
    """Log a new (or renewed) invitation from the People page."""
    inv = issued.invitation
    db.session.flush()  # a new invitation's id
    log(actor, "people.invitation_resent" if issued.resent else "people.invited", "invitation", inv.id,
        f"{'Invitation sent again to' if issued.resent else 'Invited'} {inv.email} as {ROLE_LABELS[inv.role]}",
        None, {"email": inv.email, "role": inv.role, "expires_at": inv.expires_at.isoformat()})
