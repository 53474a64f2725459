"""The digests the sweep sends besides the morning brief: each person's daily digest of the notices they take
"in the digest", and each client admin's weekly digest of their client. Read from the shared tables only.

Exactly once: a digest's key names its person and period (the local day, the ISO week); the notices a daily
digest carries stop being pending in the transaction that claims it, so no later digest repeats them.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from workflows import digests as rules_digest
from workflows import due_dates
from workflows import reminders as rules
from workflows.kpi import RED_STATUSES
from workflows.stages import stage_label

from ..extensions import db
from ..models import Account, AccountMember, Client, ClientKpiLatest, ClientMember, ClientSummary, Notification
from ..models import RemindersSent, User, WorkItem
from .candidates import Candidate

CHUNK = 5000


def zones_of(user_ids: list[int]) -> dict[int, str]:
    """Each person's time zone: their own, else their consultancy's, else UTC."""
    zones = {uid: "UTC" for uid in user_ids}
    for i in range(0, len(user_ids), CHUNK):
        chunk = user_ids[i:i + CHUNK]
        rows = db.session.execute(select(User.id, User.time_zone, Account.time_zone)
                                  .outerjoin(AccountMember, AccountMember.user_id == User.id)
                                  .outerjoin(Account, Account.id == AccountMember.account_id)
                                  .where(User.id.in_(chunk)).order_by(User.id, Account.id)).all()
        for uid, own, firm in rows:
            if zones[uid] == "UTC":
                zones[uid] = own or firm or "UTC"
    return zones


def _absolute(path: str | None) -> str:
    if not path:
        return ""
    return current_app.config["BASE_URL"].rstrip("/") + path if path.startswith("/") else path


def pending_notices(cutoffs: dict[int, datetime]) -> dict[int, list[tuple[int, str, str, str]]]:
    """(notice id, client, message, absolute link) of each person's notices waiting for a digest, oldest first,
    written before their digest's moment today (`cutoffs`): what came later waits for tomorrow's."""
    found = defaultdict(list)
    user_ids = list(cutoffs)
    for i in range(0, len(user_ids), CHUNK):
        chunk = user_ids[i:i + CHUNK]
        rows = db.session.execute(
            select(Notification.id, Notification.user_id, Client.name, Notification.message, Notification.link,
                   Notification.created_at)
            .outerjoin(Client, Client.id == Notification.client_id)
            .where(Notification.digest_pending.is_(True), Notification.user_id.in_(chunk),
                   Notification.created_at <= max(cutoffs[u] for u in chunk))
            .order_by(Notification.created_at, Notification.id))
        for nid, uid, client, message, link, created_at in rows:
            if created_at <= cutoffs[uid]:
                found[uid].append((nid, client or "", message, _absolute(link)))
    return found


def digest_moment(day, zone: str, uid: int) -> datetime:
    """When a person's daily digest (or morning brief) of local `day` goes out."""
    return rules.digest_send_at(day, zone, f"brief-{uid}")


def daily_candidates(now: datetime, covered: set[int]) -> list[Candidate]:
    """A daily digest for each person with notices held for it, at their local morning hour on a working
    day, unless their morning brief carries them (`covered`)."""
    waiting = [uid for uid in db.session.scalars(select(Notification.user_id).where(
        Notification.digest_pending.is_(True), Notification.created_at <= now).distinct()) if uid not in covered]
    if not waiting:
        return []
    zones = zones_of(waiting)
    keys, cutoffs = {}, {}
    for uid in waiting:
        day = rules.digest_due(now, zones[uid], f"brief-{uid}")
        if day is not None and rules.is_working_day(day):
            keys[uid] = rules.idempotency_key("daily_digest", f"u{uid}", day.isoformat(), uid)
            cutoffs[uid] = digest_moment(day, zones[uid], uid)
    taken = _taken(list(keys.values()))
    held = pending_notices({uid: cutoffs[uid] for uid, key in keys.items() if key not in taken})
    wanted = list(held)
    out = []
    for uid in wanted:
        notes = held.get(uid)
        if not notes:
            continue
        updates = f"{len(notes)} update{'s' if len(notes) != 1 else ''}"
        out.append(Candidate(keys[uid], "daily_digest", uid, 0, {"updates": updates}, ("notify.index", {}, ""),
                             held=rules_digest.held_lines([n[1:] for n in notes]),
                             carries=tuple(n[0] for n in notes)))
    return out


