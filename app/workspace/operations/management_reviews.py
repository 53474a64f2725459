"""Management reviews (9.3): opening one with its 9.3.2 inputs pre-filled, the participants' input over days, the
9.3.3 outputs, and closing by top management, when each output and the next review become tasks. Rules in
workflows/management_review.py; a closed review is a record and refuses every change (409)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

import workflows as wf
from workflows import management_review as mr

from ... import clock
from ...extensions import db
from ...models import ManagementReview, ReviewAction, ReviewContribution, ReviewInputEntry, Stage, User
from ...notify.events import announce
from ...refusal import Refusal
from .certification import parse_day
from .common import Actor, check_length, log
from .common import apply_rule as _rule  # the area's rules refused as a Refusal
from .review_inputs import prefill
from .state import current_stage_key, lock_gate_state
from .tasks import append_task

TEXT_MAX = 20_000
TITLE_ROOM = 200


def _text(text: str | None, field: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise Refusal(f"{what} can be at most {TEXT_MAX:,} characters long ({len(text):,} given).", 422, field=field)
    return text


def reviews() -> list[ManagementReview]:
    return db.session.scalars(select(ManagementReview).order_by(ManagementReview.opened_on.desc(),
                                                                ManagementReview.id.desc())).all()


def open_review_now() -> ManagementReview | None:
    return db.session.scalar(select(ManagementReview).where(ManagementReview.status == "open"))


def review_of(review_id: int) -> ManagementReview:
    review = db.session.get(ManagementReview, review_id)
    if review is None:
        raise Refusal(f"There is no management review #{review_id}.", 404)
    return review


def input_states(review: ManagementReview) -> list[mr.InputState]:
    return [mr.InputState(i.key, i.text, len(i.contributions), i.nothing_to_report) for i in review.inputs]


def is_participant(review: ManagementReview, user_id: int | None) -> bool:
    return any(p.get("id") == user_id for p in review.participants or [])


def _ensure_open(review: ManagementReview) -> None:
    # Closing turns the outputs into tasks and the gate reads the close date: changes wait on the gate lock, so a
    # late input cannot slip in beside the close.
    lock_gate_state()
    db.session.refresh(review)
    _rule(mr.check_open, review.status)


def _recount(review: ManagementReview) -> None:
    # The review's inputs and their contributions are changed through its collections, so they are current here.
    review.inputs_complete = mr.inputs_complete(input_states(review))


def open_review(opened: str, fmt: str, channel: str, participants: list[User], actor: Actor) -> ManagementReview:
    """Open a review with every 9.3.2 input pre-filled as of today (the data cut-off)."""
    lock_gate_state()
    today = clock.today()
    opened_on = parse_day(opened, "opened_on", "Opens on") or today
    if fmt not in mr.FORMATS:
        raise Refusal("Choose how the review is held: asynchronously or as a meeting.", 422, field="format")
    channel = check_length((channel or "").strip(), ManagementReview.channel, "channel", "The channel")
    if not participants:
        raise Refusal("Name the participants: top management and whoever reports an input.", 422,
                      field="participants")
    _rule(mr.check_opening, opened_on, today, open_review_now() is not None, field="opened_on")
    review = ManagementReview(status="open", opened_on=opened_on, opened_by_name=actor.name, format=fmt,
                              channel=channel, data_cutoff_on=today,
                              participants=[{"id": u.id, "name": u.name} for u in participants])
    db.session.add(review)
    db.session.flush()
    filled = prefill(today, review.id)
    for position, ri in enumerate(mr.INPUTS):
        review.inputs.append(ReviewInputEntry(key=ri.key, position=position, snapshot=filled[ri.key],
                                              text=filled[ri.key]))
    db.session.flush()
    _recount(review)
    log(actor, "management_review.opened", "management_review", review.id,
        f"Management review #{review.id} opened on {opened_on.isoformat()} with "
        f"{', '.join(u.name for u in participants)}", None,
        {"opened_on": opened_on.isoformat(), "format": fmt, "participants": [u.id for u in participants]})
    for u in participants:
        if u.id != actor.id:
            announce("task_assigned", f"management_review/{review.id}", "workspace.management_review",
                     actor_id=actor.id, to=(u.id,), link_values={"review_id": review.id},
                     title=f"Management review of {opened_on.isoformat()}: add your input")
    return review


def refresh_prefill(review: ManagementReview, actor: Actor) -> int:
    """Take the pre-fill again as of today; an input nobody edited follows it, an edited one keeps its words
    (its new snapshot shows beside them). Returns how many inputs changed."""
    _ensure_open(review)
    today = clock.today()
    filled = prefill(today, review.id)
    changed = 0
    for entry in review.inputs:
        new = filled.get(entry.key, "")
        if new == entry.snapshot:
            continue
        changed += 1
        if entry.text == entry.snapshot:
            entry.text = new
        entry.snapshot = new
    review.data_cutoff_on = today
    _recount(review)
    log(actor, "management_review.refreshed", "management_review", review.id,
        f"Management review #{review.id}: the inputs' pre-fill taken again ({changed} changed)", None,
        {"data_cutoff_on": today.isoformat(), "changed": changed})
    return changed


def _entry(review: ManagementReview, key: str) -> ReviewInputEntry:
    _rule(mr.input_of, key, field="key")
    return next(i for i in review.inputs if i.key == key)


def save_input(review: ManagementReview, key: str, text: str, nothing_to_report: bool, actor: Actor) -> None:
    """Edit one input's text, or mark it "nothing to report" (then its text may be empty)."""
    _ensure_open(review)
    entry = _entry(review, key)
    text = _text(text, f"text-{key}", "The input")
    before = {"text": entry.text, "nothing_to_report": entry.nothing_to_report}
    entry.text, entry.nothing_to_report = text, bool(nothing_to_report)
    entry.updated_by_name, entry.updated_at = actor.name, clock.now()
    _recount(review)
    ri = mr.input_of(key)
    what = "nothing to report" if nothing_to_report else "edited"
    log(actor, "management_review.input", "management_review", review.id,
        f"Management review #{review.id}: {ri.clause} {what}", before,
        {"text": text, "nothing_to_report": entry.nothing_to_report})


