"""Demo data: a management review held asynchronously over a week, for a client past its internal audit.

It opens two days after the internal audit was completed with the director and the staff member as participants;
over the week they add their input, the consultant marks what has nothing to report, and the director closes it
with two actions (tasks) and the next review in six months. A client whose week is not over yet has it still
open. Called by app/demo.py inside the client's tenant scope; never commits (the caller saves)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from . import clock
from .extensions import db
from .models import Task, User
from .workspace import operations as ops
from .workspace.operations import audit_gate as audit_ops

WEEK = 7
INPUT_DAYS = {  # which day of the week whose input arrives, and what it says
    "c1": (1, "staff", "Two complaints this quarter, both about late delivery; four written compliments."),
    "c7": (2, "staff", "Carrier B was late three times in May; the packaging supplier was on time throughout."),
    "d": (3, "director", "The planning desk is one person short from September."),
    "b": (4, "director", "A new competitor opened in the region; our largest customer asks for ISO 9001 by "
                         "next spring."),
    "e": (5, "staff", "The risk of losing the planner was addressed: the procedure is written and a second person "
                      "trained."),
}


def _at(day, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), timezone.utc)


def seed_review(staff_id: int, director_id: int | None, consultant_id: int | None) -> None:
    """One review for a client whose internal audit is done (tasks of the template's audit task)."""
    audit = db.session.scalar(select(Task).where(Task.key == "conduct_internal_audits", Task.status == "done"))
    if audit is None or audit.completed_at is None or director_id is None or ops.reviews():
        return
    staff, director = db.session.get(User, staff_id), db.session.get(User, director_id)
    runner = ops.Actor.of(db.session.get(User, consultant_id)) if consultant_id else ops.Actor.of(director)
    who = {"staff": ops.Actor.of(staff), "director": ops.Actor.of(director)}
    today = clock.today()
    # Two days after the internal audit: the template's task or the programme's last completed audit, the later.
    completed = [a.completed_on for a in audit_ops.audits() if a.completed_on] + [audit.completed_at.date()]
    opened = min(max(completed) + timedelta(days=2), today)
    with clock.frozen_at(_at(opened, 9)):
        review = ops.open_review(opened.isoformat(), "async", "#management-review channel", [director, staff],
                                 runner)
    for key, (offset, author, words) in INPUT_DAYS.items():
        day = opened + timedelta(days=offset)
        if day > today:
            return  # the week is still running: the review stays open with the input so far
        with clock.frozen_at(_at(day, 11)):
            ops.contribute(review, key, words, who[author], False)
    closing = opened + timedelta(days=WEEK)
    if closing > today:
        return
    with clock.frozen_at(_at(closing - timedelta(days=1), 16)):
        for entry in review.inputs:
            if not entry.text and not entry.contributions:
                ops.save_input(review, entry.key, "", True, runner)
    with clock.frozen_at(_at(closing, 15)):
        ops.add_output(review, "improvement", "Evaluate a second carrier for the northern routes", staff,
                       (closing + timedelta(days=45)).isoformat(), who["director"])
        ops.add_output(review, "resources", "Recruit a second planner before September", director,
                       (closing + timedelta(days=60)).isoformat(), who["director"])
        ops.close_review(review, "The quality management system remains suitable, adequate and effective and in "
                         "line with our strategy; delivery performance and planning capacity need the two actions "
                         "decided.", (closing + timedelta(days=182)).isoformat(), "top_management", who["director"])
