"""The consultancy's team: changing roles and removing someone, whose clients are handed over first.

The rules: a consultancy always keeps at least one owner (the last one can be neither demoted nor removed), nobody
removes themselves (another owner does), and a client never ends up without its consultant — everyone assigned
to a client who leaves is replaced by a colleague chosen in the removal form. Changes of the account's rows take
a lock on the account row, so two owners demoting each other at once cannot leave it with none.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from .extensions import db
from .models import Account, AccountMember, Client, ClientConsultant, User
from .permissions import ACCOUNT_ROLES, ROLE_LABELS
from .refusal import Refusal

log = logging.getLogger("isopath.team")


@dataclass(frozen=True)
class HandOver:
    """One client of someone leaving, and who takes it over (plain values: used after the commit)."""

    client_id: int
    client_name: str
    schema_name: str
    successor_id: int
    successor_name: str


def member_of(account_id: int, user_id: int | None) -> AccountMember | None:
    return db.session.get(AccountMember, (account_id, user_id)) if user_id else None


def _lock(account_id: int) -> int:
    """Serialise membership changes of one account; the number of its owners, read under the lock."""
    db.session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
    return db.session.scalar(select(func.count()).select_from(AccountMember).where(
        AccountMember.account_id == account_id, AccountMember.role == "owner"))


def _keeps_an_owner(member: AccountMember, owners: int, what: str) -> None:
    if member.role == "owner" and owners <= 1:
        raise Refusal(f"{member.user.name} is the only owner of {member.account.name}, so you can't {what}. "
                      "Make someone else an owner first.", 409)


def change_role(member: AccountMember, role: str, by: User) -> bool:
    """Owner or consultant; False when nothing changed."""
    if role not in ACCOUNT_ROLES:
        raise Refusal("Choose one of the roles in the list.", 422, field="role")
    if role == member.role:
        return False
    if role != "owner":
        _keeps_an_owner(member, _lock(member.account_id), f"make {'yourself' if member.user_id == by.id else 'them'} "
                                                          f"{ROLE_LABELS[role]}")
    before, member.role = member.role, role
    log.info("account %s: %s (user %s) %s -> %s by user %s", member.account_id, member.user.email, member.user_id,
             before, role, by.id)
    return True


def assigned_clients(member: AccountMember) -> list[Client]:
    """The consultancy's clients this person is assigned to: each needs someone to take it over."""
    return list(db.session.scalars(
        select(Client).join(ClientConsultant, ClientConsultant.client_id == Client.id)
        .where(Client.account_id == member.account_id, ClientConsultant.user_id == member.user_id)
        .order_by(Client.name)))


def colleagues(member: AccountMember) -> list[User]:
    """Who can take over their clients: everyone else in the consultancy."""
    return list(db.session.scalars(
        select(User).join(AccountMember, AccountMember.user_id == User.id)
        .where(AccountMember.account_id == member.account_id, User.id != member.user_id).order_by(User.name)))


def remove_member(member: AccountMember, by: User, successors: dict[int, int | None]) -> list[HandOver]:
    """Remove someone from the consultancy; `successors` maps each of their clients' id to a colleague's id."""
    if member.user_id == by.id:
        raise Refusal("You can't remove yourself from the team. Ask another owner to do it.", 409)
    _keeps_an_owner(member, _lock(member.account_id), "remove them")
    team = {u.id: u for u in colleagues(member)}
    clients = assigned_clients(member)
    missing = [c.name for c in clients if successors.get(c.id) is None]
    if missing:
        raise Refusal(f"Choose who takes over {', '.join(missing)} before removing {member.user.name}: a client "
                      "always keeps a consultant.", 422, field="takeover")
    if any(successors[c.id] not in team for c in clients):
        raise Refusal("Choose colleagues from your team to take over the clients.", 422, field="takeover")
    handed = []
    for client in clients:
        successor = team[successors[client.id]]
        db.session.delete(db.session.get(ClientConsultant, (client.id, member.user_id)))
        if db.session.get(ClientConsultant, (client.id, successor.id)) is None:
            db.session.add(ClientConsultant(client_id=client.id, user_id=successor.id))
        handed.append(HandOver(client.id, client.name, client.schema_name, successor.id, successor.name))
    log.info("account %s: %s (user %s, %s) removed by user %s; clients handed over: %s", member.account_id,
             member.user.email, member.user_id, member.role, by.id,
             ", ".join(f"{h.client_id} -> {h.successor_id}" for h in handed) or "none")
    db.session.delete(member)
    return handed
