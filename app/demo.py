"""Demo data: two consultancies with clients at every stage. Safe to run again."""
from __future__ import annotations

import random
import zlib
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

import tenants
from workflows.stages import STAGE_KEYS

from . import clock
from .clients import create_client
from .demo_audits import seed_internal_audits
from .demo_kpis import seed_kpis
from .extensions import db
from .models import Account, AccountMember, Client, ClientMember, Document, Finding, Stage, Task, User
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


# Gap-analysis findings every demo client starts with: (severity, clause, title).
DEMO_FINDINGS = [
    ("major", "9.2", "No internal audits have ever been carried out"),
    ("major", "7.5.3", "Project files are versioned by hand (“Final_v3”); no control of documented information"),
    ("minor", "8.4.1", "Freelancers are hired without any recorded evaluation"),
    ("minor", "7.1.6", "How to run key client accounts is known only to one account manager"),
    ("observation", "9.1.2", "Client feedback is collected informally by e-mail, not analysed"),
]


def _moment(day: date, rng: random.Random, jitter: tuple[int, int] = (0, 0)) -> datetime:
    """A working-hours time on `day` (± jitter days), never in the future."""
    when = datetime.combine(day + timedelta(days=rng.randint(*jitter)), time(rng.randint(8, 17), rng.randint(0, 59)),
                            timezone.utc)
    return min(when, clock.now() - timedelta(hours=rng.randint(1, 20)))


def _remedy(finding: Finding, staff: User, as_staff: ops.Actor, as_consultant: ops.Actor) -> None:
    """A finding dealt with as the closing rule asks: for a nonconformity the cause, an action the client's staff
    carry out and the consultant verifies, the evidence; an observation closes on the consultant's decision."""
    if finding.severity in ("major", "minor"):
        ops.update_record(finding, ops.RecordForm(
            cause_method="category", cause_category="method", action_needed="yes",
            action_needed_reason="Systemic: every engagement is affected.",
            root_cause="No procedure said who does it, or when.",
            closure_evidence="Records of the last three months checked: all complete."), as_staff)
        action = ops.add_action(finding, "Write the procedure and train the team on it", staff,
                                clock.today().isoformat(), as_staff)
        ops.complete_action(finding, action, as_staff)
        ops.verify_action(finding, action, clock.today().isoformat(), "Sample the last ten engagements",
                          "All ten follow the procedure", "effective", "Ten of ten followed it.", as_consultant)
        ops.close_finding(finding, "Corrective action taken and checked.", as_consultant)
    else:
        ops.close_finding(finding, "Decided: watched at the next internal audit; no action needed now.", as_consultant)


def _simulate_progress(client: Client, stage_index: int, staff_id: int, consultant_id: int | None, seed: int,
                       director_id: int | None = None) -> None:
    """Realistic history for a client at `stage_index`, replayed on the plan's dates: earlier gates
    passed with their work done, the current stage part-way, a few tasks late, findings raised and closed."""
    rng = random.Random(seed)
    staff = db.session.get(User, staff_id)
    consultant = db.session.get(User, consultant_id) if consultant_id else None
    as_staff, as_consultant = ops.Actor.of(staff), ops.Actor.of(consultant)
    as_director = ops.Actor.of(db.session.get(User, director_id)) if director_id else as_consultant

    def approve(doc: Document) -> None:
        """Approved by the right role: top management for its own documents, else the consultant."""
        if doc.approver_role == "top_management":
            ops.set_document_status(doc, "approved", as_director, "top_management")
        else:
            ops.set_document_status(doc, "approved", as_consultant, "consultant")

    with tenants.tenant_scope(db.session, client.schema_name):
        stages = {st.key: st for st in db.session.scalars(select(Stage))}
        start = stages["initial_audit"].planned_start.date()
        with clock.frozen_at(_moment(start + timedelta(days=9), rng)):
            for severity, clause, title in DEMO_FINDINGS:
                ops.raise_finding("initial_audit", severity, title, clause, "", as_consultant, source="gap_analysis",
                                  kind="observation" if severity == "observation" else "system_nonconformity",
                                  grade=None if severity == "observation" else severity)
        for task in db.session.scalars(select(Task).order_by(Task.position)):
            task.assignee_id = staff_id if task.role in ("staff", "client_admin") else consultant_id
        for key in STAGE_KEYS[:stage_index]:
            gate_day = stages[key].planned_end.date() + timedelta(days=rng.randint(-2, 8))
            for task in db.session.scalars(select(Task).where(Task.stage == key).order_by(Task.position)):
                with clock.frozen_at(_moment(task.due_on, rng, (-4, 3))):
                    if not task.required and rng.random() < 0.3:
                        ops.set_task_status(task, "not_applicable", "Not relevant for this company's services", as_staff)
                    else:
                        ops.set_task_status(task, "done", None, as_staff if task.role != "consultant" else as_consultant)
            with clock.frozen_at(_moment(gate_day, rng, (-3, -1))):
                for doc in db.session.scalars(select(Document).where(Document.stage == key)):
                    approve(doc)
                closing = {"system_design": ("major", "minor"), "implementation": ("major", "minor", "observation")}
                for finding in db.session.scalars(select(Finding).where(Finding.status == "open",
                                                                        Finding.severity.in_(closing.get(key, ())))):
                    _remedy(finding, staff, as_staff, as_consultant)
            with clock.frozen_at(_moment(gate_day, rng)):
                ops.approve_gate(key, "Checked with the client; evidence is in place.", as_consultant)
        current = STAGE_KEYS[stage_index]
        tasks = db.session.scalars(select(Task).where(Task.stage == current).order_by(Task.position)).all()
        share = rng.choice([0.25, 0.4, 0.6, 1.0])
        today = clock.today()
        for i, task in enumerate(tasks):
            if i < int(len(tasks) * share):
                with clock.frozen_at(_moment(min(task.due_on, today), rng, (-5, 0))):
                    ops.set_task_status(task, "done", None, as_staff)
            elif i == int(len(tasks) * share):
                with clock.frozen_at(_moment(today, rng, (-3, 0))):
                    ops.set_task_status(task, "in_progress", None, as_staff)
        if share == 1.0:
            with clock.frozen_at(_moment(today, rng, (-2, -1))):
                for doc in db.session.scalars(select(Document).where(Document.stage == current)):
                    approve(doc)
                if current in ("implementation", "internal_audit", "certification_audit"):
                    for finding in db.session.scalars(select(Finding).where(Finding.status == "open")):
                        _remedy(finding, staff, as_staff, as_consultant)
            if current != "certification_audit":
                with clock.frozen_at(_moment(today, rng, (-1, 0))):
                    ops.request_gate_review(current, "Everything for this stage is uploaded.", as_staff)
        if current == "certification_audit":
            _stage_2_minor(staff, as_staff, as_consultant)
        seed_internal_audits(stage_index, staff, director_id, consultant, seed)  # at or past the internal audit
        seed_kpis(seed, staff_id, as_consultant, as_staff, seed=zlib.crc32(client.slug.encode()))
        ops.save(db.session.get(Client, client.id))


