from dataclasses import replace

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, finish_stage, set_task

from workflows import (
    ClientState,
    FindingState,
    approve_gate,
    load_template,
    new_client_state,
    overall_progress,
    readiness,
    stage_progress,
)
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


def test_readiness_score_bounds_and_ordering(template):
    fresh = new_client_state(template)
    assert readiness(template, fresh).score == 0
    design = client_in(template, "system_design")
    implementation = client_in(template, "implementation")
    assert 0 < readiness(template, design).score < readiness(template, implementation).score < 100

    done_not_approved = finish_stage(implementation, "implementation")
    approved = approve_gate(template, done_not_approved, "implementation")
    assert readiness(template, implementation).score < readiness(template, done_not_approved).score
    assert readiness(template, done_not_approved).score < readiness(template, approved).score

    last = replace(
        finish_stage(client_in(template, "certification_audit"), "certification_audit"),
        certification_decision="certified",
    )
    assert readiness(template, last).score < 100
    assert readiness(template, approve_gate(template, last, "certification_audit")).score == 100


def test_open_major_findings_penalise_and_score_stays_in_bounds(template):
    state = client_in(template, "internal_audit")
    base = readiness(template, state).score
    one = replace(state, findings=(FindingState(1, "internal_audit", "major"),))
    assert readiness(template, one).score == base - 10
    minor = replace(state, findings=(FindingState(1, "internal_audit", "minor"),))
    assert readiness(template, minor).score == base
    many = replace(state, findings=tuple(FindingState(i, "internal_audit", "major") for i in range(50)))
    assert readiness(template, many).score == 0


def test_readiness_explains_itself_points_earned_minus_major_findings(template):
    state = client_in(template, "system_design")
    clean = readiness(template, state)
    assert clean.open_majors == 0 and clean.penalty == 0 and clean.score == clean.earned > 0
    two = replace(state, findings=(FindingState(1, "initial_audit", "major"), FindingState(2, "initial_audit", "major"),
                                   FindingState(3, "initial_audit", "minor")))
    r = readiness(template, two)
    assert (r.earned, r.open_majors, r.penalty) == (clean.earned, 2, 20)
    assert r.score == max(0, clean.earned - 20)
