"""Who may do what: every role set, the membership look-ups behind them, and the role decorators.

Kept low in the import graph (models and the session only) so that every
blueprint, the tenancy resolver and, later, billing's entitlements can use it
without pulling in views.

Roles per client: a consultancy's `owner` (every client of the account), an
assigned `consultant`, and the client's own `top_management` (approves the
policy, objectives, scope and management review outputs), `client_admin`,
`staff` and read-only `auditor`.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, has_request_context, request, session
from flask_login import current_user, login_required
from sqlalchemy import and_, case, exists, select

from .extensions import db
from .models import Account, AccountMember, Client, ClientConsultant, ClientMember
from .subscriptions import read_only_reason

ACCOUNT_ROLES = ("owner", "consultant")
CLIENT_ROLES = ("top_management", "client_admin", "staff", "auditor")
ROLE_LABELS = {
    "owner": "Owner",
    "consultant": "Consultant",
    "top_management": "Top management",
    "client_admin": "Client admin",
    "staff": "Staff",
    "auditor": "Auditor (read-only)",
}

# Within one client's workspace (the role `client_role_column` reads):
CONSULTANT_ROLES = ACCOUNT_ROLES  # approve gates, raise findings, shift the plan
WRITER_ROLES = (*CONSULTANT_ROLES, "top_management", "client_admin", "staff")  # everyone but the read-only auditor
# invite people, approve documents (those their approver role allows), request gate reviews
CLIENT_MANAGERS = (*CONSULTANT_ROLES, "top_management", "client_admin")
CERTIFICATION_ROLES = CLIENT_MANAGERS  # the certification body's data, its audits and the certificate
CLIENT_SETTINGS_ROLES = CONSULTANT_ROLES  # rename, assign consultants, change the plan's dates, archive
# Who may approve a document version, by the register's approver role (workflows/documents.py): the policy,
# objectives, scope and management review outputs by the client's top management alone, never the consultant.
DOCUMENT_APPROVERS = {
    "top_management": ("top_management",),
    "client_admin": ("top_management", "client_admin"),
    "consultant": CLIENT_MANAGERS,
}
# Staff confirm they have read a version that needs acknowledging (everyone of the client's own but the auditor).
ACKNOWLEDGERS = ("top_management", "client_admin", "staff")
# The gap analysis is rated by the consultant with the client's admin, who knows how the firm works; staff and
# the auditor read it. A finding from a gap is raised as any finding is (CONSULTANT_ROLES); a task from a gap
# by whoever may rate.
GAP_ANALYSTS = CLIENT_MANAGERS
# Nonconformity and corrective action (8.7, 10.2): anyone working on the client raises a finding, the auditor too
# (audits find them); everyone but the auditor records the reaction, the evaluation and the actions, carries
# them out and verifies another person's action; consultants close and reopen findings and decide an overdue
# minor's escalation; the certification body's answers are recorded by those who hold the certification data.
FINDING_RAISERS = (*WRITER_ROLES, "auditor")
FINDING_WORKERS = WRITER_ROLES
FINDING_CLOSERS = CONSULTANT_ROLES
FINDING_CB_ROLES = CERTIFICATION_ROLES
# The internal audit (9.2): the programme, its processes and the audits are planned by the consultant with the
# client's management; the checklist is rated and the report written by anyone working on the client but the
# read-only auditor (the impartiality rules then decide who may audit what); a finding from a checklist line is
# raised as any finding is.
AUDIT_PLANNERS = CLIENT_MANAGERS
INTERNAL_AUDITORS = WRITER_ROLES


def may_request_gate_review(role: str | None, staff_allowed: bool) -> bool:
    """Client managers request gate reviews; the client's staff too when a consultant has let them
    (the client's `staff_may_request_reviews` setting)."""
    return role in CLIENT_MANAGERS or (staff_allowed and role == "staff")


# Within a consultancy (the role `current_account` returns):
ACCOUNT_MEMBERS = ACCOUNT_ROLES  # the portfolio, the template library, the team page
ACCOUNT_OWNERS = ("owner",)  # invite consultants and owners
# Edit the consultancy's KPI library (change, add, archive definitions): the people who set clients' KPIs up.
KPI_LIBRARY_EDITORS = ACCOUNT_ROLES


# --- who belongs where ---------------------------------------------------------------------

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


def my_accounts() -> list[tuple[Account, str]]:
    """The logged-in user's consultancies, read once per request (the switcher, the portfolio and the My work
    count all ask). Kept in the request's WSGI environ, which is the request's own: never carried over."""
    environ = request.environ if has_request_context() else {}
    held = environ.get("isopath.accounts")
    if held is None or held[0] != current_user.get_id():
        held = environ["isopath.accounts"] = (current_user.get_id(), user_accounts(current_user))
    return held[1]


def current_account() -> tuple[Account, str] | None:
    """The consultancy the user is working in (chosen in the switcher, else their first)."""
    accounts = my_accounts()
    if not accounts:
        return None
    wanted = session.get("account_id")
    for account, role in accounts:
        if account.id == wanted:
            return account, role
    return accounts[0]


def client_role_column(user):
    """The user's role for the client of the enclosing query, as one SQL expression (None: no access).

    Consultancy owner, assigned consultant, or the client's own member role, in that order. One expression,
    so that the request that opens a client reads the client and the user's role in the same query.
    """
    account_role_ = (select(AccountMember.role)
                     .where(AccountMember.user_id == user.id, AccountMember.account_id == Client.account_id)
                     .scalar_subquery())
    assigned = exists().where(ClientConsultant.client_id == Client.id, ClientConsultant.user_id == user.id)
    member_role = (select(ClientMember.role)
                   .where(ClientMember.client_id == Client.id, ClientMember.user_id == user.id)
                   .scalar_subquery())
    return case((account_role_ == "owner", "owner"),
                (and_(account_role_ == "consultant", assigned), "consultant"),
                else_=member_role)


def client_role(user, client: Client) -> str | None:
    """The user's role for this client as stored now, or None."""
    return db.session.scalar(select(client_role_column(user)).where(Client.id == client.id))


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


def may_change(*roles) -> bool:
    """Whether the user may make, in the client of this request, the changes `roles` may make: never while the
    client is archived, when its workspace is read-only (the workspace blueprint refuses the POSTs; pages ask
    this to leave their forms out)."""
    client = g.get("client")
    return (client is not None and client.archived_at is None and g.get("client_role") in roles
            and consultancy_read_only(client.account_id) is None)


def consultancy_read_only(account_id: int) -> str | None:
    """Why nothing of the consultancy's clients may change now (its subscription ended or is overdue past
    its grace), or None. Reading and export go on; nothing is deleted."""
    return read_only_reason(account_id)


# --- decorators ----------------------------------------------------------------------------

def requires(*roles):
    """Restrict a client view to some roles; members without them get 403 (they can see the client)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("client_role") not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def account_required(*roles):
    """Views of the current consultancy, limited to some account roles; sets g.account and g.account_role."""

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
