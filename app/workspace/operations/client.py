"""The client itself, as the consultancy administers it: its name, its consultants, archiving.

These change the client's row in the shared registry (and its consultants), and record each change in the
client's own activity log, so they run bound to the client's schema like every other operation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from workflows import reminders as rules
from workflows.errors import WorkflowError

from ... import clock
from ...extensions import db
from ...models import AccountMember, ActivityEntry, Client, ClientConsultant, User
from ...billing.sync import quantity_follows
from ...refusal import Refusal
from ...subscriptions import check_room_for_client
from .common import Actor, log

NAME_MAX = Client.name.type.length


def client_name(name: str | None) -> str:
    """The company name as typed, trimmed; refused (422 on `name`) when empty or too long."""
    name = (name or "").strip()
    if not name:
        raise Refusal("Enter the client's company name.", field="name")
    if len(name) > NAME_MAX:
        raise Refusal(f"Keep the name under {NAME_MAX} characters.", field="name")
    return name


def consultancy_members(account_id: int) -> list[tuple[User, str]]:
    """Who can be assigned to a client of the consultancy: its owners and consultants, by name."""
    return [(u, role) for u, role in db.session.execute(
        select(User, AccountMember.role).join(AccountMember, AccountMember.user_id == User.id)
        .where(AccountMember.account_id == account_id).order_by(User.name, User.id))]


def rename_client(client: Client, name: str | None, actor: Actor) -> None:
    """A new name; the address (/c/<slug>) stays, so every link and bookmark keeps working."""
    name = client_name(name)
    if name == client.name:
        raise Refusal(f"The client is already called “{name}”.", field="name")
    clash = db.session.scalar(select(Client.name).where(Client.account_id == client.account_id,
                                                        Client.id != client.id,
                                                        func.lower(Client.name) == name.lower()))
    if clash is not None:
        # Two portfolio rows of the same name are a mistake waiting to happen.
        raise Refusal(f"Another client of your consultancy is already called “{clash}”. "
                      "Choose a name that tells them apart.", field="name")
    before = client.name
    client.name = name
    log(actor, "client.renamed", "client", client.id, f"Client renamed from “{before}” to “{name}”",
        {"name": before}, {"name": name})


def set_reminder_calendar(client: Client, working_days: list[str], time_zone: str | None, actor: Actor) -> None:
    """The weekdays the client works (no reminders on the others; "working days" count them) and its time
    zone (None: the consultancy's)."""
    try:
        days = rules.parse_working_days(working_days)
    except WorkflowError as err:
        raise Refusal(str(err), field="working_days") from None
    try:
        zone = rules.check_time_zone(time_zone)
    except WorkflowError as err:
        raise Refusal(str(err), field="time_zone") from None
    days = None if days == "01234" else days
    before = {"working_days": client.working_days, "time_zone": client.time_zone}
    if before == {"working_days": days, "time_zone": zone}:
        return
    client.working_days, client.time_zone = days, zone
    log(actor, "client.calendar_changed", "client", client.id,
        f"Working days set to {rules.working_days_label(days)}, time zone {zone or 'as the consultancy'}",
        before, {"working_days": days, "time_zone": zone})


def assign_consultants(client: Client, user_ids: list[int], actor: Actor) -> None:
    """Exactly these members of the consultancy work on the client (at least one)."""
    members = {u.id: u for u, _ in consultancy_members(client.account_id)}
    wanted = set(user_ids)
    if not wanted:
        raise Refusal("Keep at least one consultant assigned to the client.", field="consultants")
    if wanted - members.keys():
        raise Refusal("Choose consultants from your consultancy's team.", field="consultants")
    current = set(db.session.scalars(select(ClientConsultant.user_id).where(ClientConsultant.client_id == client.id)))
    if wanted == current:
        raise Refusal("These consultants are assigned already: tick or untick someone first.", field="consultants")
    db.session.execute(delete(ClientConsultant).where(ClientConsultant.client_id == client.id,
                                                      ClientConsultant.user_id.in_(current - wanted)))
    for user_id in sorted(wanted - current):
        db.session.add(ClientConsultant(client_id=client.id, user_id=user_id))
    db.session.expire(client, ["consultants"])

    def names(ids):
        return sorted((members[i].name if i in members else f"user {i}") for i in ids)

    added, removed = names(wanted - current), names(current - wanted)
    summary = "; ".join(part for part in (f"assigned {', '.join(added)}" if added else "",
                                          f"unassigned {', '.join(removed)}" if removed else "") if part)
    log(actor, "client.consultants_changed", "client", client.id, f"Consultants changed: {summary}",
        {"consultants": names(current)}, {"consultants": names(wanted)})


def archive_client(client: Client, actor: Actor) -> None:
    """Archived: off the portfolio's default view and read-only, every record kept as it is."""
    if client.archived_at is not None:
        raise Refusal(f"{client.name} is archived already.", 409)
    client.status, client.archived_at = "archived", clock.now()
    quantity_follows(client.account_id)  # archiving frees a slot: the next invoice counts one client fewer
    log(actor, "client.archived", "client", client.id, "Client archived: read-only until it is unarchived")


def unarchive_client(client: Client, actor: Actor) -> None:
    if client.archived_at is None:
        raise Refusal(f"{client.name} is not archived.", 409)
    check_room_for_client(client.account)  # re-activating takes an active-client slot of the plan
    client.status, client.archived_at = "active", None
    quantity_follows(client.account_id)
    log(actor, "client.unarchived", "client", client.id, "Client unarchived: open for changes again")


@dataclass(frozen=True)
class ArchiveRecord:
    at: datetime
    by: str


def archive_record(client: Client) -> ArchiveRecord | None:
    """When and by whom the client was archived (from its activity log), or None when it is not archived."""
    if client.archived_at is None:
        return None
    by = db.session.scalar(select(ActivityEntry.actor_name).where(ActivityEntry.action == "client.archived")
                           .order_by(ActivityEntry.at.desc(), ActivityEntry.id.desc()).limit(1))
    return ArchiveRecord(client.archived_at, by or "ISOpath")
