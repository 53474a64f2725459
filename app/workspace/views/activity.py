"""The activity log: every change, newest first, filtered by kind and person."""
from __future__ import annotations

from flask import abort, g, request
from sqlalchemy import select

from ...extensions import db
from ...inputs import MAX_ID, parse_id
from ...models import ActivityEntry
from ...templating import render
from ..blueprint import bp

ACTIVITY_KINDS = {"task": "Tasks", "attachment": "Evidence", "gate": "Gates", "stage": "Stages",
                  "document": "Documents", "finding": "Findings", "plan": "Plan",
                  "people": "People", "client": "Client settings"}
PAGE_SIZE = 50


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
        q = q.where(ActivityEntry.actor_name.ilike(f"%{who}%"))
    entries = db.session.scalars(q.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render("workspace/activity.html", "entries", client=g.client, entries=entries[:PAGE_SIZE],
                  has_more=len(entries) > PAGE_SIZE, page=page, kind=kind, who=who, kinds=ACTIVITY_KINDS)
