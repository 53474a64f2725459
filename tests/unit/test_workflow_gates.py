import json
from dataclasses import replace

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, codes, finish_stage, set_document, set_task, task_state

from workflows import (
    CERTIFICATION_DECISION_MISSING,
    DOCUMENT_NOT_APPROVED,
    OPEN_MAJOR_FINDING,
    SIGNOFF_MISSING,
    STAGE_KEYS,
    STAGE_NOT_CURRENT,
    TASK_NOT_DONE,
    FindingState,
    GateBlocked,
    GateResult,
    TaskState,
    TransitionError,
    approve_gate,
    approved_on_marking,
    can_work_on,
    check_gate_request,
    check_na_approval,
    check_task_transition,
    copy_template,
    evaluate_gate,
    is_certified,
    load_template,
    new_client_state,
    reopen_stage,
    update_gate,
)


# ------------------------------------------------------ each unmet criterion --


def test_fresh_client_gate_names_every_required_task_and_document(template):
    state = new_client_state(template)
    result = evaluate_gate(template, state, "initial_audit")
    stage = template.stage("initial_audit")
    assert not result.passed and not result.ready_for_signoff
    assert codes(result).count(TASK_NOT_DONE) == len(stage.required_tasks)
    assert codes(result).count(DOCUMENT_NOT_APPROVED) == len(stage.required_documents)
    messages = [u.message for u in result.unmet]
    assert "Required task “Hold the kick-off meeting with top management” is not done" in messages
    assert "Required record “Gap analysis report” is not approved (status: draft)" in messages
    assert ("kickoff_meeting",) in [u.refs for u in result.unmet]


def test_task_not_done_is_cleared_by_done_or_not_applicable(template):
    state = finish_stage(new_client_state(template), "initial_audit")
    state = set_task(state, "provisional_scope", "in_progress")
    result = evaluate_gate(template, state, "initial_audit")
    assert [(u.code, u.refs) for u in result.unmet if u.code != SIGNOFF_MISSING] == [
        (TASK_NOT_DONE, ("provisional_scope",))
    ]
    for status in ("done", "not_applicable"):
        cleared = evaluate_gate(template, set_task(state, "provisional_scope", status), "initial_audit")
        assert TASK_NOT_DONE not in codes(cleared)


def test_optional_tasks_and_documents_do_not_hold_the_gate():
    v1 = load_template("iso9001-2015", 1)  # in v2 the implementation plan is required
    state = finish_stage(new_client_state(v1), "initial_audit")
    state = set_document(state, "implementation_plan", "draft")  # optional record in v1
    assert evaluate_gate(v1, state, "initial_audit").ready_for_signoff


def test_a_not_applicable_decision_waiting_for_approval_holds_the_gate(template):
    state = finish_stage(new_client_state(template), "initial_audit")
    pending = replace(state, tasks=tuple(replace(t, status="not_applicable", na_approved=False)
                                         if t.key == "provisional_scope" else t for t in state.tasks))
    result = evaluate_gate(template, pending, "initial_audit")
    [unmet] = [u for u in result.unmet if u.code == TASK_NOT_DONE]
    assert unmet.refs == ("provisional_scope",) and "waits for a consultant's approval" in unmet.message
    approved = replace(state, tasks=tuple(replace(t, status="not_applicable", na_approved=True)
                                          if t.key == "provisional_scope" else t for t in state.tasks))
    assert TASK_NOT_DONE not in codes(evaluate_gate(template, approved, "initial_audit"))


def test_a_required_task_missing_from_the_state_is_not_done(template):
    state = finish_stage(new_client_state(template), "initial_audit")
    state = replace(state, tasks=tuple(t for t in state.tasks if t.key != "kickoff_meeting"))
    result = evaluate_gate(template, state, "initial_audit")
    assert [u.refs for u in result.unmet if u.code == TASK_NOT_DONE] == [("kickoff_meeting",)]
    assert "missing from the client's task list" in result.unmet[0].message


def test_client_specific_task_and_title_are_honoured(template):
    state = finish_stage(new_client_state(template), "initial_audit")
    extra = TaskState("visit_second_office", "initial_audit", True, "todo", title="Visit the Leeds office")
    state = replace(state, tasks=state.tasks + (extra,))
    result = evaluate_gate(template, state, "initial_audit")
    assert "Required task “Visit the Leeds office” is not done" in [u.message for u in result.unmet]


@pytest.mark.parametrize("status", ["draft", "in_review", "obsolete"])
def test_document_not_approved_until_approved(template, status):
    state = finish_stage(new_client_state(template), "initial_audit")
    state = set_document(state, "gap_analysis_report", status)
    result = evaluate_gate(template, state, "initial_audit")
    assert [u.code for u in result.blocking] == [DOCUMENT_NOT_APPROVED]
    assert f"(status: {status.replace('_', ' ')})" in result.blocking[0].message
    state = set_document(state, "gap_analysis_report", "approved")
    assert evaluate_gate(template, state, "initial_audit").blocking == []