def _taken(keys: list[str]) -> set[str]:
    taken = set()
    for i in range(0, len(keys), CHUNK):
        taken.update(db.session.scalars(select(RemindersSent.key).where(RemindersSent.key.in_(keys[i:i + CHUNK]))))
    return taken


def weekly_candidates(now: datetime, clients: dict) -> list[Candidate]:
    """One weekly digest per client admin and client, on the first working day of the week at their local
    morning hour (the client's working days; their time zone, else the client's, else the consultancy's)."""
    admins = db.session.execute(
        select(ClientMember.client_id, ClientMember.user_id, User.time_zone, Client.time_zone, Account.time_zone,
               Client.working_days)
        .join(User, User.id == ClientMember.user_id).join(Client, Client.id == ClientMember.client_id)
        .join(Account, Account.id == Client.account_id)
        .where(ClientMember.role == "client_admin", Client.status == "active")).all()
    due = {}
    for cid, uid, own, client_zone, firm_zone, working in admins:
        zone = own or client_zone or firm_zone or "UTC"
        day = rules.digest_due(now, zone, f"weekly-{uid}-{cid}")
        if day is not None and rules_digest.weekly_due(day, rules.weekend_of(working)):
            due[rules.idempotency_key("weekly_digest", f"c{cid}", rules_digest.week_key(day), uid)] = (cid, uid, day)
    taken = _taken(list(due))
    wanted = {key: v for key, v in due.items() if key not in taken and v[0] in clients}
    if not wanted:
        return []
    ids = sorted({cid for cid, _uid, _day in wanted.values()})
    weeks = _weeks(ids, max(day for _c, _u, day in wanted.values()))
    out = []
    for key, (cid, uid, day) in wanted.items():
        summary, tasks, red = weeks.get(cid, (None, [], []))
        if summary is None:
            continue
        week = rules_digest.WeekAtClient(
            clients[cid][0], stage_label(summary.stage), summary.stage_progress, summary.gate_awaiting_approval,
            summary.overdue_tasks, overdue=tuple((t, d) for kind, t, d in tasks if d < day and kind == "task"),
            due_this_week=tuple((t, d) for _kind, t, d in tasks if day <= d <= rules_digest.week_end(day)),
            red_kpis=tuple(red), other_overdue=tuple((t, d) for kind, t, d in tasks if d < day and kind != "task"))
        sections = rules_digest.weekly_sections(week)
        if not sections:  # nothing to say, nothing sent
            continue
        out.append(Candidate(key, "weekly_digest", uid, cid, {}, ("workspace.overview", {}, ""),
                             sections=tuple((h, tuple(lines)) for h, lines in sections)))
    return out


def _weeks(client_ids: list[int], last_day) -> dict[int, tuple]:
    """(summary, [(kind, title, due on)] of its dated work (tasks, reviews, audits …), [red KPI names]) of each
    client: each item once, whoever it waits for."""
    summaries = {s.client_id: s for s in db.session.scalars(
        select(ClientSummary).where(ClientSummary.client_id.in_(client_ids)))}
    tasks, red = defaultdict(dict), defaultdict(list)
    for cid, kind, ref, title, due_on in db.session.execute(
            select(WorkItem.client_id, WorkItem.kind, WorkItem.ref_id, WorkItem.title, WorkItem.due_on)
            .where(WorkItem.client_id.in_(client_ids), WorkItem.kind.in_(due_dates.DUE_ITEM_KINDS),
                   WorkItem.due_on.is_not(None), WorkItem.due_on <= rules_digest.week_end(last_day))
            .order_by(WorkItem.due_on, WorkItem.title)):
        tasks[cid][(kind, ref)] = (kind, title, due_on)
    for cid, name in db.session.execute(
            select(ClientKpiLatest.client_id, ClientKpiLatest.name)
            .where(ClientKpiLatest.client_id.in_(client_ids), ClientKpiLatest.status.in_(RED_STATUSES))
            .order_by(ClientKpiLatest.name)):
        red[cid].append(name)
    return {cid: (summaries.get(cid), list(tasks[cid].values()), red[cid]) for cid in client_ids}
