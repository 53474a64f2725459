"""Demo: the client its replayed history certified (app/demo_history.py) gets the preparation tasks for its
first surveillance audit, as a consultant would generate them the week after the decision. Safe to run again
(generating twice creates nothing new). Called from app/demo.py once its clients exist."""
from __future__ import annotations

from sqlalchemy import select

import tenants

from .extensions import db
from .models import AccountMember, Client, ClientConsultant, ClientSummary, User
from .workspace import operations as ops


def _consultant(client: Client) -> User | None:
    uid = db.session.scalar(select(ClientConsultant.user_id).where(ClientConsultant.client_id == client.id)
                            .order_by(ClientConsultant.user_id)) or db.session.scalar(
        select(AccountMember.user_id).where(AccountMember.account_id == client.account_id,
                                            AccountMember.role == "owner").order_by(AccountMember.user_id))
    return db.session.get(User, uid) if uid else None


def seed_certified_client(account_id: int) -> bool:
    """The preparation tasks of the account's certified client(s); True if any were made."""
    candidates = db.session.scalars(
        select(Client).join(ClientSummary, ClientSummary.client_id == Client.id)
        .where(Client.account_id == account_id, Client.status == "active",
               ClientSummary.stage == "certification_audit").order_by(Client.id)).all()
    made = False
    for client in candidates:
        with tenants.tenant_scope(db.session, client.schema_name):
            consultant = _consultant(client)
            if consultant is None or ops.settings().certification_decision != "certified":
                continue
            made |= bool(ops.generate_preparation(ops.Actor.of(consultant)).created)
            ops.save(client)
    return made
