"""The reminder sweep (every quarter hour, app/jobs/schedule.py): what is due, overdue, waiting, and the
consultants' morning briefs — derived afresh from the shared tables each time, so a lost job heals at the
next sweep, and claimed under each message's key, so a second (or a parallel) sweep sends nothing new.

It reads `work_items` (open tasks and every other dated item with its people and due date, gate reviews
waiting with their reviewers) and `client_summaries`, never a client's schema: 2,000 clients cost a handful
of queries.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, select, update

from workflows import digests as digest_rules
from workflows import due_dates
from workflows import reminders as rules
from workflows.stages import stage_label

from .. import clock
from ..bulk import insert_rows, unclaimed
from ..accounts import mailed_link, mailed_links
from ..extensions import db
from ..models import (Account, Client, ClientConsultant, ClientMember, ClientSummary, Notification, RemindersSent,
                      User, WorkItem)
from . import digests
from .candidates import Candidate
from .events import path_of, preferences
from .links import item_link
from .outbox import Message, claim_many, resend_stale

log = logging.getLogger("isopath.notify")
BATCH = 2000  # claims per transaction: a crash loses at most this many enqueues, which the next sweep heals


@dataclass
class SweepResult:
    candidates: int = 0
    claimed: int = 0
    skipped_by_preference: int = 0
    requeued: int = 0
    briefs: int = 0
    digests: int = 0
    held: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class ClientRules(NamedTuple):
    """What the sweep needs of an active client: its name and address, its weekend, its consultancy's lead
    days, its time zone (its own, else the consultancy's, else UTC) and so its date now."""
    name: str
    slug: str
    weekend: tuple[int, ...]
    lead_days: tuple[int, ...]
    zone: str
    today: date


def _active_clients(now: datetime) -> dict[int, ClientRules]:
    found, days = {}, {}
    for cid, name, slug, working, zone, lead, firm_zone in db.session.execute(
            select(Client.id, Client.name, Client.slug, Client.working_days, Client.time_zone,
                   Account.reminder_lead_days, Account.time_zone)
            .join(Account, Account.id == Client.account_id).where(Client.status == "active")):
        zone = zone or firm_zone or "UTC"
        if zone not in days:
            days[zone] = now.astimezone(ZoneInfo(zone)).date()
        found[cid] = ClientRules(name, slug, rules.weekend_of(working), rules.lead_days_of(lead), zone, days[zone])
    return found


def _due_candidates(clients: dict[int, ClientRules]) -> list[Candidate]:
    """Due soon and overdue, for every source of due dates (workflows/due_dates.py: tasks, document reviews,
    audits …): one ladder, each source's own messages and page; only tasks escalate to the client admins."""
    if not clients:
        return []
    horizon = max(c.today for c in clients.values()) + timedelta(
        days=max(max(c.lead_days) for c in clients.values()))
    items = WorkItem.__table__.c  # plain rows (tens of thousands at 2,000 clients), not ORM-loaded ones
    rows = db.session.execute(select(items.client_id, items.kind, items.ref_id, items.user_id, items.title,
                                     items.due_on, items.stage, items.parent_id)
                              .where(items.kind.in_(due_dates.DUE_ITEM_KINDS), items.due_on <= horizon)).all()
    escalate = {r.client_id for r in rows if r.client_id in clients and due_dates.SOURCE_BY_KIND[r.kind].escalates
                and (clients[r.client_id].today - r.due_on).days >= rules.ESCALATE_AFTER}
    admins = defaultdict(list)
    if escalate:
        for cid, uid in db.session.execute(select(ClientMember.client_id, ClientMember.user_id).where(
                ClientMember.client_id.in_(escalate), ClientMember.role == "client_admin")):
            admins[cid].append(uid)
    out = []
    ladder = {}  # the steps of a due date under a client's rules: tens of thousands of tasks share a few hundred
    for r in rows:
        client = clients.get(r.client_id)
        if client is None:
            continue
        rung = (r.due_on, client.today, client.lead_days, client.weekend)
        steps = ladder.get(rung)
        if steps is None:
            steps = ladder[rung] = rules.due_steps(*rung)
        source = due_dates.SOURCE_BY_KIND[r.kind]
        for step in steps:
            kind = source.message_kind(step.kind)
            if kind is None:
                continue
            people = admins[r.client_id] if kind == "task_escalated" else [r.user_id]
            fields = {"title": r.title, "days": step.days, "when": rules.when_due(step.days)}
            link = item_link(r.kind, r.ref_id, r.stage, r.parent_id)
            for uid in people:
                key = rules.idempotency_key(kind, f"c{r.client_id}/{r.kind}/{r.ref_id}", step.window, uid)
                out.append(Candidate(key, kind, uid, r.client_id, fields, link))
    return out


def _gate_candidates(clients: dict[int, ClientRules]) -> list[Candidate]:
    rows = db.session.execute(select(WorkItem.client_id, WorkItem.ref_id, WorkItem.user_id, WorkItem.stage,
                                     WorkItem.waiting_since)
                              .where(WorkItem.kind == "gate_review", WorkItem.waiting_since.is_not(None))).all()
    out = []
    for r in rows:
        client = clients.get(r.client_id)
        if client is None:
            continue
        # Working days as the client counts them, in its time zone: a request on Friday has waited 1 on Monday.
        requested_on = r.waiting_since.astimezone(ZoneInfo(client.zone)).date()
        step = rules.gate_wait_step(requested_on, client.today, client.weekend)
        if step is None:
            continue
        key = rules.idempotency_key(step.kind, f"c{r.client_id}/gate/{r.ref_id}", step.window, r.user_id)
        out.append(Candidate(key, step.kind, r.user_id, r.client_id, {"stage": stage_label(r.stage), "days": step.days},
                             item_link("gate_review", r.ref_id, r.stage)))
    return out


def _brief_candidates(now, clients: dict, covered: set[int]) -> list[Candidate]:
    """One morning brief per consultant whose local send time has passed today (a working day), carrying the
    notices they take in their digest; `covered` gets who the brief serves today (no daily digest for them)."""
    consultants = db.session.execute(select(User.id, User.time_zone).where(User.id.in_(
        select(ClientConsultant.user_id).where(ClientConsultant.client_id.in_(list(clients)))))).all()
    zones = digests.zones_of([uid for uid, _tz in consultants])
    due = {}
    for uid, _tz in consultants:
        day = rules.digest_due(now, zones[uid], f"brief-{uid}")
        if day is not None and rules.is_working_day(day):
            due[uid] = day
    if not due:
        return []
    keys = {uid: rules.idempotency_key("morning_brief", f"u{uid}", day.isoformat(), uid) for uid, day in due.items()}
    taken = set(db.session.scalars(select(RemindersSent.key).where(RemindersSent.key.in_(list(keys.values())))))
    prefs = preferences(list(due))
    # Whose held notices wait for the brief: those whose brief went out today wait for tomorrow's.
    covered.update(uid for uid in due if keys[uid] in taken
                   and rules.delivery("morning_brief", prefs.get((uid, "morning_brief"))) != rules.OFF)
    wanted = [uid for uid, key in keys.items() if key not in taken]
    if not wanted:
        return []
    gates = defaultdict(int)
    for uid, cid, n in db.session.execute(select(WorkItem.user_id, WorkItem.client_id, func.count())
                                          .where(WorkItem.kind == "gate_review", WorkItem.user_id.in_(wanted))
                                          .group_by(WorkItem.user_id, WorkItem.client_id)):
        gates[(uid, cid)] = n
    late = defaultdict(int)  # their overdue reviews, audits and deadlines (tasks: the summary's overdue count)
    for uid, cid, due_on in db.session.execute(
            select(WorkItem.user_id, WorkItem.client_id, WorkItem.due_on)
            .where(WorkItem.kind.in_(due_dates.DUE_ITEM_KINDS), WorkItem.kind != "task", WorkItem.user_id.in_(wanted),
                   WorkItem.due_on < max(c.today for c in clients.values()))):
        if cid in clients and due_on < clients[cid].today:  # overdue in the client's own time zone
            late[(uid, cid)] += 1
    summaries = db.session.execute(
        select(ClientConsultant.user_id, ClientSummary, Client.created_at)
        .join(ClientSummary, ClientSummary.client_id == ClientConsultant.client_id)
        .join(Client, and_(Client.id == ClientConsultant.client_id, Client.status == "active"))
        .where(ClientConsultant.user_id.in_(wanted))).all()
    per_user = defaultdict(list)
    for uid, summary, created_at in summaries:
        name, slug = clients[summary.client_id][:2]
        since = summary.last_activity_at or created_at
        per_user[uid].append(rules.BriefClient(
            name, slug, gates_waiting=gates[(uid, summary.client_id)], overdue_tasks=summary.overdue_tasks,
            red_kpis=summary.red_kpis, missing_kpis=summary.stale_kpis, overdue_dates=late[(uid, summary.client_id)],
            days_quiet=(now - since).days if since else None))
    held = digests.pending_notices({uid: digests.digest_moment(due[uid], zones[uid], uid) for uid in wanted})
    out = []
    for uid in wanted:
        rows = rules.brief_rows(per_user[uid])
        if not rows:  # nothing to say, nothing sent (held notices, if any, go in a daily digest)
            continue
        brief = tuple((r.client.name, mailed_link("workspace.overview", slug=r.client.slug), list(r.reasons))
                      for r in rows)
        notes = held.get(uid, [])
        if rules.delivery("morning_brief", prefs.get((uid, "morning_brief"))) != rules.OFF:
            covered.add(uid)
        out.append(Candidate(keys[uid], "morning_brief", uid, 0, {"count": len(rows)},
                             ("portfolio.index", {}, ""), rows=brief,
                             held=digest_rules.held_lines([n[1:] for n in notes]), carries=tuple(n[0] for n in notes)))
    return out


def _new_only(candidates: list[Candidate]) -> list[Candidate]:
    """Those whose key nobody claimed yet: a sweep with nothing new composes no mail at all."""
    fresh = unclaimed(RemindersSent.__table__.c.key, [c.key for c in candidates])
    return [c for c in candidates if c.key in fresh]


def _claim_all(candidates: list[Candidate], clients: dict, result: SweepResult) -> None:
    users = {}
    ids = sorted({c.user_id for c in candidates})
    for i in range(0, len(ids), 5000):
        users.update({u.id: (u.email, u.id) for u in db.session.scalars(select(User).where(User.id.in_(ids[i:i + 5000])))})
    prefs = preferences(ids) if ids else {}
    link_to = mailed_links()
    batch, unheld = [], []
    for c in candidates:
        if c.user_id not in users:
            continue
        how = rules.delivery(c.kind, prefs.get((c.user_id, c.kind)))
        if how == rules.OFF:
            result.skipped_by_preference += 1
            unheld += c.carries  # a digest turned off carries nothing: its notices stay in the app, no longer held
            continue
        client = clients.get(c.client_id)
        fields = {"client": client[0] if client else "", **c.fields}
        subject, line = rules.wording(c.kind, **fields)
        endpoint, values, fragment = c.link
        if client and endpoint.startswith("workspace."):
            values = {"slug": client[1], **values}
        link = link_to(endpoint, **values) + (f"#{fragment}" if fragment else "")
        label = {"morning_brief": "Open your portfolio", "daily_digest": "Open your notifications"}.get(
            c.kind, "Open in ISOpath")
        batch.append(Message(c.key, c.kind, c.user_id, users[c.user_id][0], c.client_id or None, subject, line, link,
                             label, rows=c.rows, sections=c.sections, held=c.held, carries=c.carries,
                             hold=how == rules.DIGEST))
        if len(batch) >= BATCH:
            _claim_batch(batch, result)
            batch = []
    if unheld:
        db.session.execute(update(Notification).where(Notification.id.in_(unheld)).values(digest_pending=False))
    _claim_batch(batch, result)


def _claim_batch(batch: list[Message], result: SweepResult) -> None:
    """Claim a batch in one statement and write the app's notice of each message claimed, then commit."""
    claimed = claim_many(batch)
    notices = [dict(user_id=m.user_id, client_id=m.client_id, kind=m.kind, message=m.line,
                    link=path_of(m.link)[:500], created_at=clock.now(), digest_pending=m.hold)
               for m in batch if m.key in claimed and m.kind != "daily_digest"]
    if notices:  # the same notice in the app, in the claim's transaction: one per message, never twice
        insert_rows(Notification.__table__, notices)
    delivered = [nid for m in batch if m.key in claimed for nid in m.carries]
    if delivered:  # the digest claimed carries them: no later digest repeats them
        db.session.execute(update(Notification).where(Notification.id.in_(delivered)).values(digest_pending=False))
    result.claimed += len(claimed)
    result.held += sum(1 for m in batch if m.key in claimed and m.hold)
    result.briefs += sum(1 for m in batch if m.key in claimed and m.kind == "morning_brief")
    result.digests += sum(1 for m in batch if m.key in claimed and m.kind in ("daily_digest", "weekly_digest"))
    db.session.commit()


def sweep_reminders() -> dict:
    """The periodic job: claim and queue every message due now; queue again claims whose job was lost."""
    now = clock.now()
    result = SweepResult()
    clients = _active_clients(now)
    covered: set[int] = set()
    candidates = (_due_candidates(clients) + _gate_candidates(clients)
                  + _brief_candidates(now, clients, covered))
    candidates += digests.daily_candidates(now, covered) + digests.weekly_candidates(now, clients)
    result.candidates = len(candidates)
    fresh = _new_only(candidates)
    db.session.rollback()  # end the read transaction: the claims commit in batches of their own
    _claim_all(fresh, clients, result)
    result.requeued = resend_stale()
    log.info("reminder sweep: %s", result.as_dict())
    return result.as_dict()
