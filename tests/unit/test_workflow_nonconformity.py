"""Nonconformity records: grades only for nonconformities, the closing rule naming every unmet criterion,
verification by someone other than the owner, ageing and escalation (workflows/nonconformity.py)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from workflows import TransitionError
from workflows import cycle as wc
from workflows import nonconformity as nc


def refusal(call, *args):
    with pytest.raises(TransitionError) as err:
        call(*args)
    return str(err.value), err.value.status


def test_a_nonconformity_is_graded_and_an_observation_is_not():
    assert nc.severity_for("system_nonconformity", "major") == "major"
    assert nc.severity_for("nonconforming_output", "minor") == "minor"
    assert nc.severity_for("observation", None) == "observation"
    assert nc.severity_for("opportunity", None) == "opportunity"
    assert refusal(nc.severity_for, "complaint", None) == ("Grade the complaint: major or minor.", 422)
    assert refusal(nc.severity_for, "observation", "minor")[1] == 422
    assert refusal(nc.severity_for, "bogus", "minor") == ("Choose what kind of finding this is.", 422)
    assert refusal(nc.check_source, "") == ("Choose where the finding comes from.", 422)
    nc.check_source("cb_stage_2")


def test_findings_recorded_before_kinds_read_as_their_severity_says():
    assert nc.kind_of(None, "major") == "system_nonconformity"
    assert nc.kind_of(None, "opportunity") == "opportunity"
    assert nc.kind_of("complaint", "minor") == "complaint"


def _codes(record, note="Result"):
    return [u.code for u in nc.closure_unmet(record, note)]


def test_a_bare_major_names_every_unmet_criterion():
    bare = nc.RecordState(7, "system_nonconformity", "major")
    assert _codes(bare, "") == [nc.DECISION_MISSING, nc.CAUSE_MISSING, nc.ACTION_MISSING, nc.EVIDENCE_MISSING,
                                nc.VERIFICATION_MISSING]
    message, status = refusal(nc.check_close, bare, "")
    assert status == 409 and message.startswith("Finding #7 cannot close yet: say the result")
    assert "record the root cause" in message and "verify a corrective action as effective" in message


def test_a_minor_closes_with_cause_action_and_evidence_a_major_also_needs_verification():
    done = nc.ActionState(1, done=True)
    minor = nc.RecordState(3, "system_nonconformity", "minor", root_cause="No procedure", evidence_note="Records",
                           actions=(done,))
    assert _codes(minor) == []
    major = nc.RecordState(3, "system_nonconformity", "major", root_cause="No procedure", evidence_note="Records",
                           actions=(done,))
    assert _codes(major) == [nc.VERIFICATION_MISSING]
    verified = nc.RecordState(3, "system_nonconformity", "major", root_cause="x",
                              actions=(nc.ActionState(1, True, "effective", has_evidence=True),))
    assert _codes(verified) == []  # an evidence file on the action's task is evidence too
    nc.check_close(verified, "Done")


def test_an_open_or_ineffective_last_action_holds_the_closure():
    record = nc.RecordState(4, "complaint", "minor", root_cause="x", evidence_note="y",
                            actions=(nc.ActionState(1, True, "not_effective"), nc.ActionState(2, False)))
    assert _codes(record) == [nc.ACTION_OPEN]
    record = nc.RecordState(4, "complaint", "minor", root_cause="x", evidence_note="y",
                            actions=(nc.ActionState(1, True, "not_effective"),))
    assert _codes(record) == [nc.ACTION_NOT_EFFECTIVE]


def test_a_nonconforming_output_needs_its_correction():
    record = nc.RecordState(5, "nonconforming_output", "minor", root_cause="x", evidence_note="y",
                            actions=(nc.ActionState(1, True),))
    assert _codes(record) == [nc.CORRECTION_MISSING]


def test_an_observation_or_opportunity_closes_on_a_decision():
    assert _codes(nc.RecordState(6, "observation", "observation"), "") == [nc.DECISION_MISSING]
    assert _codes(nc.RecordState(6, "opportunity", "opportunity"), "Adopted in the next review") == []


def test_the_owner_cannot_verify_their_own_action():
    assert refusal(nc.check_verifier, 12, 12, "Ann") == (
        "You own this action (Ann): its effectiveness must be verified by someone else (10.2.1 d).", 409)
    nc.check_verifier(12, 13)


def test_a_verification_needs_method_criteria_and_a_done_action():
    day = date(2027, 1, 10)
    assert refusal(nc.check_verification, None, day, "", "x", False)[1] == 422
    assert refusal(nc.check_verification, None, day, "Sample", "", False)[1] == 422
    assert refusal(nc.check_verification, None, None, "Sample", "All ok", False) == (
        "Give the date of the planned check.", 422)
    assert refusal(nc.check_verification, "effective", None, "Sample", "All ok", False)[1] == 409
    assert refusal(nc.check_verification, "maybe", None, "Sample", "All ok", True)[1] == 422
    nc.check_verification(None, day, "Sample", "All ok", False)
    nc.check_verification("not_effective", None, "Sample", "All ok", True)


def test_no_update_for_sixty_days_is_stale():
    now = datetime(2027, 3, 1, tzinfo=timezone.utc)
    assert nc.is_stale("open", now - timedelta(days=60), now)
    assert not nc.is_stale("open", now - timedelta(days=59, hours=23), now)
    assert not nc.is_stale("closed", now - timedelta(days=400), now)


def test_an_overdue_minor_is_proposed_for_escalation_until_decided():
    today = date(2027, 3, 1)
    late = nc.is_overdue("open", [date(2027, 2, 28)], [False], None, None, today)
    assert late and nc.escalation_proposed("minor", late, None)
    assert not nc.escalation_proposed("minor", late, "declined")
    assert not nc.escalation_proposed("major", late, None)
    assert not nc.is_overdue("open", [date(2027, 2, 28)], [True], None, None, today)
    assert not nc.is_overdue("open", [date(2027, 3, 1)], [False], None, None, today)  # due today: not yet
    assert nc.is_overdue("open", [], [], date(2027, 2, 1), None, today)  # the body's deadline passed
    assert not nc.is_overdue("open", [], [], date(2027, 2, 1), date(2027, 1, 30), today)  # answered in time
    assert not nc.is_overdue("closed", [date(2027, 1, 1)], [False], None, None, today)
    assert refusal(nc.check_escalation, "minor", True, "confirmed", " ")[1] == 422
    assert refusal(nc.check_escalation, "minor", False, "declined", "x")[1] == 409
    assert refusal(nc.check_escalation, "major", True, "declined", "x")[1] == 409
    nc.check_escalation("minor", True, "declined", "The supplier delivered late; the plan stands")


def test_certification_body_deadlines_default_to_ninety_and_thirty_days():
    assert nc.response_audit("cb_stage_2") == "stage_2" and nc.response_audit("internal_audit") is None
    held = date(2027, 1, 31)
    assert wc.response_deadline(held, "major") == date(2027, 5, 1)
    assert wc.response_deadline(held, "minor") == date(2027, 3, 2)
    with pytest.raises(wc.CycleError):
        wc.response_deadline(held, "observation")
