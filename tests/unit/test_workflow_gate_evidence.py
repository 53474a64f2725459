"""Gates that check evidence over time (the gap checklist rated, days of operation, record instances) and
findings' target stages."""
from dataclasses import replace
from datetime import date

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, codes, finish_stage

from workflows import FindingState, TemplateError, evaluate_gate, read_template, update_gate
from workflows import target_stage as ts
from workflows.gates import GAP_ITEMS_UNRATED, OPEN_MAJOR_FINDING, OPERATING_DAYS_SHORT, RECORD_INSTANCES_SHORT
from workflows.template import GateCriteria

SEPT = date(2026, 9, 1)


def _with_gate(template, stage, **gate):
    data = template.to_dict()
    for s in data["stages"]:
        if s["key"] == stage:
            s["gate"].update(gate)
    return read_template(data)


def _implementing(t, **extra):
    state = finish_stage(client_in(t, "implementation"), "implementation")
    return replace(state, stage_entered={"implementation": SEPT}, **extra)


# ---------------------------------------------------------------- template data --


def test_every_shipped_gate_applies_none_of_the_new_criteria_by_default(template):
    for stage in template.stages:
        assert not stage.gate.all_gap_items_rated
        assert stage.gate.min_operating_days == 0 and stage.gate.min_record_instances == ()
    assert GateCriteria().to_dict()["min_record_instances"] == {}


def test_criteria_parse_from_the_toml_layout_and_round_trip(template):
    t = _with_gate(template, "implementation", min_operating_days=56,
                   min_record_instances={"kpi_reports": 2, "customer_satisfaction_results": 1})
    gate = t.stage("implementation").gate
    assert gate.min_operating_days == 56
    assert gate.min_record_instances == (("kpi_reports", 2), ("customer_satisfaction_results", 1))
    assert read_template(t.to_dict()) == t
    assert update_gate(t, "implementation", min_operating_days=84).stage("implementation").gate.min_operating_days == 84


def test_bad_criteria_are_each_named(template):
    with pytest.raises(TemplateError) as exc:
        _with_gate(template, "implementation", min_operating_days="eight weeks",
                   min_record_instances={"kpi_reports": "two"})
    joined = "\n".join(exc.value.problems)
    assert "'min_operating_days' must be an integer" in joined
    assert "'kpi_reports' must be a whole number of instances" in joined
    with pytest.raises(TemplateError) as exc:
        _with_gate(template, "implementation", min_operating_days=-1, operating_from="internal_audit",
                   min_record_instances={"quality_policy": 1, "no_such_record": 2, "kpi_reports": 0})
    joined = "\n".join(exc.value.problems)
    assert "min_operating_days must be a whole number of days" in joined
    assert "operating_from must be this stage or an earlier one" in joined
    assert "'quality_policy', a document" in joined
    assert "'no_such_record', which is no record" in joined
    assert "'kpi_reports' must be at least 1" in joined


# ---------------------------------------------------------------- gate 1: the checklist --


def test_gate_one_names_how_many_and_which_clauses_are_unrated(template):
    t = _with_gate(template, "initial_audit", all_gap_items_rated=True)
    state = finish_stage(client_in(t, "initial_audit"), "initial_audit")
    state = replace(state, gap_items=("4.1", "4.2", "9.2", "9.3"), gap_rated={"4.1"})
    result = evaluate_gate(t, state, "initial_audit")
    assert codes(result) == [GAP_ITEMS_UNRATED, "signoff_missing"]
    assert result.unmet[0].message == "3 of 4 gap-analysis checklist items are not rated: clauses 4.2, 9.2, 9.3"
    assert result.unmet[0].refs == ("4.2", "9.2", "9.3")
    done = replace(state, gap_rated={"4.1", "4.2", "9.2", "9.3"})
    assert evaluate_gate(t, done, "initial_audit").ready_for_signoff
    # Without the criterion (every shipped template today) the checklist is not looked at.
    assert evaluate_gate(template, state, "initial_audit").ready_for_signoff


def test_no_checklist_at_all_never_opens_gate_one(template):
    t = _with_gate(template, "initial_audit", all_gap_items_rated=True)
    state = finish_stage(client_in(t, "initial_audit"), "initial_audit")
    assert GAP_ITEMS_UNRATED in codes(evaluate_gate(t, state, "initial_audit"))


# ---------------------------------------------------------------- operating period and instances --


def test_operating_days_count_from_the_stage_entered(template):
    t = _with_gate(template, "implementation", min_operating_days=56)
    state = _implementing(t, today=date(2026, 10, 1))
    result = evaluate_gate(t, state, "implementation")
    assert codes(result) == [OPERATING_DAYS_SHORT, "signoff_missing"]
    assert result.unmet[0].message == ("At least 56 days of operation needed since “Implementation” began on "
                                       "2026-09-01; 30 so far (reached on 2026-10-27)")
    assert evaluate_gate(t, replace(state, today=date(2026, 10, 27)), "implementation").ready_for_signoff