def test_open_major_finding_blocks_and_closing_clears(template):
    state = finish_stage(client_in(template, "implementation"), "implementation")
    gap = FindingState(12, "initial_audit", "major", "open", title="No management review")
    state = replace(state, findings=(gap,))
    result = evaluate_gate(template, state, "implementation")
    assert [(u.code, u.message, u.refs) for u in result.blocking] == [
        (OPEN_MAJOR_FINDING, "Major finding #12 is open — “No management review”", (12,))
    ]
    closed = replace(state, findings=(replace(gap, status="closed"),))
    assert evaluate_gate(template, closed, "implementation").ready_for_signoff


def test_only_open_major_findings_from_this_or_earlier_stages_count(template):
    state = finish_stage(client_in(template, "implementation"), "implementation")
    state = replace(
        state,
        findings=(
            FindingState(1, "implementation", "minor"),
            FindingState(2, "implementation", "observation"),
            FindingState(3, "implementation", "opportunity"),
            FindingState(4, "internal_audit", "major"),  # raised in a later stage
        ),
    )
    assert evaluate_gate(template, state, "implementation").ready_for_signoff


def test_which_criteria_apply_comes_from_the_template(template):
    # The initial audit gate ignores gap-analysis findings by design (template data).
    state = finish_stage(new_client_state(template), "initial_audit")
    state = replace(state, findings=(FindingState(7, "initial_audit", "major"),))
    assert evaluate_gate(template, state, "initial_audit").ready_for_signoff
    strict = update_gate(copy_template(template, "strict", "Strict"), "initial_audit", no_open_major_findings=True)
    assert OPEN_MAJOR_FINDING in codes(evaluate_gate(strict, state, "initial_audit"))
    relaxed = update_gate(
        template_copy := copy_template(template, "relaxed", "Relaxed"),
        "initial_audit",
        required_tasks_done=False,
        required_documents_approved=False,
        consultant_signoff=False,
    )
    fresh = new_client_state(template_copy)
    result = evaluate_gate(relaxed, fresh, "initial_audit")
    assert result.passed and result.unmet == []


def test_signoff_missing_is_the_only_thing_left_when_ready(template):
    state = finish_stage(new_client_state(template), "initial_audit")
    result = evaluate_gate(template, state, "initial_audit")
    assert codes(result) == [SIGNOFF_MISSING]
    assert result.unmet[0].message == "Consultant sign-off for “Initial audit (gap analysis)” is missing"
    assert result.ready_for_signoff and not result.passed and result.awaiting_signoff


def test_signoff_clears_once_approved(template):
    state = approve_gate(template, finish_stage(new_client_state(template), "initial_audit"), "initial_audit")
    result = evaluate_gate(template, state, "initial_audit")
    assert result.passed and result.ready_for_signoff and not result.awaiting_signoff


@pytest.mark.parametrize(
    "decision, message",
    [
        (None, "has not been recorded"),
        ("pending", "still pending"),
        ("not_certified", "decided not to certify"),
    ],
)
def test_certification_decision_required_at_the_last_gate(template, decision, message):
    state = finish_stage(client_in(template, "certification_audit"), "certification_audit")
    state = replace(state, certification_decision=decision)
    result = evaluate_gate(template, state, "certification_audit")
    assert [u.code for u in result.blocking] == [CERTIFICATION_DECISION_MISSING]
    assert message in result.blocking[0].message
    certified = replace(state, certification_decision="certified")
    assert evaluate_gate(template, certified, "certification_audit").ready_for_signoff


def test_certification_decision_not_checked_before_the_last_stage(template):
    state = finish_stage(new_client_state(template), "initial_audit")
    assert CERTIFICATION_DECISION_MISSING not in codes(evaluate_gate(template, state, "initial_audit"))


def test_stage_not_current_for_a_stage_not_yet_entered(template):
    state = new_client_state(template)
    result = evaluate_gate(template, state, "implementation")
    assert result.unmet[0].code == STAGE_NOT_CURRENT
    assert "“Implementation” has not been entered yet" in result.unmet[0].message
    assert TASK_NOT_DONE in codes(result)  # still previews what is left
    finished = finish_stage(state, "implementation")
    preview = evaluate_gate(template, finished, "implementation")
    assert [u.code for u in preview.blocking] == [STAGE_NOT_CURRENT]
    assert not preview.ready_for_signoff


def test_gate_result_serialises(template):
    result = evaluate_gate(template, new_client_state(template), "system_design")
    assert json.loads(json.dumps(result.to_dict()))["stage"] == "system_design"


# ------------------------------------------------------------ transitions --


