"""Demo: one client certified about four months ago, in the first surveillance year of its cycle, with the
preparation tasks for surveillance audit 1 generated. Safe to run again (a client already certified is left
as it is). Called from app/demo.py once its clients exist."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

import tenants

from . import clock
from .extensions import db
from .models import AccountMember, Client, ClientConsultant, ClientSummary, User
from .workspace import operations as ops

DECIDED_DAYS_AGO = 122  # about four months: surveillance 1 is some eight months ahead
STAGE_2_BEFORE_DECISION = 16
DEMO_BODY = "BSI"


def _at(day) -> datetime:
    return datetime.combine(day, time(10), timezone.utc)


def _consultant(client: Client) -> User | None:
    uid = db.session.scalar(select(ClientConsultant.user_id).where(ClientConsultant.client_id == client.id)
                            .order_by(ClientConsultant.user_id)) or db.session.scalar(
        select(AccountMember.user_id).where(AccountMember.account_id == client.account_id,
                                            AccountMember.role == "owner").order_by(AccountMember.user_id))
    return db.session.get(User, uid) if uid else None


def seed_certified_client(account_id: int) -> bool:
    """The account's first client at the certification audit stage, certified; True if anything was made."""
    candidates = db.session.scalars(
        select(Client).join(ClientSummary, ClientSummary.client_id == Client.id)
        .where(Client.account_id == account_id, Client.status == "active",
               ClientSummary.stage == "certification_audit").order_by(Client.id)).all()
    for client in candidates:
        with tenants.tenant_scope(db.session, client.schema_name):
            if ops.settings().certification_decision == "certified":
                return False  # seeded already
            consultant = _consultant(client)
            if consultant is None:
                continue
            as_consultant = ops.Actor.of(consultant)
            decided = clock.today() - timedelta(days=DECIDED_DAYS_AGO)
            if ops.settings().start_on and decided < ops.settings().start_on:
                continue  # a client started too recently to have been certified four months ago
            stage_2 = decided - timedelta(days=STAGE_2_BEFORE_DECISION)
            with clock.frozen_at(_at(stage_2)):
                ops.save_application(ops.ApplicationForm(body=DEMO_BODY, accreditation="UKAS 0003",
                                                         sector="IAF 33, information technology", headcount="42",
                                                         sites="1"), as_consultant)
                ops.save_audit("stage_2", ops.AuditForm(held_on=stage_2.isoformat(), result="minor",
                                                        reference="S2-2026-114"), as_consultant)
            with clock.frozen_at(_at(decided)):
                ops.record_certification_decision("certified", DEMO_BODY, decided, as_consultant)
                ops.save_certificate("ISO-9001-2026-0412", "", decided.isoformat(), "", as_consultant)
            ops.generate_preparation(as_consultant)
            ops.save(client)
            return True
    return False