def test_record_instances_count_only_inside_the_window(template):
    t = _with_gate(template, "implementation", min_record_instances={"kpi_reports": 2})
    state = _implementing(t, today=date(2026, 11, 15),
                          record_instances={"kpi_reports": (date(2026, 8, 31), date(2026, 10, 31), date(2026, 12, 1))})
    result = evaluate_gate(t, state, "implementation")
    assert codes(result) == [RECORD_INSTANCES_SHORT, "signoff_missing"]
    # Before the window and after today do not count.
    assert result.unmet[0].message == "2 of “Monthly KPI and objectives reports” needed since 2026-09-01; 1 recorded (2026-10-31)"
    enough = replace(state, record_instances={"kpi_reports": (date(2026, 9, 30), date(2026, 10, 31))})
    assert evaluate_gate(t, enough, "implementation").ready_for_signoff


def test_the_window_can_start_at_an_earlier_stage(template):
    t = _with_gate(template, "internal_audit", operating_from="implementation", min_operating_days=90,
                   min_record_instances={"kpi_reports": 3})
    state = finish_stage(client_in(t, "internal_audit"), "internal_audit")
    state = replace(state, today=date(2026, 12, 1),
                    stage_entered={"implementation": SEPT, "internal_audit": date(2026, 11, 20)},
                    record_instances={"kpi_reports": (date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 30))})
    assert evaluate_gate(t, state, "internal_audit").ready_for_signoff


def test_an_unknown_window_meets_nothing(template):
    t = _with_gate(template, "implementation", min_record_instances={"kpi_reports": 1})
    state = replace(finish_stage(client_in(t, "implementation"), "implementation"), today=date(2026, 12, 1))
    result = evaluate_gate(t, state, "implementation")
    assert result.unmet[0].code == OPERATING_DAYS_SHORT
    assert "“Implementation” has not been entered yet" in result.unmet[0].message


# ---------------------------------------------------------------- target stage --


def test_default_target_is_the_stage_that_remedies_the_clause(template):
    target = lambda raised, *clauses: ts.target_stage_for(template, raised, clauses)  # noqa: E731
    assert target("initial_audit", "9.2") == "internal_audit"  # no internal audits yet
    assert target("initial_audit", "7.5") == "system_design"  # document control is designed first
    assert target("initial_audit", "8.5.2") == "implementation"
    assert target("initial_audit", "7.5", "9.2") == "internal_audit"  # the latest part decides
    assert target("initial_audit", "9.2.2") == "internal_audit"  # a sub-clause no task names: its parent's
    assert target("internal_audit", "7.5") == "internal_audit"  # never before where it was raised
    assert target("certification_audit", "9.2") == "certification_audit"
    assert target("initial_audit") == "initial_audit"  # no clause: where it was raised
    assert target("system_design", "42.1") == "system_design"  # nothing carries it


def test_a_target_is_never_before_the_stage_raised_in():
    assert ts.check_target_stage("system_design", "internal_audit") == "internal_audit"
    with pytest.raises(Exception) as exc:
        ts.check_target_stage("internal_audit", "system_design")
    assert exc.value.status == 422 and "raised in “Internal audit”" in str(exc.value)
    with pytest.raises(Exception):
        ts.check_target_stage("internal_audit", "surveillance")
    assert ts.split_clauses("8.4.1, 8.4.2") == ("8.4.1", "8.4.2") and ts.split_clauses(None) == ()


def test_a_major_holds_only_its_target_stage_and_later(template):
    state = finish_stage(client_in(template, "implementation"), "implementation")
    audits = FindingState(7, "initial_audit", "major", title="No internal audits yet", target_stage="internal_audit")
    state = replace(state, findings=(audits,))
    assert evaluate_gate(template, state, "implementation").ready_for_signoff
    later = finish_stage(client_in(template, "internal_audit"), "internal_audit")
    result = evaluate_gate(template, replace(later, findings=(audits,)), "internal_audit")
    assert codes(result) == [OPEN_MAJOR_FINDING, "signoff_missing"]
    # A finding targeted at an earlier stage says where it should have been remedied.
    design = replace(state, findings=(replace(audits, target_stage="system_design"),))
    assert evaluate_gate(template, design, "implementation").unmet[0].message == (
        "Major finding #7 is open — “No internal audits yet” (to be remedied in “System design”)")
    # Without a target (older findings) it holds from the stage it was raised in, as before.
    old = replace(state, findings=(replace(audits, target_stage=None),))
    assert evaluate_gate(template, old, "implementation").unmet[0].message == (
        "Major finding #7 is open — “No internal audits yet”")
