"""The cycle after certification as the client works it: the certification body's response rules as the
consultancy set them, the preparation tasks generated before the next external audit, the three-year calendar,
and the count of stale records for the portfolio. Rules in workflows/cycle.py and workflows/cycle_plan.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from tenants.binding import current_schema
from workflows import cycle as wc
from workflows import cycle_plan as cp
from workflows import nonconformity as nc

from ... import clock
from ...extensions import db
from ...models import CertificationBodyRules, Client, ExternalAudit, Finding, Stage, Task
from ...refusal import Refusal
from .certification import _locked, client_cycle, decided_on, external_audits
from .common import Actor, check_length, log
from .state import current_stage_key, settings
from .tasks import append_task


# --- response rules per certification body (the consultancy's, in the shared schema) ----------------

def rules_of(account_id: int, body: str | None) -> wc.ResponseRules:
    """The body's rules as the consultancy set them, else the defaults."""
    row = db.session.get(CertificationBodyRules, (account_id, wc.body_key(body))) if wc.body_key(body) else None
    if row is None:
        return wc.DEFAULT_RULES
    return wc.ResponseRules(row.major_days, row.minor_days, row.stage_2_repeat_months)


def client_rules() -> wc.ResponseRules:
    """The rules of the bound client's certification body (its name on the certification page)."""
    account_id = db.session.scalar(select(Client.account_id).where(Client.schema_name == current_schema()))
    s = settings()
    return rules_of(account_id, s.certification_body if s else None) if account_id else wc.DEFAULT_RULES


def body_rules(account_id: int) -> list[CertificationBodyRules]:
    return list(db.session.scalars(select(CertificationBodyRules).where(CertificationBodyRules.account_id == account_id)
                                   .order_by(CertificationBodyRules.body_key)))


def save_body_rules(account_id: int, body: str, values: dict[str, str], actor_name: str) -> CertificationBodyRules:
    """Set one body's rules (insert or change, one row per body whatever the spelling of its name)."""
    name = " ".join((body or "").split())
    if not name:
        raise Refusal("Give the certification body's name as it is written on your clients' certification pages.",
                      422, field="body")
    if "\x00" in name:
        raise Refusal("The name contains a character that cannot be stored.", 422, field="body")
    name = check_length(name, CertificationBodyRules.body_name, "body", "The certification body's name")
    try:
        rules = wc.check_rules(values)
    except wc.CycleError as err:
        raise Refusal.of(err, field="rules") from err
    fields = {"body_name": name, "major_days": rules.major_days, "minor_days": rules.minor_days,
              "stage_2_repeat_months": rules.stage_2_repeat_months, "updated_by_name": actor_name,
              "updated_at": clock.now()}
    stmt = insert(CertificationBodyRules).values(account_id=account_id, body_key=wc.body_key(name), **fields)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["account_id", "body_key"], set_=fields))
    return db.session.get(CertificationBodyRules, (account_id, wc.body_key(name)), populate_existing=True)


def delete_body_rules(account_id: int, key: str) -> str:
    row = db.session.get(CertificationBodyRules, (account_id, key), with_for_update=True)
    if row is None:
        raise Refusal("There are no rules for that body (removed already?).", 404)
    name = row.body_name
    db.session.delete(row)
    return name


# --- preparation tasks before the next external audit -------------------------------------------------

@dataclass(frozen=True)
class Generated:
    audit: str
    created: list[Task]
    existing: int


def preparation_status(tasks: dict[str, Task] | None = None) -> list[tuple[cp.PreparationTask, Task | None]]:
    """The next audit's preparation tasks, each with the task generated for it (None: not generated)."""
    found = client_cycle()
    if found is None or found.next_audit is None:
        return []
    planned = cp.preparation_tasks(found.next_audit)
    if tasks is None:
        tasks = {t.key: t for t in db.session.scalars(select(Task).where(Task.key.in_([p.key for p in planned])))}
    return [(p, tasks.get(p.key)) for p in planned]


def generate_preparation(actor: Actor) -> Generated:
    """Create the next external audit's preparation tasks in the current stage, once: the audit's row is
    locked first, so two posts at once run one after the other and the second finds the set made. They are
    the consultant's who generated them (so their due dates join that person's reminders as tasks do)."""
    found = client_cycle()
    if found is None:
        raise Refusal("Preparation tasks follow the certification decision: record it on the Gates page first.", 409)
    audit = found.next_audit
    if audit is None:
        raise Refusal("Every audit of this cycle is held: there is no external audit to prepare for.", 409)
    _locked(ExternalAudit, kind=audit.kind)
    planned = cp.preparation_tasks(audit)
    have = set(db.session.scalars(select(Task.key).where(Task.key.in_([p.key for p in planned]))))
    stage = db.session.get(Stage, current_stage_key())
    created = []
    for p in planned:
        if p.key in have:
            continue
        created.append(append_task(stage, key=p.key, title=p.title, guidance=p.guidance, clauses=[p.clause],
                                   role="client_admin", required=False, allow_not_applicable=True, status="todo",
                                   assignee_id=actor.id, start_on=clock.today(), due_on=max(p.due_on, clock.today())))
    if created:
        log(actor, "certification.preparation", "external_audit", audit.kind,
            f"{len(created)} preparation tasks generated for the {audit.label.lower()} of "
            f"{audit.target.isoformat()}", None, {"audit": audit.kind, "tasks": [t.key for t in created]})
    return Generated(audit.kind, created, len(have))


# --- the three-year calendar --------------------------------------------------------------------------

def client_calendar(audits: dict[str, ExternalAudit] | None = None) -> list[cp.CalendarEvent]:
    audits = external_audits() if audits is None else audits
    found = client_cycle(audits)
    if found is None:
        return []
    stage_2 = audits.get("stage_2")
    return cp.calendar(found, clock.today(), stage_2.held_on if stage_2 else None)


# --- ageing, for the summary ------------------------------------------------------------------------

def stage_2_repeat(audits: dict[str, ExternalAudit] | None = None) -> wc.Stage2Repeat | None:
    """Whether the client risks a repeated stage 2: majors the body raised there and has not verified (its
    acceptance and how it verified are not recorded), counted against the body's rule."""
    audits = external_audits() if audits is None else audits
    held = audits["stage_2"].held_on if "stage_2" in audits else None
    if held is None:
        return None
    majors = db.session.scalar(select(func.count()).select_from(Finding).where(
        Finding.source == "cb_stage_2", Finding.severity == "major",
        (Finding.cb_accepted_on.is_(None)) | (Finding.cb_verification.is_(None)))) or 0
    return wc.stage_2_repeat_risk(held, majors, decided_on() is not None, clock.today(), client_rules())


def stale_items(now: datetime | None = None) -> int:
    """Open findings and open tasks with no update for 60 days (nc.is_stale, nc.is_stale_task), in SQL."""
    return db.session.scalar(select(stale_items_count(now))) or 0


def stale_items_count(now: datetime | None = None):
    """`stale_items` as one SQL expression, to be read with others."""
    cutoff = (now or clock.now()) - nc.STALE_AFTER
    findings = select(func.count()).select_from(Finding).where(
        Finding.status == "open", Finding.updated_at <= cutoff).scalar_subquery()
    tasks = select(func.count()).select_from(Task).where(
        Task.status.in_(nc.STALE_TASK_STATUSES), Task.updated_at <= cutoff,
        (Task.start_on.is_(None)) | (Task.start_on <= cutoff.date())).scalar_subquery()
    return findings + tasks
