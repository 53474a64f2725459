from datetime import date

from workflows.kpi import AT_RISK, MISSING, NOT_MEASURED, OFF_TRACK, ON_TRACK, Objective, check_objective, objective_status

COMPLETE = Objective(
    title="Deliver 95 % of jobs on time",
    what="Schedule every job in the planning tool and review the late ones weekly",
    resources="Planning tool licence, 2 hours a week of the operations lead",
    responsible="Operations lead",
    due_date=date(2026, 12, 31),
    evaluation="On-time delivery KPI reviewed monthly at the team meeting",
)


def test_a_complete_objective_with_a_kpi_has_no_gaps():
    assert check_objective(COMPLETE, linked_kpis=1) == []


def test_each_missing_part_is_named_with_its_letter():
    gaps = check_objective(Objective(title="Fewer complaints next year"), linked_kpis=0)
    assert [g.message for g in gaps] == [
        "6.2.2 a: missing what will be done",
        "6.2.2 b: missing what resources will be required",
        "6.2.2 c: missing who will be responsible",
        "6.2.2 d: missing when it will be completed",
        "6.2.2 e: missing how the results will be evaluated",
        "6.2.1 b: not measurable yet — link at least one KPI",
    ]
    assert [g.letter for g in gaps] == ["a", "b", "c", "d", "e", ""]


def test_vague_objectives_are_named_too():
    vague = Objective(**{**COMPLETE.__dict__, "title": "Quality", "what": "Improve"})
    assert [g.part for g in check_objective(vague, linked_kpis=1)] == ["title", "what"]
    assert "too vague about what will be done" in check_objective(vague, linked_kpis=1)[1].message


def test_blank_text_counts_as_missing():
    blank = Objective(**{**COMPLETE.__dict__, "responsible": "   "})
    assert [g.part for g in check_objective(blank, linked_kpis=1)] == ["responsible"]


def test_objective_status_is_the_worst_of_its_kpis():
    assert objective_status([ON_TRACK, ON_TRACK]) == ON_TRACK
    assert objective_status([ON_TRACK, AT_RISK]) == AT_RISK
    assert objective_status([ON_TRACK, MISSING]) == AT_RISK
    assert objective_status([AT_RISK, OFF_TRACK, MISSING]) == OFF_TRACK
    assert objective_status([None, ON_TRACK]) == ON_TRACK
    assert objective_status([None]) == NOT_MEASURED
    assert objective_status([]) == NOT_MEASURED
