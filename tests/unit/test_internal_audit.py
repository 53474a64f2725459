"""The internal audit's rules: the checklist from the audited clauses, the programme's coverage, the cycle rule,
impartiality, completing an audit, and the two gate criteria a template can set."""
from dataclasses import replace
from datetime import date

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, codes, finish_stage

from workflows import evaluate_gate, load_template
from workflows.template.parse import parse_template
from workflows import internal_audit as ia
from workflows.gap_analysis import load_checklist
from workflows.gates import AUDIT_COVERAGE_INCOMPLETE, AUDIT_NC_WITHOUT_CA

CHECKLIST = load_checklist()
EVERYTHING = ia.CLAUSE_GROUPS


def audit(id_, clauses, processes=(), status=ia.COMPLETED, on=date(2026, 5, 1)):
    return ia.AuditState(id_, f"IA-{id_:03}", status, tuple(clauses), tuple(processes),
                         on if status == ia.COMPLETED else None)


SALES = ia.ProcessState(1, "Sales and quoting", owner_id=10, risk="high")
DELIVERY = ia.ProcessState(2, "Service delivery", owner_id=11, risk="medium")
OUT = ia.ProcessState(3, "Canteen", owner_id=12, risk="low", in_scope=False)


# --- the checklist ------------------------------------------------------------------------------------

def test_clause_scope_reads_groups_and_requirements_in_order_without_repeats():
    assert ia.parse_clause_scope("9.2, 4; 8.4 8 4", CHECKLIST) == ("4", "8", "9.2")


@pytest.mark.parametrize("typed", ["", "  ,", "11", "8.99", "abc"])
def test_clause_scope_refuses_what_is_not_a_clause(typed):
    with pytest.raises(ia.InternalAuditError) as err:
        ia.parse_clause_scope(typed, CHECKLIST)
    assert err.value.status == 422 and err.value.field == "clauses"


def test_checklist_is_the_gap_analysis_questions_under_the_audited_clauses():
    items = ia.checklist_items(CHECKLIST, ("8.4", "9.2"))
    clauses = [i.clause for i in items]
    assert clauses and all(c.startswith(("8.4.", "9.2.")) or c in ("8.4", "9.2") for c in clauses)
    assert "8.4.1" in clauses and "9.2.2" in clauses and "8.5.1" not in clauses
    assert all(i.questions for i in items)  # headings are not lines
    assert len(ia.checklist_items(CHECKLIST, EVERYTHING)) == len(CHECKLIST.items())


# --- coverage -----------------------------------------------------------------------------------------

def test_nothing_audited_names_every_clause_and_in_scope_process():
    cov = ia.coverage(CHECKLIST, [SALES, DELIVERY, OUT], [])
    assert not cov.complete
    assert [g for g, _ in cov.clauses_missing] == list(EVERYTHING)
    assert cov.processes_missing == ("Sales and quoting", "Service delivery")  # the canteen is out of scope


def test_planned_audits_show_in_the_matrix_but_cover_nothing():
    cov = ia.coverage(CHECKLIST, [SALES], [audit(1, EVERYTHING, [1], status=ia.PLANNED)])
    assert not cov.complete and cov.matrix[(1, "8")] == "planned"
    assert "Process “Sales and quoting” has not been audited" in cov.unmet()


def test_completed_audits_over_every_clause_and_process_complete_the_coverage():
    audits = [audit(1, ("4", "5", "6", "7"), [1]), audit(2, ("8", "9", "10"), [2]),
              audit(3, ("8",), [1], status=ia.PLANNED)]
    cov = ia.coverage(CHECKLIST, [SALES, DELIVERY, OUT], audits)
    assert cov.complete and cov.unmet() == ()
    assert cov.matrix[(1, "4")] == "done" and (1, "9") not in cov.matrix
    assert cov.matrix[(1, "8")] == "planned" and cov.matrix[(2, "8")] == "done"


def test_part_of_a_clause_audited_names_the_requirements_left():
    cov = ia.coverage(CHECKLIST, [], [audit(1, ("4", "5", "6", "7", "8.4", "9", "10"))])
    (group, items), = cov.clauses_missing
    assert group == "8" and "8.1" in items and "8.4.1" not in items
    assert cov.unmet()[0].startswith("Clause 8: ")


def test_cycle_rule_every_clause_in_three_years_high_risk_every_year():
    audits = [audit(1, EVERYTHING, [1, 2], on=date(2026, 3, 1))]
    assert ia.cycle_overdue(CHECKLIST, [SALES, DELIVERY], audits, date(2026, 12, 1)) == ()
    late = ia.cycle_overdue(CHECKLIST, [SALES, DELIVERY], audits, date(2027, 4, 1))
    assert late == ("High-risk process “Sales and quoting” is due: last audited 2026-03-01 (every year)",)
    much_later = ia.cycle_overdue(CHECKLIST, [SALES, DELIVERY], audits, date(2029, 4, 1))
    assert len(much_later) == len(EVERYTHING) + 1 and "Clause 4 is due" in much_later[0]


