"""A finding's target stage: the stage that can remedy it, and so the first gate it holds while it is an
open major (DESIGN §11; `gates.evaluate_gate`).

By default it is the earliest stage, from the one the finding was raised in on, whose tasks carry the
finding's clause. The tasks of the initial audit and of the certification audit do not count: they audit
every clause rather than build any of it, so "no internal audits yet" (9.2) raised at the gap analysis
targets the internal audit stage, and a document-control nonconformity raised at the internal audit stays
there. A finding of several clauses targets the latest of its clauses' stages (only then can all of it be
remedied). A clause no task carries falls back to its parent clause, then to the stage it was raised in.
A consultant may move the target, never before the stage it was raised in.
"""
from __future__ import annotations

from collections.abc import Iterable

from .errors import INVALID_INPUT, TransitionError
from .stages import FIRST_STAGE, LAST_STAGE, STAGE_KEYS, is_before, is_stage, stage_index, stage_label
from .template import Template

# Stages whose tasks assess every clause; they remedy nothing by carrying one.
_AUDITING_STAGES = (FIRST_STAGE, LAST_STAGE)


def split_clauses(text: str | None) -> tuple[str, ...]:
    """A finding's stored clause list ("8.4.1, 8.4.2") as numbers."""
    return tuple(c.strip() for c in (text or "").split(",") if c.strip())


def _carries(refs: Iterable[str], clause: str) -> bool:
    # Work on a sub-clause is work on its parent (as in template.clause_coverage).
    return any(ref == clause or ref.startswith(clause + ".") for ref in refs)


def _parent(clause: str) -> str | None:
    head, sep, _ = clause.rpartition(".")
    return head if sep else None


def default_target_stage(stage_tasks: Iterable[tuple[str, Iterable[str]]], raised_in: str,
                         clauses: Iterable[str]) -> str:
    """The default target for a finding raised in `raised_in` about `clauses`.

    `stage_tasks`: (stage key, the task's clause refs) for every task of the client's template — plain
    pairs, so a migration can pass them straight from a stored template snapshot.
    """
    stage_index(raised_in)
    start = stage_index(raised_in)
    carrying: dict[str, list[tuple[str, ...]]] = {}
    for stage, refs in stage_tasks:
        if is_stage(stage) and stage not in _AUDITING_STAGES and stage_index(stage) >= start:
            carrying.setdefault(stage, []).append(tuple(refs))
    target = raised_in
    for clause in clauses:
        number: str | None = clause
        while number:
            found = next((s for s in STAGE_KEYS if any(_carries(refs, number) for refs in carrying.get(s, ()))),
                         None)
            if found is not None:
                if is_before(target, found):
                    target = found
                break
            number = _parent(number)
    return target


def target_stage_for(template: Template, raised_in: str, clauses: Iterable[str]) -> str:
    """`default_target_stage` over the tasks of a template."""
    return default_target_stage(((s, t.clauses) for s, t in template.iter_tasks()), raised_in, clauses)


def check_target_stage(raised_in: str, target: str) -> str:
    """`target` when a finding raised in `raised_in` may be targeted at it; 422 otherwise."""
    if not is_stage(target):
        raise TransitionError("Choose the stage that will remedy the finding.", status=INVALID_INPUT)
    if is_before(target, raised_in):
        raise TransitionError(f"The finding was raised in “{stage_label(raised_in)}”: it can only be remedied "
                              f"there or in a later stage, not in “{stage_label(target)}”.", status=INVALID_INPUT)
    return target
