"""The activity log: every change, newest first, filtered by kind and person, in words (names, labels),
never the internal ids and keys the entries store."""
from __future__ import annotations

from flask import abort, g, request
from sqlalchemy import select

import workflows as wf
from workflows.search import like_pattern
from workflows.stages import stage_label

from ...extensions import db
from ...inputs import MAX_ID, parse_id
from ...models import ActivityEntry, User
from ...templating import render
from ...text import file_size
from ..blueprint import bp

ACTIVITY_KINDS = {"task": "Tasks", "attachment": "Evidence", "gate": "Gates", "stage": "Stages",
                  "document": "Documents", "finding": "Findings", "plan": "Plan",
                  "people": "People", "client": "Client settings"}
PAGE_SIZE = 50

# Recorded for the record's sake (ids, checksums, the full lists behind a template update's counts); the
# entry's summary already says what they stand for.
HIDDEN_FIELDS = {"comment_id", "review_id", "attachment_id", "sha256", "tasks", "documents", "template_key"}
FIELD_LABELS = {"assignee_id": "assignee", "not_applicable_reason": "reason", "size_bytes": "size",
                "current_stage": "current stage", "passed": "stage passed"}
STATUS_LABELS = {"task": wf.TASK_STATUS_LABELS, "document": wf.DOCUMENT_STATUS_LABELS,
                 "finding": wf.FINDING_STATUS_LABELS, "gate": {"requested": "Review requested", "sent_back": "Sent back"}}
STAGE_FIELDS = {"current_stage", "passed", "stage"}


def _word(entry: ActivityEntry, field: str, value, names: dict[int, str]):
    if value in (None, ""):
        return "—"
    if field == "assignee_id":
        return names.get(value, "a former member")
    if field in STAGE_FIELDS:
        return stage_label(value)
    if field == "status":
        return STATUS_LABELS.get(entry.action.split(".")[0], {}).get(value, value)
    if field == "severity":
        return wf.FINDING_SEVERITY_LABELS.get(value, value)
    if field == "certification_decision":
        return wf.CERTIFICATION_DECISION_LABELS.get(value, value)
    if field == "size_bytes":
        return file_size(value)
    return value


def readable_changes(entry: ActivityEntry, names: dict[int, str]) -> list[tuple[str, str, str]]:
    """(what, before, after) in words, for the fields of `entry` worth showing."""
    return [(FIELD_LABELS.get(field, field.replace("_", " ")), _word(entry, field, old, names),
             _word(entry, field, new, names))
            for field, old, new in entry.changes if field not in HIDDEN_FIELDS]


def _people_named(entries) -> dict[int, str]:
    """The names of everyone an entry refers to by id, in one query."""
    ids = {value for e in entries for side in (e.before or {}, e.after or {})
           for field, value in side.items() if field == "assignee_id" and isinstance(value, int)}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


@bp.get("/activity")
def activity():
    kind = request.args.get("kind", "")
    who = request.args.get("who", "").strip()
    page = parse_id(request.args.get("page") or "1", hi=MAX_ID // PAGE_SIZE)
    if page is None:
        abort(404)
    q = select(ActivityEntry).order_by(ActivityEntry.at.desc(), ActivityEntry.id.desc())
    if kind in ACTIVITY_KINDS:
        q = q.where(ActivityEntry.action.like(f"{kind}.%"))
    if who:
        q = q.where(ActivityEntry.actor_name.ilike(like_pattern(who), escape="\\"))
    entries = db.session.scalars(q.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    shown = entries[:PAGE_SIZE]
    names = _people_named(shown)
    return render("workspace/activity.html", "entries", client=g.client, entries=shown,
                  changes={e.id: readable_changes(e, names) for e in shown}, has_more=len(entries) > PAGE_SIZE,
                  page=page, kind=kind, who=who, kinds=ACTIVITY_KINDS)
