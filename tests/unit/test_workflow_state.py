from workflow_helpers import template  # noqa: F401  (fixtures)
import pytest
from workflow_helpers import client_in

from workflows import (
    CERTIFICATION_DECISIONS,
    ClientState,
    DocumentState,
    FindingState,
    TaskState,
    is_certified,
    is_stage_passed,
    load_template,
    new_client_state,
)


def test_new_client_has_every_task_to_do_and_every_document_in_draft(template):
    state = new_client_state(template)
    assert state.current_stage == "initial_audit"
    assert len(state.tasks) == 62 and {t.status for t in state.tasks} == {"todo"}
    assert len(state.documents) == 53 and {d.status for d in state.documents} == {"draft"}
    assert state.signoffs == frozenset() and state.certification_decision is None


def test_passed_stages_are_those_before_the_current_one_or_signed_off(template):
    state = client_in(template, "implementation")
    assert [is_stage_passed(state, key) for key in ("initial_audit", "system_design", "implementation")] == [
        True,
        True,
        False,
    ]
    assert not is_certified(state)


@pytest.mark.parametrize("decision", [None, *CERTIFICATION_DECISIONS])
def test_state_accepts_no_decision_or_a_real_one(decision):
    assert ClientState("certification_audit", certification_decision=decision).certification_decision == decision


def test_finished_tasks_and_open_major_findings():
    assert [TaskState("a", "initial_audit", True, s).finished for s in ("todo", "in_progress", "done",
                                                                        "not_applicable")] == [
        False,
        False,
        True,
        True,
    ]
    assert FindingState(1, "initial_audit", "major").is_open_major
    assert not FindingState(1, "initial_audit", "major", "closed").is_open_major
    assert not FindingState(1, "initial_audit", "minor").is_open_major


def test_state_rejects_unknown_values():
    with pytest.raises(ValueError):
        TaskState("a", "initial_audit", True, "finished")
    with pytest.raises(ValueError):
        DocumentState("a", "initial_audit", True, "signed")
    with pytest.raises(ValueError):
        FindingState(1, "initial_audit", "critical")
    with pytest.raises(ValueError):
        ClientState("stage_two")
    with pytest.raises(ValueError):
        ClientState("initial_audit", certification_decision="yes")