def contribute(review: ManagementReview, key: str, body: str, actor: Actor, may_manage: bool) -> ReviewContribution:
    """A named participant (or whoever runs the review) adds their input to one item."""
    _ensure_open(review)
    if not (may_manage or is_participant(review, actor.id)):
        raise Refusal("Only the review's named participants add input to it.", 403)
    entry = _entry(review, key)
    body = _text(body, f"body-{key}", "Your input")
    if not body:
        raise Refusal("Write your input before sending it.", 422, field=f"body-{key}")
    c = ReviewContribution(author_id=actor.id, author_name=actor.name, body=body, created_at=clock.now())
    entry.contributions.append(c)
    _recount(review)
    log(actor, "management_review.contribution", "management_review", review.id,
        f"Management review #{review.id}: {actor.name} added input to {mr.input_of(key).clause}", None,
        {"key": key, "body": body})
    return c


def add_output(review: ManagementReview, kind: str, description: str, owner: User | None, due: str,
               actor: Actor) -> ReviewAction:
    """An output of 9.3.3 decided during the review; it becomes a task when the review closes."""
    _ensure_open(review)
    description = _text(description, "description", "The action")
    due_on = parse_day(due, "due_on", "Due on")
    _rule(mr.check_output, kind, description, owner is not None, due_on, clock.today(),
          field="description" if kind in mr.OUTPUT_KINDS else "kind")
    action = ReviewAction(kind=kind, description=description, owner_id=owner.id, owner_name=owner.name,
                          due_on=due_on, created_by_name=actor.name, created_at=clock.now())
    review.actions.append(action)
    db.session.flush()
    log(actor, "management_review.output", "management_review", review.id,
        f"Management review #{review.id}: {mr.OUTPUT_KINDS[kind]} — {description}, owned by {owner.name}, due "
        f"{due_on.isoformat()}", None, {"action": action.id, "kind": kind, "owner_id": owner.id})
    return action


def remove_output(review: ManagementReview, action_id: int, actor: Actor) -> None:
    _ensure_open(review)
    action = next((a for a in review.actions if a.id == action_id), None)
    if action is None:
        raise Refusal(f"Management review #{review.id} has no action #{action_id}.", 404)
    review.actions.remove(action)  # delete-orphan: the row goes with it
    log(actor, "management_review.output_removed", "management_review", review.id,
        f"Management review #{review.id}: action “{action.description}” withdrawn", {"action": action_id}, None)


def _task(review: ManagementReview, key: str, title: str, guidance: str, owner_id: int | None, due_on: date):
    stage = db.session.get(Stage, current_stage_key())
    return append_task(stage, key=key, title=title, guidance=guidance, clauses=["9.3.3"], role="client_admin",
                       required=False, allow_not_applicable=False, status="todo", assignee_id=owner_id,
                       start_on=clock.today(), due_on=due_on)


def close_review(review: ManagementReview, conclusion: str, next_review: str, role: str | None,
                 actor: Actor) -> None:
    """Top management closes the review: every output becomes a task, and so does the next review."""
    _ensure_open(review)
    conclusion = _text(conclusion, "conclusion", "The conclusion")
    next_on = parse_day(next_review, "next_review_on", "Next review on")
    today = clock.today()
    _rule(mr.check_closing, review.status, input_states(review), conclusion, next_on, today, review.opened_on, role,
          field="conclusion")
    for a in review.actions:
        short = a.description if len(a.description) <= TITLE_ROOM else a.description[:TITLE_ROOM - 1] + "…"
        task = _task(review, f"mr_{review.id}_{a.id}", f"Management review action: {short}",
                     f"{mr.OUTPUT_KINDS[a.kind]}, decided in the management review of {today.isoformat()}.\n"
                     f"{a.description}", a.owner_id, a.due_on)
        a.task_id = task.id
        if a.owner_id != actor.id:
            announce("task_assigned", f"task/{task.id}", "workspace.task", actor_id=actor.id, to=(a.owner_id,),
                     link_values={"task_id": task.id}, title=task.title)
    # The next review is a due date like any other: one task, so its reminders are the task ladder's.
    _task(review, f"mr_{review.id}_next", "Hold the next management review",
          f"Planned when the management review of {today.isoformat()} closed (9.3.1: at planned intervals).",
          actor.id, next_on)
    review.status, review.conclusion, review.next_review_on = "closed", conclusion, next_on
    review.closed_on, review.closed_by_id, review.closed_by_name = today, actor.id, actor.name
    log(actor, "management_review.closed", "management_review", review.id,
        f"Management review #{review.id} closed by {actor.name} with {len(review.actions)} actions; next review "
        f"{next_on.isoformat()}", {"status": "open"},
        {"status": "closed", "next_review_on": next_on.isoformat(), "actions": [a.id for a in review.actions]})