# --- impartiality -------------------------------------------------------------------------------------

def test_an_auditor_cannot_audit_their_own_process_or_their_own_tasks():
    tasks = [ia.TaskDone("Write the purchasing procedure", ("8.4.1",), 20),
             ia.TaskDone("Quality policy", ("5.2",), 20)]
    assert ia.conflicts(30, ("8",), [SALES], tasks) == ()
    assert ia.conflicts(10, ("8",), [SALES], tasks) == ("they own the process “Sales and quoting”",)
    assert ia.conflicts(20, ("8.4",), [], tasks) == (
        "they completed the task “Write the purchasing procedure” (8.4.1)",)
    with pytest.raises(ia.InternalAuditError) as err:
        ia.check_impartial("Dana", ia.conflicts(10, ("8",), [SALES], tasks))
    assert err.value.status == 422 and "Dana cannot audit" in str(err.value) and "Sales and quoting" in str(err.value)
    ia.check_impartial("Dana", ())  # nothing to say


def test_a_consultant_who_wrote_documents_on_the_clauses_is_named_them():
    docs = [ia.DocumentWritten("Purchasing procedure", ("8.4",), frozenset({5})),
            ia.DocumentWritten("Quality policy", ("5.2",), frozenset({5, 6}))]
    assert ia.authored_documents(5, ("8",), docs) == ("Purchasing procedure",)
    assert ia.authored_documents(7, ("4", "5", "8"), docs) == ()


# --- an audit's course --------------------------------------------------------------------------------

def test_an_audit_completes_with_every_line_rated_and_a_conclusion():
    ia.check_complete(ia.IN_PROGRESS, (), "The system conforms and is effectively implemented.")
    with pytest.raises(ia.InternalAuditError) as err:
        ia.check_complete(ia.IN_PROGRESS, ("8.4.1", "8.4.2"), " ")
    assert "2 checklist lines are not rated (8.4.1, 8.4.2)" in str(err.value) and "no conclusion" in str(err.value)
    with pytest.raises(ia.InternalAuditError):
        ia.check_complete(ia.COMPLETED, (), "Done")
    with pytest.raises(ia.InternalAuditError):
        ia.check_changeable(ia.COMPLETED)


# --- the gate criteria --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def audit_template():
    """Version 2 of the shipped template with the internal-audit gate setting only these two criteria, read as
    a template file is."""
    data = load_template("iso9001-2015", 2).to_dict()
    for stage in data["stages"]:
        if stage["key"] == "internal_audit":
            stage["gate"].update(audit_coverage_complete=True, all_audit_ncs_have_ca=True)
    return parse_template(data)


def test_the_criteria_are_off_unless_a_template_sets_them(template):
    gate = template.stage("internal_audit").gate
    assert gate.audit_coverage_complete is False and gate.all_audit_ncs_have_ca is False
    state = replace(finish_stage(client_in(template, "internal_audit"), "internal_audit"),
                    audit_uncovered=("Clause 4: 7 requirements not yet audited",), audit_ncs_without_ca=("#3 x",))
    assert AUDIT_COVERAGE_INCOMPLETE not in codes(evaluate_gate(template, state, "internal_audit"))


def test_the_gate_names_each_uncovered_part_and_each_nc_without_action(audit_template):
    state = finish_stage(client_in(audit_template, "internal_audit"), "internal_audit")
    assert codes(evaluate_gate(audit_template, state, "internal_audit")) == ["signoff_missing"]
    state = replace(state, audit_uncovered=("Clause 8: 2 requirements not yet audited (8.4.1, 8.4.2)",
                                            "Process “Sales and quoting” has not been audited"),
                    audit_ncs_without_ca=("#7 “Supplier list not reviewed”",))
    result = evaluate_gate(audit_template, state, "internal_audit")
    assert codes(result) == [AUDIT_COVERAGE_INCOMPLETE, AUDIT_COVERAGE_INCOMPLETE, AUDIT_NC_WITHOUT_CA,
                             "signoff_missing"]
    messages = [u.message for u in result.unmet]
    assert "Internal audit programme: Process “Sales and quoting” has not been audited" in messages
    assert "Internal-audit nonconformity #7 “Supplier list not reviewed” has no corrective action" in messages
    assert not result.ready_for_signoff
    # other stages' gates do not ask
    assert AUDIT_COVERAGE_INCOMPLETE not in codes(evaluate_gate(audit_template, state, "implementation"))
