"""Accounts, people and invitations: the operations behind sign-up, team and client people pages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app, session
from sqlalchemy import select

from .extensions import db
from .models import (
    ACCOUNT_ROLES,
    CLIENT_ROLES,
    Account,
    AccountMember,
    Client,
    ClientConsultant,
    ClientMember,
    Invitation,
    User,
)
from .security import hash_password, new_token, password_problem, token_hash


class AccountError(ValueError):
    """A request that cannot be carried out, with a message for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, name: str, password: str) -> User:
    email = normalise_email(email)
    if user_by_email(email):
        raise AccountError("An account with this email already exists. Log in or reset your password.", "email")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem, "password")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(user)
    return user


def sign_up(consultancy: str, name: str, email: str, password: str) -> User:
    """A new consultancy with its owner; committed by the caller."""
    if not consultancy.strip():
        raise AccountError("Enter your consultancy's name.", "consultancy")
    user = create_user(email, name, password)
    account = Account(name=consultancy.strip())
    db.session.add(account)
    db.session.add(AccountMember(account=account, user=user, role="owner"))
    return user


# --- who belongs where -------------------------------------------------------------------------

def account_role(user, account_id: int) -> str | None:
    return db.session.scalar(
        select(AccountMember.role).where(AccountMember.user_id == user.id, AccountMember.account_id == account_id)
    )


def user_accounts(user) -> list[tuple[Account, str]]:
    rows = db.session.execute(
        select(Account, AccountMember.role)
        .join(AccountMember, AccountMember.account_id == Account.id)
        .where(AccountMember.user_id == user.id)
        .order_by(Account.name)
    ).all()
    return [(a, r) for a, r in rows]


def current_account() -> tuple[Account, str] | None:
    """The consultancy the user is working in (chosen in the switcher, else their first)."""
    from flask_login import current_user

    accounts = user_accounts(current_user)
    if not accounts:
        return None
    wanted = session.get("account_id")
    for account, role in accounts:
        if account.id == wanted:
            return account, role
    return accounts[0]


def client_role(user, client: Client) -> str | None:
    """The user's role for this client, or None: consultancy owner, assigned consultant, or client member."""
    role = account_role(user, client.account_id)
    if role == "owner":
        return "owner"
    if role == "consultant":
        assigned = db.session.scalar(
            select(ClientConsultant.user_id).where(
                ClientConsultant.client_id == client.id, ClientConsultant.user_id == user.id
            )
        )
        if assigned:
            return "consultant"
    return db.session.scalar(
        select(ClientMember.role).where(ClientMember.client_id == client.id, ClientMember.user_id == user.id)
    )


def visible_clients_query(user, account_id: int | None = None):
    """Clients this user may open: all of an owned account, assigned ones, or their own company."""
    owned = select(AccountMember.account_id).where(AccountMember.user_id == user.id, AccountMember.role == "owner")
    assigned = select(ClientConsultant.client_id).where(ClientConsultant.user_id == user.id)
    member_of = select(ClientMember.client_id).where(ClientMember.user_id == user.id)
    q = select(Client).where(
        Client.account_id.in_(owned) | Client.id.in_(assigned) | Client.id.in_(member_of)
    )
    if account_id is not None:
        q = q.where(Client.account_id == account_id)
    return q


def landing_url_for(user) -> str:
    """Consultants land on their portfolio; client staff on their own client."""
    from flask import url_for

    if user_accounts(user):
        return url_for("portfolio.index")
    clients = db.session.scalars(visible_clients_query(user).order_by(Client.name)).all()
    if len(clients) == 1:
        return url_for("workspace.overview", slug=clients[0].slug)
    return url_for("portfolio.index")


# --- invitations -------------------------------------------------------------------------------

@dataclass
class IssuedInvitation:
    invitation: Invitation
    token: str


def invite(inviter: User, account: Account, email: str, role: str, client: Client | None = None) -> IssuedInvitation:
    email = normalise_email(email)
    if "@" not in email or "." not in email.split("@")[-1]:
        raise AccountError("Enter a valid email address.", "email")
    if client is None and role not in ACCOUNT_ROLES:
        raise AccountError("Choose a role.", "role")
    if client is not None and role not in CLIENT_ROLES:
        raise AccountError("Choose a role.", "role")
    existing = user_by_email(email)
    if existing is not None:
        if client is None and account_role(existing, account.id):
            raise AccountError(f"{email} is already a member of {account.name}.", "email")
        if client is not None and db.session.get(ClientMember, (client.id, existing.id)):
            raise AccountError(f"{email} already has access to {client.name}.", "email")
    token, digest = new_token()
    inv = Invitation(
        token_hash=digest,
        email=email,
        account=account,
        client=client,
        role=role,
        invited_by=inviter,
        expires_at=datetime.now(timezone.utc) + timedelta(days=current_app.config["INVITATION_DAYS"]),
    )
    db.session.add(inv)
    return IssuedInvitation(inv, token)


def find_invitation(token: str) -> tuple[Invitation | None, str | None]:
    """The pending invitation for a token, or None and why not."""
    inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token or "")))
    if inv is None:
        return None, "This invitation link is not valid. Ask for a new invitation."
    if inv.accepted_at is not None:
        return None, "This invitation has already been used. Log in instead."
    if inv.expires_at < datetime.now(timezone.utc):
        return None, "This invitation has expired. Ask for a new one."
    return inv, None


def accept_invitation(inv: Invitation, user: User) -> None:
    """Grant what the invitation grants to `user` and use it up."""
    if inv.client_id is None:
        if not account_role(user, inv.account_id):
            db.session.add(AccountMember(account_id=inv.account_id, user_id=user.id, role=inv.role))
    elif not db.session.get(ClientMember, (inv.client_id, user.id)):
        db.session.add(ClientMember(client_id=inv.client_id, user_id=user.id, role=inv.role))
    inv.accepted_at = datetime.now(timezone.utc)


def invite_and_notify(inviter: User, account: Account, email: str, role: str,
                      client: Client | None = None) -> Invitation:
    """Issue an invitation, commit it, then mail its link; AccountError (nothing saved) if it can't be issued."""
    try:
        issued = invite(inviter, account, email, role, client=client)
        db.session.commit()
    except AccountError:
        db.session.rollback()
        raise
    send_invitation(issued, inviter)
    return issued.invitation


def send_invitation(issued: IssuedInvitation, inviter: User) -> None:
    """Mail the single-use link; called after the invitation is committed."""
    from flask import url_for

    from .mail import send_mail
    from .models import ROLE_LABELS

    inv = issued.invitation
    where = inv.client.name if inv.client is not None else inv.account.name
    link = url_for("auth.invitation", token=issued.token, _external=True)
    send_mail(
        inv.email,
        f"{inviter.name} invited you to {where} on ISOpath",
        f"Hello,\n\n{inviter.name} invited you to {where} on ISOpath as {ROLE_LABELS[inv.role]}.\n\n"
        f"Accept the invitation and set your password here. The link works once and expires in "
        f"{current_app.config['INVITATION_DAYS']} days:\n\n{link}\n",
    )
