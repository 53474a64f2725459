"""Accounts, people and invitations: the operations behind sign-up, team and client people pages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import workflows.billing as wb

from . import clock
from .extensions import db
from .mail import queue_mail
from .models import Account, AccountMember, Client, ClientMember, Invitation, User
from .permissions import ACCOUNT_ROLES, CLIENT_ROLES, ROLE_LABELS, account_role, user_accounts, visible_clients_query
from .refusal import Refusal
from .security import hash_password, new_token, password_problem, token_hash
from .text import moment_text
from .transaction import after_commit


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, name: str, password: str) -> User:
    email = normalise_email(email)
    if user_by_email(email):
        raise Refusal("An account with this email already exists. Log in or reset your password.", field="email")
    problem = password_problem(password, email)
    if problem:
        raise Refusal(problem, field="password")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(user)
    return user


def sign_up(consultancy: str, name: str, email: str, password: str) -> User:
    """A new consultancy with its owner; committed by the caller."""
    if not consultancy.strip():
        raise Refusal("Enter your consultancy's name.", field="consultancy")
    user = create_user(email, name, password)
    # The free trial (Practice limits, no card) starts now; app/subscriptions.py reads it when billing is on.
    account = Account(name=consultancy.strip(), trial_ends_at=wb.trial_end_for(clock.now()))
    db.session.add(account)
    db.session.add(AccountMember(account=account, user=user, role="owner"))
    return user


def landing_url_for(user) -> str:
    """Consultants land on their portfolio; client staff on their own client."""
    if user_accounts(user):
        return url_for("portfolio.index")
    clients = db.session.scalars(visible_clients_query(user).order_by(Client.name)).all()
    if len(clients) == 1:
        return url_for("workspace.overview", slug=clients[0].slug)
    return url_for("portfolio.index")


def mailed_link(endpoint: str, **values) -> str:
    """An absolute link for a mail, on BASE_URL: never on the Host header of whoever asked for the mail."""
    return mailed_links()(endpoint, **values)


def mailed_links():
    """`mailed_link` for many links: the URL map bound to BASE_URL once (a reminder sweep builds thousands)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)

    def build(endpoint: str, **values) -> str:
        current_app.inject_url_defaults(endpoint, values)
        return adapter.build(endpoint, values, force_external=True)
    return build


# --- invitations -------------------------------------------------------------------------------

@dataclass
class IssuedInvitation:
    invitation: Invitation
    token: str
    resent: bool = False  # an invitation already pending for this address was renewed instead of added


def _pending_invitation(account_id: int, client_id: int | None, email: str) -> Invitation | None:
    """The one not-yet-accepted invitation of this address to this client (or to the team), expired or not."""
    where = Invitation.client_id.is_(None) if client_id is None else Invitation.client_id == client_id
    return db.session.scalar(select(Invitation).where(Invitation.account_id == account_id, where,
                                                      Invitation.email == email, Invitation.accepted_at.is_(None)))


def _renew(inv: Invitation, inviter: User, role: str) -> IssuedInvitation:
    """A new token and a new expiry: the link mailed before stops working."""
    token, digest = new_token()
    inv.token_hash, inv.role, inv.invited_by = digest, role, inviter
    inv.created_at = clock.now()
    inv.expires_at = clock.now() + timedelta(days=current_app.config["INVITATION_DAYS"])
    return IssuedInvitation(inv, token, resent=True)


