"""Management review rules (9.3): the 9.3.2 inputs, closing, outputs, next review date, and the two gate flags."""
from dataclasses import replace
from datetime import date

import pytest
from workflow_helpers import client_in, codes, copy, finish_stage, template  # noqa: F401

from workflows import TransitionError, evaluate_gate, read_template
from workflows import management_review as mr
from workflows.gates import MR_INPUTS_INCOMPLETE, MR_NOT_AFTER_INTERNAL_AUDIT
from workflows.template import update_gate

OPENED, CLOSED = date(2027, 3, 1), date(2027, 3, 8)


def all_given(**overrides):
    inputs = {k: mr.InputState(k, text="Reported.") for k in mr.INPUT_KEYS}
    inputs.update(overrides)
    return list(inputs.values())


def test_every_input_of_9_3_2_in_the_standards_order():
    assert mr.INPUT_KEYS == ("a", "b", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "d", "e", "f")
    assert mr.input_of("c4").clause == "9.3.2 c 4"
    assert "Nonconformities" in mr.input_of("c4").label
    with pytest.raises(TransitionError) as err:
        mr.input_of("z")
    assert err.value.status == 422


def test_an_input_is_given_by_text_a_contribution_or_nothing_to_report():
    assert not mr.InputState("a").complete
    assert not mr.InputState("a", text="   \n").complete
    assert mr.InputState("a", text="Two actions done").complete
    assert mr.InputState("a", contributions=1).complete
    assert mr.InputState("a", nothing_to_report=True).complete


def test_missing_inputs_named_in_order_absent_ones_count_as_empty():
    given = [mr.InputState("b", text="x"), mr.InputState("a", nothing_to_report=True)]
    missing = [ri.key for ri in mr.missing_inputs(given)]
    assert missing == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "d", "e", "f"]
    assert mr.inputs_complete(all_given())
    assert not mr.inputs_complete(all_given(c7=mr.InputState("c7")))


def close(**overrides):
    args = dict(status="open", inputs=all_given(), conclusion="The system remains suitable, adequate and effective.",
                next_on=date(2028, 3, 1), closed_on=CLOSED, opened_on=OPENED, role="top_management")
    args.update(overrides)
    mr.check_closing(**args)


def test_closing_when_everything_is_given():
    close()


def test_closing_refused_naming_each_empty_input():
    with pytest.raises(TransitionError) as err:
        close(inputs=all_given(c3=mr.InputState("c3"), e=mr.InputState("e", text=" ")))
    assert err.value.status == 422
    message = str(err.value)
    assert "9.3.2 c 3 Process performance" in message and "9.3.2 e Effectiveness of actions" in message
    assert "9.3.2 a " not in message


@pytest.mark.parametrize("overrides, status, words", [
    (dict(status="closed"), 409, "closed"),
    (dict(role="consultant"), 403, "top management"),
    (dict(role="client_admin"), 403, "top management"),
    (dict(conclusion="ok"), 422, "suitable, adequate"),
    (dict(next_on=None), 422, "next management review"),
    (dict(next_on=CLOSED), 422, "must come after"),
    (dict(next_on=date(2028, 3, 10)), 422, "more than a year"),
    (dict(closed_on=date(2027, 2, 1)), 422, "on or after the day it opened"),
])
def test_closing_refused(overrides, status, words):
    with pytest.raises(TransitionError) as err:
        close(**overrides)
    assert err.value.status == status
    assert words in str(err.value)


def test_a_closed_review_never_changes():
    mr.check_open("open")
    with pytest.raises(TransitionError) as err:
        mr.check_open("closed")
    assert err.value.status == 409


def test_opening_one_at_a_time_and_not_ahead():
    mr.check_opening(OPENED, OPENED, False)
    with pytest.raises(TransitionError) as err:
        mr.check_opening(OPENED, OPENED, True)
    assert err.value.status == 409
    with pytest.raises(TransitionError) as err:
        mr.check_opening(date(2027, 3, 2), OPENED, False)
    assert err.value.status == 422


def test_next_review_within_a_year():
    mr.check_next_review(date(2028, 3, 8), CLOSED)  # 366 days, a leap year's worth
    with pytest.raises(TransitionError):
        mr.check_next_review(date(2028, 3, 9), CLOSED)


@pytest.mark.parametrize("args, words", [
    (("other", "Train two more auditors", True, CLOSED), "improvement"),
    (("resources", "  ", True, CLOSED), "what the action is"),
    (("resources", "Hire", False, CLOSED), "who owns"),
    (("resources", "Hire", True, None), "due"),
    (("resources", "Hire", True, date(2027, 3, 7)), "passed"),
])
def test_outputs_need_kind_description_owner_and_due_date(args, words):
    with pytest.raises(TransitionError) as err:
        mr.check_output(*args, CLOSED)
    assert err.value.status == 422 and words in str(err.value)
    mr.check_output("change", "Revise the quality policy", True, CLOSED, CLOSED)


def test_held_after_the_audit_strictly():
    assert mr.held_after_audit(CLOSED, OPENED)
    assert not mr.held_after_audit(CLOSED, CLOSED)
    assert not mr.held_after_audit(None, OPENED)
    assert not mr.held_after_audit(CLOSED, None)


# --- the gate flags -------------------------------------------------------------------------

def test_flags_default_off_so_existing_templates_behave_as_before(template):  # noqa: F811
    for stage in template.stages:
        assert not stage.gate.mr_inputs_complete and not stage.gate.mr_after_internal_audit
    state = finish_stage(client_in(template, "internal_audit"), "internal_audit")
    assert evaluate_gate(template, state, "internal_audit").ready_for_signoff


@pytest.fixture
def gated(copy):  # noqa: F811
    """A template whose internal-audit gate asks for the management review."""
    return update_gate(copy, "internal_audit", mr_inputs_complete=True, mr_after_internal_audit=True)


def test_the_flags_survive_the_template_file_round_trip(gated):
    again = read_template(gated.to_dict())
    assert again.stage("internal_audit").gate.mr_inputs_complete
    assert again.stage("internal_audit").gate.mr_after_internal_audit


def test_gate_held_until_a_complete_review_closes_after_the_audit(gated):
    state = finish_stage(client_in(gated, "internal_audit"), "internal_audit")
    result = evaluate_gate(gated, state, "internal_audit")
    assert codes(result) == [MR_INPUTS_INCOMPLETE, MR_NOT_AFTER_INTERNAL_AUDIT, "signoff_missing"]
    assert "internal audit has not been completed" in result.unmet[1].message

    audited = replace(state, internal_audit_completed_on=OPENED)
    result = evaluate_gate(gated, audited, "internal_audit")
    assert "no management review has been closed" in result.unmet[1].message

    too_early = replace(audited, management_review_inputs_complete=True, management_review_closed_on=OPENED)
    result = evaluate_gate(gated, too_early, "internal_audit")
    assert codes(result) == [MR_NOT_AFTER_INTERNAL_AUDIT, "signoff_missing"]
    assert "2027-03-01" in result.unmet[0].message

    held = replace(too_early, management_review_closed_on=CLOSED)
    result = evaluate_gate(gated, held, "internal_audit")
    assert result.ready_for_signoff and codes(result) == ["signoff_missing"]


def test_other_stages_keep_their_gates(gated):
    state = finish_stage(client_in(gated, "implementation"), "implementation")
    assert codes(evaluate_gate(gated, state, "implementation")) == ["signoff_missing"]