def _stage_2_minor(staff: User, as_staff: ops.Actor, as_consultant: ops.Actor) -> None:
    """Stage 2 held twelve days ago with one minor from the certification body: its plan submitted and accepted,
    the action under way, the body's 30-day response window counting down on the finding."""
    today = clock.today()
    with clock.frozen_at(_moment(today - timedelta(days=12), random.Random(2))):
        ops.save_audit("stage_2", ops.AuditForm(held_on=(today - timedelta(days=12)).isoformat(), result="minor",
                                                reference="S2-2026-114"), as_consultant)
        finding = ops.raise_finding(
            "certification_audit", "", "Customer feedback is not analysed for trends", "9.1.2", "", as_consultant,
            source="cb_stage_2", kind="system_nonconformity", grade="minor", process="Customer service",
            requirement="The organisation analyses and evaluates customer satisfaction (9.1.2, 9.1.3)",
            evidence="Survey results for 2026 filed but not reviewed; no trend shown at the management review",
            statement="Customer satisfaction data is collected but not analysed", cb_reference="S2-2026-114/NC1")
    with clock.frozen_at(_moment(today - timedelta(days=6), random.Random(3))):
        ops.update_record(finding, ops.RecordForm(
            correction="Last two quarters analysed and presented", correction_by=staff.name, action_needed="yes",
            action_needed_reason="Systemic: nobody owns the analysis", cause_method="five_whys",
            root_cause="Why not analysed? Nobody asked for it.\nWhy? The KPI owner was never named."),
            as_staff)
        ops.add_action(finding, "Name the KPI owner and add the quarterly trend to the management review", staff,
                       (today + timedelta(days=40)).isoformat(), as_staff)
    with clock.frozen_at(_moment(today - timedelta(days=2), random.Random(4))):
        ops.save_cb_response(finding, "S2-2026-114/NC1", (today - timedelta(days=6)).isoformat(),
                             (today - timedelta(days=2)).isoformat(), "document_review", as_consultant)


def _clients(account_id: int, entries, consultant_ids: list[int]) -> bool:
    created = False
    for i, (name, slug) in enumerate(entries):
        client = db.session.scalar(select(Client).where(Client.slug == slug))
        if client is not None:
            continue
        # Every sixth client has no consultant assigned: only the owner sees it.
        assigned = [db.session.get(User, uid) for uid in consultant_ids] if i % 6 != 5 else []
        stage_index = i % len(STAGE_KEYS)
        # Started long enough ago to have reached its stage; some work is now late.
        start = clock.today() - timedelta(days=45 * stage_index + 20)
        with clock.frozen_at(datetime.combine(start, time(9), timezone.utc)):
            client = create_client(db.session.get(Account, account_id), name, slug, consultants=assigned,
                                   start_on=start, target_on=start + timedelta(days=270))
        staff = _user(f"staff@{slug}.example", f"{name.split()[0]} Staff")
        db.session.add(ClientMember(client_id=client.id, user_id=staff.id,
                                    role="client_admin" if i % 2 == 0 else "staff"))
        director = _user(f"director@{slug}.example", f"{name.split()[0]} Director")
        db.session.add(ClientMember(client_id=client.id, user_id=director.id, role="top_management"))
        db.session.commit()
        owner_or_consultant = consultant_ids[0] if assigned else _owner_id(account_id)
        _simulate_progress(client, stage_index, staff.id, owner_or_consultant, seed=i, director_id=director.id)
        created = True
    return created


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
    return created
