import datetime as dt

import pytest

from workflows import (
    CERTIFICATION_DECISIONS,
    DOCUMENT_STATUSES,
    FINDING_SEVERITIES,
    STAGE_KEYS,
    TransitionError,
    WorkflowError,
    check_certification_decision,
    check_certification_stage,
    check_close_finding,
    check_document_transition,
    check_new_finding,
    check_reopen_finding,
    check_stage_open,
    is_open_task,
    is_overdue,
)

TODAY = dt.date(2025, 3, 10)


def refusal(call, *args):
    """(message, status) of the TransitionError the call raises."""
    with pytest.raises(TransitionError) as exc:
        call(*args)
    assert isinstance(exc.value, WorkflowError)
    return str(exc.value), exc.value.status


# ------------------------------------------------------------ open, overdue --


def test_open_tasks_are_to_do_or_in_progress():
    assert [is_open_task(s) for s in ("todo", "in_progress", "done", "not_applicable")] == [True, True, False, False]


@pytest.mark.parametrize(
    "status, due_on, overdue",
    [
        ("todo", dt.date(2025, 3, 9), True),
        ("in_progress", dt.date(2024, 12, 31), True),
        ("todo", TODAY, False),  # due today is not late yet
        ("todo", dt.date(2025, 3, 11), False),
        ("todo", None, False),
        ("done", dt.date(2025, 3, 9), False),
        ("not_applicable", dt.date(2025, 3, 9), False),
    ],
)
def test_overdue_is_open_and_due_before_today(status, due_on, overdue):
    assert is_overdue(status, due_on, TODAY) is overdue


# --------------------------------------------------------------- documents --


@pytest.mark.parametrize("new_status", ["draft", "in_review", "obsolete"])
@pytest.mark.parametrize("may_approve", [True, False])
def test_anyone_may_move_a_document_between_the_other_statuses(new_status, may_approve):
    assert check_document_transition("approved", new_status, may_approve) is True


def test_approving_needs_the_right_to_approve():
    assert check_document_transition("in_review", "approved", True) is True
    assert refusal(check_document_transition, "in_review", "approved", False) == (
        "Only a consultant or the client's admin can approve documents.",
        403,
    )


def test_even_an_already_approved_document_cannot_be_approved_without_the_right():
    assert refusal(check_document_transition, "approved", "approved", False) == (
        "Only a consultant or the client's admin can approve documents.",
        403,
    )


@pytest.mark.parametrize("new_status", ["signed", "", None, "Approved"])
def test_unknown_document_status_is_refused(new_status):
    assert refusal(check_document_transition, "draft", new_status, True) == ("Choose a valid document status.", 422)


@pytest.mark.parametrize("status", DOCUMENT_STATUSES)
def test_setting_the_same_status_changes_nothing(status):
    assert check_document_transition(status, status, True) is False


# ---------------------------------------------------------------- findings --


@pytest.mark.parametrize("severity", FINDING_SEVERITIES)
@pytest.mark.parametrize("stage", STAGE_KEYS)
def test_a_finding_needs_a_severity_a_title_and_a_stage(stage, severity):
    assert check_new_finding(stage, severity, "Calibration records missing") is None


@pytest.mark.parametrize(
    "stage, severity, title, message",
    [
        ("implementation", "critical", "Calibration records missing", "Choose a severity."),
        ("implementation", None, "Calibration records missing", "Choose a severity."),
        ("implementation", "major", "   ", "Describe the finding in a short title."),
        ("implementation", "major", None, "Describe the finding in a short title."),
        ("stage_two", "major", "Calibration records missing", "Choose a stage."),
        (None, "major", "Calibration records missing", "Choose a stage."),
        # Checked in this order, so the first thing to fix is named.
        (None, "critical", "", "Choose a severity."),
        (None, "minor", "", "Describe the finding in a short title."),
    ],
)
def test_an_incomplete_finding_is_refused(stage, severity, title, message):
    assert refusal(check_new_finding, stage, severity, title) == (message, 422)


def test_an_open_finding_can_be_closed_once():
    assert check_close_finding("open", 12, "Supplier evaluation done and filed") is None
    assert refusal(check_close_finding, "closed", 12, "Again") == ("Finding #12 is already closed.", 409)


def test_closing_a_finding_with_an_unknown_status_is_a_programming_error():
    with pytest.raises(ValueError, match="finding 12: unknown status 'resolved'"):
        check_close_finding("resolved", 12, "note")


# --------------------------------------------------- certification decision --


def test_the_certification_decisions():
    assert CERTIFICATION_DECISIONS == ("certified", "not_certified", "pending")
    for decision in CERTIFICATION_DECISIONS:
        assert check_certification_decision(decision) is None


@pytest.mark.parametrize("decision", [None, "", "yes", "Certified"])
def test_anything_else_is_not_a_decision(decision):
    assert refusal(check_certification_decision, decision) == ("Choose the certification body's decision.", 422)


@pytest.mark.parametrize("note", [None, "", "   "])
def test_closing_a_finding_needs_a_note(note):
    assert refusal(check_close_finding, "open", 12, note) == ("Say how finding #12 was remedied before closing it.", 422)


def test_a_closed_finding_reopens_with_a_reason():
    assert check_reopen_finding("closed", 12, "Seen again at the certification audit") is None
    assert refusal(check_reopen_finding, "closed", 12, " ") == ("Say why finding #12 is reopened.", 422)
    # Open already is the first thing to say, reason or not.
    assert refusal(check_reopen_finding, "open", 12, "") == ("Finding #12 is open already.", 409)
    with pytest.raises(ValueError, match="unknown status 'resolved'"):
        check_reopen_finding("resolved", 12, "x")


# ------------------------------------------------------- signed-off stages --


@pytest.mark.parametrize("status", ["current", "upcoming"])
def test_a_stage_not_passed_is_open(status):
    assert check_stage_open("implementation", status) is None


def test_a_passed_stage_changes_only_by_reopening():
    assert refusal(check_stage_open, "implementation", "passed") == (
        "The Implementation gate has passed; reopen the stage to change its tasks (a consultant can, on the Gates "
        "page, giving a reason).", 409)
    message, status = refusal(check_stage_open, "system_design", "passed", "documents")
    assert message.startswith("The System design gate has passed; reopen the stage to change its documents")
    assert status == 409


@pytest.mark.parametrize("stage", [s for s in STAGE_KEYS if s != "certification_audit"])
def test_the_certification_decision_waits_for_the_certification_audit(stage):
    message, status = refusal(check_certification_stage, stage, False)
    assert status == 409 and message.startswith("The certification body's decision is recorded in the "
                                                "Certification audit stage; the client is in ")


def test_the_certification_decision_is_recorded_in_its_stage_until_its_gate_passes():
    assert check_certification_stage("certification_audit", False) is None
    message, status = refusal(check_certification_stage, "certification_audit", True)
    assert status == 409 and "gate has passed; reopen the stage to change its decision" in message
