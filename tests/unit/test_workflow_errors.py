import datetime as dt

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, finish_stage, new_task, set_task, task_state

from workflows import (
    GateBlocked,
    PlanError,
    TemplateError,
    TransitionError,
    WorkflowError,
    add_task,
    approve_gate,
    check_task_transition,
    load_template,
    new_client_state,
    plan_tasks,
    reopen_stage,
)


def refused(call, *args, **kwargs):
    with pytest.raises(WorkflowError) as exc:
        call(*args, **kwargs)
    return type(exc.value), exc.value.status


def test_status_defaults_and_override():
    assert WorkflowError("x").status == 409
    assert WorkflowError("x", status=403).status == 403
    assert TransitionError("x").status == 409
    assert TransitionError("x", status=422).status == 422
    assert TemplateError(["a", "b"]).status == 422
    assert PlanError("x").status == 422
    assert str(TemplateError(["a", "b"])) == "a; b"


def test_every_rule_says_why_it_refused(template):
    state = client_in(template, "implementation")
    assert refused(reopen_stage, state, "system_design", " ") == (TransitionError, 422)
    assert refused(reopen_stage, state, "internal_audit", "Scope changed") == (TransitionError, 409)
    assert refused(approve_gate, template, state, "internal_audit") == (TransitionError, 409)
    assert refused(approve_gate, template, state, "implementation") == (GateBlocked, 409)
    task = task_state(state, "release_of_services")
    assert refused(check_task_transition, state, task, "finished") == (TransitionError, 422)
    assert refused(check_task_transition, state, task, "not_applicable", "") == (TransitionError, 422)
    locked = task_state(state, "internal_audit_programme")
    assert refused(check_task_transition, state, locked, "done") == (TransitionError, 409)
    policy = task_state(state, "quality_policy")
    assert refused(check_task_transition, state, policy, "not_applicable", "Too small", template=template) == (
        TransitionError,
        422,
    )
    assert refused(add_task, template, "stage_two", new_task()) == (TemplateError, 422)
    assert refused(plan_tasks, template, dt.date(2025, 1, 6), dt.date(2025, 1, 20)) == (PlanError, 422)


def test_approval_keeps_its_own_blocked_message(template):
    state = set_task(finish_stage(new_client_state(template), "initial_audit"), "kickoff_meeting", "todo")
    with pytest.raises(GateBlocked) as exc:
        approve_gate(template, state, "initial_audit")
    assert str(exc.value) == (
        "The gate of “Initial audit (gap analysis)” is blocked: "
        "Required task “Hold the kick-off meeting with top management” is not done"
    )
