"""What every operation shares: who acts, and the activity log entry each change writes.

Operations change the client's tables inside a bound tenant scope and never
commit: the view or job commits once (`summary.save`), and a `Refusal` raised
anywhere leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

import workflows as wf

from ... import clock
from ...extensions import db
from ...models import ActivityEntry
from ...refusal import Refusal


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str

    @classmethod
    def of(cls, user) -> "Actor":
        return cls(user.id, user.name) if user is not None else cls(None, "ISOpath")


def log(actor: Actor, action: str, obj_type: str, obj_id, summary: str, before=None, after=None) -> None:
    db.session.add(ActivityEntry(at=clock.now(), actor_id=actor.id, actor_name=actor.name, action=action,
                                 object_type=obj_type, object_id=None if obj_id is None else str(obj_id),
                                 summary=summary, before=before, after=after))


def check_length(text: str, column, field: str, what: str) -> str:
    """`text` if it fits the column it goes into (a model attribute of type String(n)); else a 422 on `field`
    that says how long it may be, so the form comes back with what was typed instead of a database error."""
    limit = column.type.length
    if len(text) > limit:
        raise Refusal(f"{what} can be at most {limit:,} characters long ({len(text):,} given).", 422, field=field)
    return text


def midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def apply_rule(call, *args, field: str | None = None):
    """`call(*args)`, a workflow rule: what it refuses becomes a Refusal with the rule's status and field (the
    one given, else the error's own)."""
    try:
        return call(*args)
    except wf.WorkflowError as err:
        raise Refusal.of(err, field=field or getattr(err, "field", None)) from err


def json_rows(*columns, order_by=(), where=()):
    """A scalar subquery of the columns' rows as one JSON array of arrays ('[]' when there is none)."""
    order = order_by if isinstance(order_by, tuple) else (order_by,)
    rows = func.json_build_array(*columns)
    agg = func.json_agg(aggregate_order_by(rows, *order)) if order else func.json_agg(rows)
    query = select(func.coalesce(agg, literal_column("'[]'::json")))
    return (query.where(*where) if where else query).scalar_subquery()
