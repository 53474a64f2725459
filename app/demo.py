"""Demo data: two consultancies with clients at every stage. Safe to run again."""
from __future__ import annotations

import functools
import random
import zlib
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

import tenants
from workflows.stages import STAGE_KEYS

from . import clock
from .clients import create_client
from .demo_audits import seed_internal_audits
from .demo_cycle import seed_certified_client
from .demo_history import DemoClient, plan_days, replay
from .demo_kpis import seed_kpis
from .demo_records import keep_records
from .demo_reviews import seed_review
from .demo_sectors import PROFILES
from .extensions import db
from .models import Account, AccountMember, Client, ClientMember, Task, User
from .security import hash_password
from .workspace import operations as ops

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


@functools.cache
def _demo_hash() -> str:
    """One hash of the shared demo password for every demo login (a hash costs most of a second on purpose)."""
    return hash_password(DEMO_PASSWORD)


def _user(email: str, name: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, password_hash=_demo_hash())
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


def _people(client: Client, i: int) -> tuple[User, User, User]:
    """Two or three client users: top management, the quality lead (client admin) and, where the README's
    staff@ login is plain staff, that staff member beside the lead."""
    director_name, lead_name, staff_name = PROFILES[client.slug]["people"]
    staff_is_admin = i % 2 == 0
    staff = _user(f"staff@{client.slug}.example", lead_name if staff_is_admin else staff_name)
    director = _user(f"director@{client.slug}.example", director_name)
    members = [(staff, "client_admin" if staff_is_admin else "staff"), (director, "top_management")]
    lead = staff if staff_is_admin else _user(f"quality@{client.slug}.example", lead_name)
    if not staff_is_admin:
        members.append((lead, "client_admin"))
    for user, role in members:
        db.session.add(ClientMember(client_id=client.id, user_id=user.id, role=role))
    db.session.commit()
    return director, lead, staff


def _clients(account_id: int, entries, consultant_ids: list[int]) -> bool:
    created = False
    for i, (name, slug) in enumerate(entries):
        client = db.session.scalar(select(Client).where(Client.slug == slug))
        if client is not None:
            continue
        # Every sixth client has no consultant assigned: only the owner sees it.
        assigned = [db.session.get(User, uid) for uid in consultant_ids] if i % 6 != 5 else []
        stage_index = i % len(STAGE_KEYS)
        rng = random.Random(zlib.crc32(slug.encode()))
        start, took = plan_days(stage_index, rng, clock.today())
        with clock.frozen_at(datetime.combine(start, time(9), timezone.utc)):
            client = create_client(db.session.get(Account, account_id), name, slug, consultants=assigned,
                                   start_on=start, target_on=start + timedelta(days=300))
        client.time_zone = PROFILES[slug]["tz"]
        director, lead, staff = _people(client, i)
        consultant = db.session.get(User, consultant_ids[0] if assigned else _owner_id(account_id))
        demo_client = DemoClient(client, STAGE_KEYS[stage_index], False, director, lead, staff, consultant, rng,
                                 PROFILES[slug]["tz"])
        seed = zlib.crc32(slug.encode())
        # The consultancy's owner audits a client its consultant worked for (unassigned clients: nobody else).
        independent = db.session.get(User, _owner_id(account_id)) if assigned else None

        def internal_audit_evidence(key, staff=staff, director=director, consultant=consultant, seed=seed,
                                    independent=independent):
            # Template v3's internal-audit gate reads the audits and the management review: held before it passes.
            if key == "internal_audit":
                seed_internal_audits(STAGE_KEYS.index(key), staff, director.id, consultant, seed, independent)
                seed_review(staff.id, director.id, consultant.id)

        with tenants.tenant_scope(db.session, client.schema_name):
            _assign(demo_client)
            replay(demo_client, start, took, stage_index, before_gate=internal_audit_evidence)
            seed_kpis(i, staff.id, ops.Actor.of(consultant), ops.Actor.of(staff), seed=seed)
            # Further demo content for this client goes here, one line each: its history is replayed and
            # `demo_client` says its stage (.stage), whether it is certified, its people and time zone.
            seed_internal_audits(stage_index, staff, director.id, consultant, seed, independent)
            if stage_index >= STAGE_KEYS.index("internal_audit"):
                seed_review(staff.id, director.id, consultant.id)
            keep_records(STAGE_KEYS[stage_index], lead.id)
            ops.save(db.session.get(Client, client.id))
        created = True
    return created


def _assign(dc: DemoClient) -> None:
    for task in db.session.scalars(select(Task).order_by(Task.position)):
        task.assignee_id = {"consultant": dc.consultant.id, "client_admin": dc.lead.id}.get(task.role, dc.staff.id)


def _owner_id(account_id: int) -> int:
    return db.session.scalar(select(AccountMember.user_id).where(AccountMember.account_id == account_id,
                                                                AccountMember.role == "owner"))


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
    created |= seed_certified_client(ids[0])  # app/demo_cycle.py: one client in its first surveillance year
    return created
