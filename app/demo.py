"""Demo data: two consultancies with clients at every stage. Safe to run again."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

import tenants
from workflows.stages import STAGE_KEYS

from .clients import create_client
from .extensions import db
from .models import Account, AccountMember, Client, ClientMember, Stage, User
from .security import hash_password

DEMO_PASSWORD = "demo-pass-2026"

NORTHWIND_CLIENTS = [
    ("Acme Logistics", "acme-logistics"),
    ("Brightside Dental", "brightside-dental"),
    ("Cedar Accounting", "cedar-accounting"),
    ("Delta Facilities Services", "delta-facilities"),
    ("Evergreen IT Support", "evergreen-it"),
    ("Fjord Translation Agency", "fjord-translation"),
    ("Granite Engineering Consultants", "granite-engineering"),
    ("Harborview Physiotherapy", "harborview-physio"),
    ("Iris Marketing Studio", "iris-marketing"),
    ("Juniper Cleaning Co", "juniper-cleaning"),
    ("Kestrel Security Services", "kestrel-security"),
    ("Lumen Training Academy", "lumen-training"),
]
HARBOR_CLIENTS = [
    ("Meridian Freight", "meridian-freight"),
    ("Northstar Payroll", "northstar-payroll"),
    ("Oakridge Veterinary", "oakridge-vet"),
]

DEMO_LOGINS = [
    ("owner@northwind.example", "Owner of Northwind Quality Partners"),
    ("consultant@northwind.example", "Consultant at Northwind (assigned clients)"),
    ("staff@acme-logistics.example", "Client staff at Acme Logistics"),
    ("owner@harbor.example", "Owner of Harbor Compliance"),
]


def _user(email: str, name: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
        db.session.flush()
    return user


def _account(name: str, owner: User) -> Account:
    account = db.session.scalar(select(Account).where(Account.name == name))
    if account is None:
        account = Account(name=name, plan="practice")
        db.session.add(account)
        db.session.flush()
        db.session.add(AccountMember(account_id=account.id, user_id=owner.id, role="owner"))
    return account


def _place_at_stage(client: Client, stage_index: int) -> Client:
    """Minimal stage content: earlier stages passed, this one current."""
    now = datetime.now(timezone.utc)
    client_id, schema = client.id, client.schema_name
    with tenants.tenant_scope(db.session, schema):
        for stage in db.session.scalars(select(Stage).order_by(Stage.position)):
            if stage.position < stage_index:
                stage.status = "passed"
                stage.entered_at = now - timedelta(days=40 * (stage_index - stage.position + 1))
                stage.passed_at = now - timedelta(days=40 * (stage_index - stage.position))
            elif stage.position == stage_index:
                stage.status = "current"
                stage.entered_at = now - timedelta(days=20)
            else:
                stage.status, stage.entered_at = "upcoming", None
        db.session.commit()
    client = db.session.get(Client, client_id)
    client.summary.stage = STAGE_KEYS[stage_index]
    client.summary.overall_progress = stage_index * 20 + 5
    client.summary.last_activity_at = now - timedelta(days=stage_index)
    db.session.commit()
    return client


def _clients(account_id: int, entries, consultant_ids: list[int]) -> bool:
    created = False
    for i, (name, slug) in enumerate(entries):
        client = db.session.scalar(select(Client).where(Client.slug == slug))
        if client is None:
            # Every sixth client has no consultant assigned: only the owner sees it.
            assigned = [db.session.get(User, uid) for uid in consultant_ids] if i % 6 != 5 else []
            client = create_client(db.session.get(Account, account_id), name, slug, consultants=assigned)
            client = _place_at_stage(client, i % len(STAGE_KEYS))
            created = True
        staff = _user(f"staff@{slug}.example", f"{name.split()[0]} Staff")
        if db.session.get(ClientMember, (client.id, staff.id)) is None:
            db.session.add(ClientMember(client_id=client.id, user_id=staff.id, role="client_admin" if i % 2 == 0 else "staff"))
            created = True
        db.session.commit()
    return created


def seed_demo() -> bool:
    """Returns True if anything was created."""
    nw_owner = _user("owner@northwind.example", "Nora Whitfield")
    nw_consultant = _user("consultant@northwind.example", "Colin Park")
    northwind = _account("Northwind Quality Partners", nw_owner)
    if db.session.get(AccountMember, (northwind.id, nw_consultant.id)) is None:
        db.session.add(AccountMember(account_id=northwind.id, user_id=nw_consultant.id, role="consultant"))
    hb_owner = _user("owner@harbor.example", "Hana Borg")
    harbor = _account("Harbor Compliance", hb_owner)
    db.session.commit()
    ids = northwind.id, harbor.id, nw_consultant.id
    created = _clients(ids[0], NORTHWIND_CLIENTS, [ids[2]])
    created |= _clients(ids[1], HARBOR_CLIENTS, [])
    return created