def test_approve_advances_and_records_signoff(template):
    before = finish_stage(new_client_state(template), "initial_audit")
    after = approve_gate(template, before, "initial_audit")
    assert after.current_stage == "system_design"
    assert after.signoffs == {"initial_audit"}
    assert before.current_stage == "initial_audit" and before.signoffs == frozenset()


def test_approve_blocked_lists_every_unmet_criterion(template):
    state = finish_stage(client_in(template, "implementation"), "implementation")
    state = set_task(state, "release_of_services", "in_progress")
    state = set_task(state, "supplier_evaluation", "todo")
    state = set_document(state, "kpi_reports", "in_review")
    state = replace(
        state, findings=(FindingState(3, "system_design", "major"), FindingState(4, "implementation", "major"))
    )
    with pytest.raises(GateBlocked) as exc:
        approve_gate(template, state, "implementation")
    blocked = exc.value
    assert [(u.code, u.refs) for u in blocked.unmet] == [
        (TASK_NOT_DONE, ("release_of_services",)),
        (TASK_NOT_DONE, ("supplier_evaluation",)),
        (DOCUMENT_NOT_APPROVED, ("kpi_reports",)),
        (OPEN_MAJOR_FINDING, (3,)),
        (OPEN_MAJOR_FINDING, (4,)),
    ]
    assert SIGNOFF_MISSING in codes(blocked.result)  # in the result, not in the blocking list
    for u in blocked.unmet:
        assert u.message in str(blocked)


def test_approve_a_stage_that_is_not_current_is_refused(template):
    state = finish_stage(client_in(template, "system_design"), "implementation")
    with pytest.raises(TransitionError, match="client is in “System design”"):
        approve_gate(template, state, "implementation")
    with pytest.raises(TransitionError):
        approve_gate(template, state, "initial_audit")  # already passed


def test_full_path_to_certification(template):
    state = client_in(template, "certification_audit")
    assert state.signoffs == set(STAGE_KEYS[:-1])
    state = replace(finish_stage(state, "certification_audit"), certification_decision="certified")
    state = approve_gate(template, state, "certification_audit")
    assert is_certified(state) and state.current_stage == "certification_audit"
    assert evaluate_gate(template, state, "certification_audit").passed
    with pytest.raises(TransitionError, match="already approved"):
        approve_gate(template, state, "certification_audit")


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reopen_needs_a_reason(template, reason):
    state = client_in(template, "implementation")
    with pytest.raises(TransitionError, match="needs a reason"):
        reopen_stage(state, "system_design", reason)


def test_reopen_goes_back_and_withdraws_later_signoffs(template):
    state = client_in(template, "internal_audit")
    reopened = reopen_stage(state, "system_design", "Scope changed: new IT support service line")
    assert reopened.current_stage == "system_design"
    assert reopened.signoffs == {"initial_audit"}
    assert evaluate_gate(template, reopened, "system_design").ready_for_signoff  # work is still done
    assert not can_work_on(reopened, "implementation")


def test_reopen_only_a_passed_stage(template):
    state = client_in(template, "implementation")
    for stage in ("implementation", "internal_audit"):
        with pytest.raises(TransitionError, match="has not been passed"):
            reopen_stage(state, stage, "Because")


def test_reopen_after_certification_clears_the_decision(template):
    state = client_in(template, "certification_audit")
    state = approve_gate(
        template,
        replace(finish_stage(state, "certification_audit"), certification_decision="certified"),
        "certification_audit",
    )
    reopened = reopen_stage(state, "certification_audit", "Certificate suspended after surveillance audit")
    assert not is_certified(reopened)
    assert reopened.certification_decision is None


# ------------------------------------------------------- gate review requests --


def test_gate_review_can_be_requested_when_only_the_signoff_is_missing(template):
    state = finish_stage(client_in(template, "system_design"), "system_design")
    result = check_gate_request(template, state, "system_design", pending=False)
    assert isinstance(result, GateResult)
    assert (result.stage, result.passed, result.ready_for_signoff) == ("system_design", False, True)
    assert codes(result) == [SIGNOFF_MISSING]


@pytest.mark.parametrize("stage", ["initial_audit", "implementation"])
def test_gate_review_only_for_the_current_stage(template, stage):
    state = finish_stage(finish_stage(client_in(template, "system_design"), "system_design"), "implementation")
    with pytest.raises(TransitionError) as exc:
        check_gate_request(template, state, stage, pending=False)
    assert str(exc.value) == "Only the current stage's gate can be reviewed; the client is in System design."
    assert exc.value.status == 409


def test_gate_review_not_twice(template):
    state = finish_stage(client_in(template, "system_design"), "system_design")
    with pytest.raises(TransitionError) as exc:
        check_gate_request(template, state, "system_design", pending=True)
    assert str(exc.value) == "A review of this gate is already waiting for the consultant."
    assert exc.value.status == 409


