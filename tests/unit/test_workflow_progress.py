from dataclasses import replace
from datetime import date

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, set_task

from workflows import ClientState, FindingState, implementation_kpis, new_client_state, overall_progress, stage_progress
from workflows.stages import STAGE_KEYS


def test_stage_and_overall_progress(template):
    state = new_client_state(template)
    assert stage_progress(state) == {key: 0.0 for key in STAGE_KEYS}
    assert overall_progress(state) == 0.0
    required = [t for t in state.tasks if t.stage == "initial_audit" and t.required]
    state = set_task(state, required[0].key, "done")
    state = set_task(state, required[1].key, "not_applicable")
    state = set_task(state, required[2].key, "in_progress")
    assert stage_progress(state)["initial_audit"] == pytest.approx(2 / len(required))
    assert overall_progress(state) == pytest.approx(2 / sum(1 for t in state.tasks if t.required))
    assert stage_progress(ClientState("initial_audit"))["initial_audit"] == 1.0  # nothing required


def test_implementation_kpis_are_computed_from_the_state(template):
    state = client_in(template, "system_design")
    state = replace(state, findings=(FindingState(1, "initial_audit", "major"), FindingState(2, "initial_audit", "minor"),
                                     FindingState(3, "initial_audit", "minor", "closed")))
    today = date(2026, 5, 1)
    due = [("todo", date(2026, 4, 1)), ("in_progress", date(2026, 4, 30)), ("done", date(2026, 3, 1)),
           ("todo", date(2026, 5, 1)), ("todo", None)]
    k = implementation_kpis(state, today, due, date(2026, 3, 1), {"system_design": (date(2026, 2, 20), date(2026, 4, 1))})
    assert k.per_stage["initial_audit"] == 100 and k.per_stage["system_design"] == 0
    assert k.overall == round(100 * overall_progress(state))
    assert (k.stage_time.days_in, k.stage_time.days_planned, k.stage_time.days_over) == (61, 40, 21)
    assert k.overdue_tasks == 2
    assert k.open_findings == {"major": 1, "minor": 1, "observation": 0, "opportunity": 0}
    fresh = implementation_kpis(state, today, [], None, {})
    assert (fresh.stage_time.days_in, fresh.stage_time.days_over) == (None, 0)
