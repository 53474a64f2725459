from dataclasses import replace

from workflow_helpers import template  # noqa: F401  (fixtures)
from workflow_helpers import client_in, finish_stage, set_document, set_task

from workflows import FindingState, approve_gate, evaluate_gate, new_client_state, overall_progress, readiness
from workflows.readiness import DECISION, DOCUMENT, FINDING, GATE, POINTS, TASK
from workflows.stages import STAGE_KEYS


def test_a_fresh_client_has_every_item_missing_and_scores_zero(template):
    r = readiness(template, new_client_state(template))
    required_tasks = sum(len(s.required_tasks) for s in template.stages)
    required_docs = sum(len(s.required_documents) for s in template.stages)
    kinds = [i.kind for i in r.items]
    assert (kinds.count(TASK), kinds.count(DOCUMENT), kinds.count(GATE), kinds.count(DECISION)) == \
        (required_tasks, required_docs, 5, 1)
    assert r.score == 0 and r.earned == 0 and len(r.missing) == len(r.items)
    assert r.total == required_tasks + required_docs + 5 * POINTS[GATE] + POINTS[DECISION]


def test_the_score_is_the_share_of_points_of_the_items_in_place(template):
    state = new_client_state(template)
    first = [t for t in state.tasks if t.stage == "initial_audit" and t.required]
    state = set_task(state, first[0].key, "done")
    state = set_task(state, first[1].key, "not_applicable")
    state = set_task(state, first[2].key, "in_progress")
    r = readiness(template, state)
    in_place = {i.ref: i.why for i in r.items if i.in_place}
    assert in_place == {first[0].key: "done", first[1].key: "marked not applicable"}
    assert next(i for i in r.items if i.ref == first[2].key).why == "in progress"
    assert r.earned == 2 and r.score == round(100 * 2 / r.total)


def test_items_come_stage_by_stage_with_the_gate_last(template):
    r = readiness(template, new_client_state(template))
    assert [i.stage for i in r.items] == sorted((i.stage for i in r.items), key=STAGE_KEYS.index)
    for key in STAGE_KEYS:
        assert r.in_stage(key)[-1].kind == GATE and r.in_stage(key)[-1].ref == key
    assert r.in_stage("certification_audit")[-2].kind == DECISION


def test_all_work_done_without_approval_never_reads_100_and_certified_is_100(template):
    implementation = client_in(template, "implementation")
    done_not_approved = finish_stage(implementation, "implementation")
    approved = approve_gate(template, done_not_approved, "implementation")
    assert readiness(template, implementation).score < readiness(template, done_not_approved).score \
        < readiness(template, approved).score < 100
    last = replace(finish_stage(client_in(template, "certification_audit"), "certification_audit"),
                   certification_decision="certified")
    assert readiness(template, last).score < 100
    assert [i.kind for i in readiness(template, last).missing] == [GATE]
    assert readiness(template, approve_gate(template, last, "certification_audit")).score == 100


def test_a_major_finding_is_missing_while_open_and_in_place_once_closed(template):
    state = client_in(template, "internal_audit")
    base = readiness(template, state)
    opened = readiness(template, replace(state, findings=(FindingState(7, "system_design", "major", title="No audits"),)))
    finding = next(i for i in opened.items if i.kind == FINDING)
    assert (finding.ref, finding.stage, finding.title, finding.in_place) == (7, "system_design", "No audits", False)
    assert opened.open_majors == (finding,) and opened.earned == base.earned and opened.score < base.score
    closed = readiness(template, replace(state, findings=(FindingState(7, "system_design", "major", "closed"),)))
    assert closed.earned == base.earned + POINTS[FINDING] and not closed.open_majors
    minor = readiness(template, replace(state, findings=(FindingState(8, "internal_audit", "minor"),)))
    assert minor.items == base.items  # minor findings do not hold certification


def test_the_score_agrees_with_a_gate_that_is_ready(template):
    # Acme Logistics: the gap analysis done, two major findings open. The gate (which does not look at
    # findings) is ready for approval; readiness counts the work done and shows the findings as missing.
    state = new_client_state(template)
    state = finish_stage(state, "initial_audit")
    state = replace(state, findings=(FindingState(1, "initial_audit", "major"), FindingState(2, "initial_audit", "major")))
    assert evaluate_gate(template, state, "initial_audit").ready_for_signoff
    r = readiness(template, state)
    assert r.score > 0 and abs(r.score - round(100 * overall_progress(state))) < 10
    assert [(i.kind, i.ref) for i in r.in_stage("initial_audit") if not i.in_place] == \
        [(FINDING, 1), (FINDING, 2), (GATE, "initial_audit")]


def test_the_clients_required_flags_win_and_missing_rows_count_as_missing(template):
    state = new_client_state(template)
    doc = next(d for d in state.documents if d.stage == "system_design" and d.required)
    relaxed = replace(state, documents=tuple(replace(d, required=False) if d.key == doc.key else d
                                             for d in state.documents))
    assert doc.key not in {i.ref for i in readiness(template, relaxed).items}
    without = replace(state, documents=tuple(d for d in state.documents if d.key != doc.key))
    item = next(i for i in readiness(template, without).items if i.ref == doc.key)
    assert not item.in_place and item.why == "missing from the client's documents"
    approved = set_document(state, doc.key, "approved")
    assert next(i for i in readiness(template, approved).items if i.ref == doc.key).in_place