def test_gate_review_refused_while_the_gate_is_blocked_names_every_criterion(template):
    state = finish_stage(client_in(template, "implementation"), "implementation")
    state = set_task(state, "release_of_services", "in_progress")
    state = set_document(state, "kpi_reports", "in_review")
    state = replace(state, findings=(FindingState(7, "implementation", "major", title="No release records"),))
    with pytest.raises(GateBlocked) as exc:
        check_gate_request(template, state, "implementation", pending=False)
    blocked = exc.value
    assert [(u.code, u.refs) for u in blocked.unmet] == [
        (TASK_NOT_DONE, ("release_of_services",)),
        (DOCUMENT_NOT_APPROVED, ("kpi_reports",)),
        (OPEN_MAJOR_FINDING, (7,)),
    ]
    assert str(blocked) == (
        "The gate can't be reviewed yet: "
        "Required task “Release deliverables only after an internal review” is not done; "
        "Required record “Monthly KPI and objectives reports” is not approved (status: in review); "
        "Major finding #7 is open — “No release records”."
    )
    assert blocked.status == 409
    assert blocked.result == evaluate_gate(template, state, "implementation")


# ---------------------------------------------------------- task transitions --


def test_locked_stage_task_cannot_be_completed(template):
    state = new_client_state(template)
    task = task_state(state, "competence_and_training")
    assert not can_work_on(state, "implementation")
    with pytest.raises(TransitionError, match="stage “Implementation” is locked"):
        check_task_transition(state, task, "done")


def test_current_and_passed_stage_tasks_can_change(template):
    state = client_in(template, "system_design")
    assert check_task_transition(state, task_state(state, "quality_policy"), "done").status == "done"
    assert check_task_transition(state, task_state(state, "kickoff_meeting"), "todo").status == "todo"


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_not_applicable_needs_a_reason(template, reason):
    state = client_in(template, "system_design")
    with pytest.raises(TransitionError, match="needs a reason"):
        check_task_transition(state, task_state(state, "design_and_development"), "not_applicable", reason)


def test_not_applicable_with_a_reason(template):
    state = client_in(template, "system_design")
    task = task_state(state, "design_and_development")
    updated = check_task_transition(
        state,
        task,
        "not_applicable",
        "Services delivered to client specification; 8.3 excluded in the scope",
        template=template,
    )
    assert updated.status == "not_applicable" and task.status == "todo"


def test_template_can_forbid_not_applicable_for_a_required_task(template):
    state = client_in(template, "system_design")
    task = task_state(state, "quality_policy")
    with pytest.raises(TransitionError, match="cannot be marked not applicable"):
        check_task_transition(state, task, "not_applicable", "Outside the scope: we are too small",
                              template=template)
    # Relaxed for one client: the rule applies to required tasks only.
    optional = replace(task, required=False)
    assert (
        check_task_transition(state, optional, "not_applicable", "Optional here, see the scope statement",
                              template=template).status
        == "not_applicable"
    )


@pytest.mark.parametrize("reason", [
    "We don't do that",  # no reference to the scope
    "Not relevant for this company's services at all",  # long enough, still no scope
    "scope",  # too short to say why
    "x" * 1990 + " scope 4.3 " + "x" * 10,  # over 2,000 characters
    "Scope: excluded\x00",
])
def test_not_applicable_reason_must_refer_to_the_scope(template, reason):
    state = client_in(template, "system_design")
    with pytest.raises(TransitionError) as err:
        check_task_transition(state, task_state(state, "design_and_development"), "not_applicable", reason,
                              template=template)
    assert err.value.status == 422


@pytest.mark.parametrize("reason", [
    "Scope statement: we deliver to the client's specification only",
    "Excluded under 4.3: no bespoke design in our services",
])
def test_a_reason_naming_the_scope_is_accepted(template, reason):
    state = client_in(template, "system_design")
    assert check_task_transition(state, task_state(state, "design_and_development"), "not_applicable", reason,
                                 template=template).status == "not_applicable"


def test_only_a_pending_not_applicable_decision_can_be_approved():
    check_na_approval("not_applicable", False, "Design")
    for status, approved, words in (("todo", False, "nothing to approve"), ("done", False, "nothing to approve"),
                                    ("not_applicable", True, "approved already")):
        with pytest.raises(TransitionError, match=words) as err:
            check_na_approval(status, approved, "Design")
        assert err.value.status == 409
    assert approved_on_marking(True) and not approved_on_marking(False)


def test_unknown_task_status_is_rejected(template):
    state = new_client_state(template)
    with pytest.raises(TransitionError, match="Unknown task status 'finished'"):
        check_task_transition(state, task_state(state, "kickoff_meeting"), "finished")
