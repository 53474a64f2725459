"""Gate criteria that read evidence rather than ticks: the management review (9.3) held with every input and
after the internal audit, every gap-analysis item rated, days of operation, and record instances dated within
them. Pure rules over `ClientState`; `workflows.gates.evaluate_gate` runs them with the others."""
from __future__ import annotations

from datetime import date, timedelta

from .management_review import held_after_audit
from .stages import stage_label
from .state import ClientState
from .template import Template
from .unmet import UnmetCriterion

MR_INPUTS_INCOMPLETE = "mr_inputs_incomplete"
MR_NOT_AFTER_INTERNAL_AUDIT = "mr_not_after_internal_audit"
GAP_ITEMS_UNRATED = "gap_items_unrated"
OPERATING_DAYS_SHORT = "operating_days_short"
RECORD_INSTANCES_SHORT = "record_instances_short"


def management_review_unmet(gate, state: ClientState, stage_key: str) -> list[UnmetCriterion]:
    # 9.3: the review's inputs all given, and the review held after the internal audit (its results are an input).
    unmet = []
    if gate.mr_inputs_complete and not state.management_review_inputs_complete:
        unmet.append(UnmetCriterion(MR_INPUTS_INCOMPLETE, "No management review has every 9.3.2 input given "
                                    "(content or “nothing to report”)", (stage_key,)))
    if gate.mr_after_internal_audit and not held_after_audit(state.management_review_closed_on,
                                                             state.internal_audit_completed_on):
        if state.internal_audit_completed_on is None:
            why = "the internal audit has not been completed yet"
        elif state.management_review_closed_on is None:
            why = "no management review has been closed yet"
        else:
            why = (f"the latest closed one ({state.management_review_closed_on.isoformat()}) is not after the "
                   f"internal audit ({state.internal_audit_completed_on.isoformat()})")
        unmet.append(UnmetCriterion(MR_NOT_AFTER_INTERNAL_AUDIT, "A management review must be held after the "
                                    f"internal audit: {why}", (stage_key,)))
    return unmet


# --------------------------------------------------------------------------
# Evidence over time: the gap checklist, days of operation, record instances
# --------------------------------------------------------------------------


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def operating_window(template: Template, state: ClientState, stage_key: str) -> tuple[str, date | None]:
    """(stage the window starts at, day it was entered or None) for this stage's gate."""
    start = template.stage(stage_key).gate.operating_from or stage_key
    return start, state.entered_on(start)


def evidence_unmet(template: Template, state: ClientState, stage_key: str) -> list[UnmetCriterion]:
    """The unmet criteria of evidence over time of this stage's gate, each naming what is missing.

    Days of operation count from the day the window's stage was entered to `state.today`; record instances
    count when dated in that window (a day in the future does not count). A stage not entered, or a state
    without today's date, meets none of them: a gap in the data never opens a gate.
    """
    gate = template.stage(stage_key).gate
    unmet: list[UnmetCriterion] = []
    if gate.all_gap_items_rated:
        unrated = [c for c in state.gap_items if c not in state.gap_rated]
        if not state.gap_items:
            unmet.append(UnmetCriterion(GAP_ITEMS_UNRATED, "The gap-analysis checklist has no items to rate",
                                        (stage_key,)))
        elif unrated:
            shown = ", ".join(unrated[:12]) + (f" and {len(unrated) - 12} more" if len(unrated) > 12 else "")
            unmet.append(UnmetCriterion(
                GAP_ITEMS_UNRATED,
                f"{len(unrated)} of {_plural(len(state.gap_items), 'gap-analysis checklist item')} "
                f"{'is' if len(unrated) == 1 else 'are'} not rated: clause{'s' if len(unrated) > 1 else ''} {shown}",
                tuple(unrated)))
    if not (gate.min_operating_days or gate.min_record_instances):
        return unmet
    start_stage, since = operating_window(template, state, stage_key)
    today = state.today
    if since is None or today is None:
        why = (f"“{stage_label(start_stage)}” has not been entered yet" if since is None
               else "today's date is not known")
        unmet.append(UnmetCriterion(OPERATING_DAYS_SHORT,
                                    f"The operating period can't be counted: {why}", (start_stage,)))
        return unmet
    if gate.min_operating_days:
        days = (today - since).days
        if days < gate.min_operating_days:
            ready = since + timedelta(days=gate.min_operating_days)
            unmet.append(UnmetCriterion(
                OPERATING_DAYS_SHORT,
                f"At least {_plural(gate.min_operating_days, 'day')} of operation needed since "
                f"“{stage_label(start_stage)}” began on {since.isoformat()}; {days} so far "
                f"(reached on {ready.isoformat()})",
                (start_stage,)))
    for key, minimum in gate.min_record_instances:
        dated = sorted(d for d in state.instances_of(key) if since <= d <= today)
        if len(dated) < minimum:
            doc = template.find_document(key)
            title = doc.title if doc else key
            listed = f" ({', '.join(d.isoformat() for d in dated)})" if dated else ""
            unmet.append(UnmetCriterion(
                RECORD_INSTANCES_SHORT,
                f"{minimum} of “{title}” needed since {since.isoformat()}; {len(dated)} recorded{listed}",
                (key,)))
    return unmet