def invite(inviter: User, account: Account, email: str, role: str, client: Client | None = None) -> IssuedInvitation:
    """Invite an address, or renew the invitation already pending for it (one row per address and place)."""
    email = normalise_email(email)
    if "@" not in email or "." not in email.split("@")[-1]:
        raise Refusal("Enter a valid email address.", field="email")
    if role not in (ACCOUNT_ROLES if client is None else CLIENT_ROLES):
        raise Refusal("Choose one of the roles in the list.", field="role")
    existing = user_by_email(email)
    if existing is not None:
        if client is None and account_role(existing, account.id):
            raise Refusal(f"{email} is already a member of {account.name}.", field="email")
        if client is not None and db.session.get(ClientMember, (client.id, existing.id)):
            raise Refusal(f"{email} already has access to {client.name}.", field="email")
    client_id = client.id if client is not None else None
    pending = _pending_invitation(account.id, client_id, email)
    if pending is not None:
        return _renew(pending, inviter, role)
    token, digest = new_token()
    inv = Invitation(token_hash=digest, email=email, account=account, client=client, role=role, invited_by=inviter,
                     created_at=clock.now(),
                     expires_at=clock.now() + timedelta(days=current_app.config["INVITATION_DAYS"]))
    try:
        with db.session.begin_nested():  # two invitations of one address at once: the second renews the first
            db.session.add(inv)
    except IntegrityError:
        pending = _pending_invitation(account.id, client_id, email)
        if pending is None:
            raise
        return _renew(pending, inviter, role)
    return IssuedInvitation(inv, token)


def find_invitation(token: str) -> tuple[Invitation | None, str | None]:
    """The pending invitation for a token, or None and why not."""
    inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token or "")))
    if inv is None:
        return None, "This invitation link is not valid. Ask for a new invitation."
    if inv.accepted_at is not None:
        return None, "This invitation has already been used. Log in instead."
    if inv.expires_at < clock.now():
        return None, "This invitation has expired. Ask for a new one."
    return inv, None


def accept_invitation(inv: Invitation, user: User) -> None:
    """Grant what the invitation grants to `user` and use it up."""
    if inv.client_id is None:
        if not account_role(user, inv.account_id):
            db.session.add(AccountMember(account_id=inv.account_id, user_id=user.id, role=inv.role))
    elif not db.session.get(ClientMember, (inv.client_id, user.id)):
        db.session.add(ClientMember(client_id=inv.client_id, user_id=user.id, role=inv.role))
    inv.accepted_at = clock.now()


def _notify(issued: IssuedInvitation, inviter: User, where: str) -> None:
    inv = issued.invitation
    link = mailed_link("auth.invitation", token=issued.token)
    # Plain values now: after the commit the session can no longer load anything.
    after_commit(
        queue_mail,
        inv.email,
        f"{inviter.name} invited you to {where} on ISOpath",
        f"Hello,\n\n{inviter.name} invited you to {where} on ISOpath as {ROLE_LABELS[inv.role]}.\n\n"
        f"Accept the invitation and set your password here. The link works once and until "
        f"{moment_text(inv.expires_at)}:\n\n{link}\n",
    )


def invite_and_notify(inviter: User, account: Account, email: str, role: str,
                      client: Client | None = None) -> IssuedInvitation:
    """Issue (or renew) an invitation whose link is mailed once the caller commits; Refusal if it can't be."""
    issued = invite(inviter, account, email, role, client=client)
    _notify(issued, inviter, client.name if client is not None else account.name)
    return issued


def resend_invitation(inv: Invitation, inviter: User) -> IssuedInvitation:
    """A fresh link with a fresh expiry, mailed after the commit; the old link stops working."""
    if inv.accepted_at is not None:
        raise Refusal(f"{inv.email} has already accepted this invitation.", 409)
    issued = _renew(inv, inviter, inv.role)
    _notify(issued, inviter, inv.client.name if inv.client is not None else inv.account.name)
    return issued


def revoke_invitation(inv: Invitation) -> None:
    """The invitation is gone: its link says "not valid"."""
    if inv.accepted_at is not None:
        raise Refusal(f"{inv.email} has already accepted this invitation; remove them instead.", 409)
    db.session.delete(inv)


def pending_invitations(account_id: int, client_id: int | None) -> list[Invitation]:
    """Invitations not accepted yet (the expired ones too, to resend), newest first."""
    where = Invitation.client_id.is_(None) if client_id is None else Invitation.client_id == client_id
    return list(db.session.scalars(select(Invitation).where(Invitation.account_id == account_id, where,
                                                            Invitation.accepted_at.is_(None))
                                   .order_by(Invitation.created_at.desc(), Invitation.id.desc())))
