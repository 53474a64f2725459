"""Events told at once: a gate review requested, a gate approved or sent back, a task assigned.

An operation `announce`s what happened (it knows the change, not the client's people); `save()` turns what
was announced into in-app notifications and claimed messages for the people concerned, in the same
transaction as the change, just before its commit. The mail goes out after the commit; a change rolled
back takes its announcements with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import event, select

from workflows import reminders as rules

from .. import clock
from ..accounts import mailed_link
from ..extensions import db
from ..models import Client, ClientMember, Notification, NotificationPreference, User
from .outbox import Message, claim

_KEY = "isopath_announced"


@dataclass(frozen=True)
class Announcement:
    kind: str
    ref: str  # the object, as in the message key: gate/12, task/7
    endpoint: str  # of the deep link, under the client
    link_values: dict
    fragment: str = ""
    actor_id: int | None = None
    to: tuple[int, ...] = ()  # named people (the requester, the assignee)
    fields: dict = field(default_factory=dict)


def announce(kind_key: str, ref: str, endpoint: str, *, actor_id: int | None, to=(), fragment: str = "",
             link_values: dict | None = None, **fields) -> None:
    """Note an event of the current change; `save()` records it for its recipients (operations only)."""
    rules.kind(kind_key)
    session = db.session()
    session.info.setdefault(_KEY, []).append(Announcement(
        kind_key, ref, endpoint, dict(link_values or {}), fragment, actor_id,
        tuple(uid for uid in to if uid is not None), fields))


def _client_admins(client_id: int) -> list[int]:
    return list(db.session.scalars(select(ClientMember.user_id).where(ClientMember.client_id == client_id,
                                                                      ClientMember.role == "client_admin")))


def _recipients(a: Announcement, client: Client, reviewers) -> list[int]:
    group = rules.kind(a.kind).recipients
    people = list(a.to)
    if group == rules.CONSULTANTS:
        people += reviewers(client)
    elif group in (rules.REQUESTER_AND_ADMINS, rules.CLIENT_ADMINS):
        people += _client_admins(client.id)
    # Nobody is told of what they did themselves.
    return sorted({uid for uid in people if uid != a.actor_id})


def preferences(user_ids: list[int]) -> dict[tuple[int, str], str]:
    if not user_ids:
        return {}
    rows = db.session.execute(select(NotificationPreference.user_id, NotificationPreference.kind,
                                     NotificationPreference.delivery)
                              .where(NotificationPreference.user_id.in_(user_ids)))
    return {(uid, kind): delivery for uid, kind, delivery in rows}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"#{parts.fragment}" if parts.fragment else "")


def record_announced(client: Client, reviewers) -> int:
    """Write what the current change announced: a notification per recipient, and a claimed mail for those
    who want it at once (those who take it in their digest: the notice waits for it). `reviewers(client)`:
    who reviews the client's gates. Returns the notices written."""
    pending = db.session.info.pop(_KEY, [])
    written = 0
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
    for a in pending:
        people = _recipients(a, client, reviewers)
        if not people:
            continue
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people)))}
        prefs = preferences(people)
        actor = db.session.get(User, a.actor_id) if a.actor_id else None
        fields = {"client": client.name, "actor": actor.name if actor else "ISOpath", **a.fields}
        subject, line = rules.wording(a.kind, **fields)
        link = mailed_link(a.endpoint, slug=client.slug, **a.link_values) + (f"#{a.fragment}" if a.fragment else "")
        for uid in people:
            user = users.get(uid)
            if user is None:
                continue
            how = rules.delivery(a.kind, prefs.get((uid, a.kind)))
            db.session.add(Notification(user_id=uid, client_id=client.id, kind=a.kind, message=line,
                                        link=path_of(link)[:500], created_at=clock.now(),
                                        digest_pending=how == rules.DIGEST))
            written += 1
            if how == rules.IMMEDIATELY:
                key = rules.idempotency_key(a.kind, f"c{client.id}/{a.ref}", stamp, uid)
                claim(Message(key, a.kind, uid, user.email, client.id, subject, line, link,
                              "Open in ISOpath"))
    return written


def _discard(session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


def install() -> None:
    """A rolled-back change forgets what it announced (once, at start-up)."""
    if not event.contains(db.session, "after_soft_rollback", _discard):
        event.listen(db.session, "after_soft_rollback", _discard)
