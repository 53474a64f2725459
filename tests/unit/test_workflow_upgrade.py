"""Applying a newer template version to a running client, and the editing-screen helpers."""
import datetime as dt

import pytest

from workflows import (
    ClientItem,
    TemplateError,
    add_document,
    add_task,
    copy_template,
    derive_key,
    describe_changes,
    diff_templates,
    load_template,
    parse_clause_refs,
    plan_upgrade,
    remove_document,
    remove_task,
    stage_windows,
    update_document,
    update_task,
)

START, TARGET = dt.date(2026, 1, 5), dt.date(2026, 7, 4)


@pytest.fixture(scope="module")
def v1():
    return copy_template(load_template(), "acme-9001", "Acme — ISO 9001")


def client_items(template, **statuses):
    """Every task of the template as a fresh client has it; `statuses` overrides by key (status or ClientItem)."""
    items = []
    for stage, task in template.iter_tasks():
        override = statuses.get(task.key)
        if isinstance(override, ClientItem):
            items.append(override)
        else:
            items.append(ClientItem(task.key, stage, override or "todo"))
    return items


def documents_of(template, **statuses):
    return [ClientItem(d.key, s, statuses.get(d.key, "draft")) for s, d in template.iter_documents()]


def windows(template):
    return {w.stage: (w.start_date, w.end_date) for w in stage_windows(template, START, TARGET)}


def new_task(key, **overrides):
    return {"key": key, "title": f"New task {key}", "role": "staff", "duration_days": 2, "clauses": ["7.3"],
            **overrides}


def upgrade(old, new, current="implementation", tasks=None, documents=None, today=dt.date(2026, 3, 1), **kw):
    return plan_upgrade(old, new, current_stage=current, tasks=client_items(old) if tasks is None else tasks,
                        documents=documents_of(old) if documents is None else documents,
                        start_on=START, target_on=TARGET, windows=kw.pop("windows", windows(old)), today=today, **kw)


# --- helpers for the editing screens -------------------------------------------------------------

def test_parse_clause_refs_accepts_commas_spaces_and_semicolons(v1):
    assert parse_clause_refs("4.1, 7.1.5;9.2  4.1", v1) == ("4.1", "7.1.5", "9.2")
    assert parse_clause_refs("  ", v1) == ()


def test_parse_clause_refs_names_every_unknown_number(v1):
    with pytest.raises(TemplateError, match=r"ISO 9001:2015 has no clauses 9\.9, 11"):
        parse_clause_refs("4.1 9.9 11", v1)


def test_derive_key_is_plain_and_unique():
    assert derive_key("Client onboarding call!", []) == "client_onboarding_call"
    assert derive_key("Client onboarding call", ["client_onboarding_call"]) == "client_onboarding_call_2"
    assert derive_key("Client onboarding call", ["client_onboarding_call", "client_onboarding_call_2"]) \
        == "client_onboarding_call_3"
    assert derive_key("Northwind — ISO 9001:2015", [], sep="-") == "northwind-iso-9001-2015"
    assert derive_key("!!!", []) == "item"
    long = derive_key("x" * 200, ["x" * 60])
    assert len(long) <= 60 and long.endswith("_2")


# --- what an upgrade does to a client ----------------------------------------------------------------

def test_same_version_changes_nothing(v1):
    plan = upgrade(v1, v1)
    assert not plan.changes_anything and not any(plan.counts().values())


def test_new_tasks_go_to_current_and_upcoming_stages_only(v1):
    v2 = add_task(v1, "initial_audit", new_task("old_stage_task"))
    v3 = add_task(v2, "implementation", new_task("current_stage_task"))
    v4 = add_task(v3, "internal_audit", new_task("later_stage_task"))
    plan = upgrade(v1, v4)
    assert [a.key for a in plan.tasks_added] == ["current_stage_task", "later_stage_task"]
    assert [(i.key, i.reason) for i in plan.tasks_skipped] == [("old_stage_task", "stage already passed")]


def test_added_tasks_are_due_inside_their_stage_window_and_not_in_the_past(v1):
    v2 = add_task(add_task(v1, "implementation", new_task("a"), position=0), "certification_audit", new_task("b"))
    win = windows(v1)
    today = win["implementation"][0] + dt.timedelta(days=10)
    plan = upgrade(v1, v2, today=today)
    for added in plan.tasks_added:
        begin, end = win[added.stage]
        assert begin <= added.start_date <= added.due_date <= end
        assert added.due_date >= today
    # A consultant's shifted window is respected.
    shifted = {k: (b + dt.timedelta(days=30), e + dt.timedelta(days=30)) for k, (b, e) in win.items()}
    plan = upgrade(v1, v2, windows=shifted, today=today)
    for added in plan.tasks_added:
        begin, end = shifted[added.stage]
        assert begin <= added.due_date <= end


def test_a_stage_running_late_gets_new_tasks_due_at_its_planned_end(v1):
    v2 = add_task(v1, "implementation", new_task("late"))
    end = windows(v1)["implementation"][1]
    plan = upgrade(v1, v2, today=end + dt.timedelta(days=20))
    assert plan.tasks_added[0].due_date == end


def test_open_tasks_are_reworded_finished_ones_keep_their_wording(v1):
    v2 = update_task(v1, "quality_policy", title="Quality policy signed by the owner", required=False,
                     duration_days=9)
    v3 = update_task(v2, "process_map", title="Map the processes on one page")
    tasks = client_items(v1, quality_policy="in_progress", process_map="done")
    plan = upgrade(v1, v3, current="system_design", tasks=tasks)
    [update] = plan.tasks_updated
    # Only the fields that changed are copied; duration only shapes the plan.
    assert update.key == "quality_policy"
    assert dict(update.changes) == {"title": "Quality policy signed by the owner", "required": False}
    # Named by the wording the client keeps.
    assert [(i.key, i.title, i.reason) for i in plan.tasks_unchanged] == [
        ("process_map", v1.find_task("process_map").title, "done")]


def test_a_change_of_duration_alone_changes_nothing_for_the_client(v1):
    v2 = update_task(v1, "quality_policy", duration_days=9)
    assert not upgrade(v1, v2).changes_anything


def test_removed_tasks_go_only_when_untouched(v1):
    keys = ["quality_policy", "process_map", "quality_objectives", "roles_and_responsibilities", "qms_scope"]
    newer = v1
    for key in keys:
        newer = remove_task(newer, key)
    stage = v1.stage_of_task("quality_policy")
    tasks = client_items(
        v1,
        process_map="done",
        quality_objectives="in_progress",
        roles_and_responsibilities=ClientItem("roles_and_responsibilities", stage, "todo", has_evidence=True),
        qms_scope=ClientItem("qms_scope", stage, "todo", has_comments=True),
    )
    plan = upgrade(v1, newer, current="system_design", tasks=tasks)
    assert [i.key for i in plan.tasks_removed] == ["quality_policy"]
    assert {i.key: i.reason for i in plan.tasks_kept} == {
        "process_map": "done", "quality_objectives": "in progress",
        "roles_and_responsibilities": "has evidence", "qms_scope": "has comments",
    }


def test_a_task_kept_earlier_and_back_in_the_template_is_taken_over_not_duplicated(v1):
    v2 = remove_task(v1, "quality_policy")
    stage = v1.stage_of_task("quality_policy")
    v3 = add_task(v2, stage, new_task("quality_policy", title="Policy, rewritten"))
    tasks = client_items(v1, quality_policy="in_progress")
    plan = upgrade(v2, v3, current=stage, tasks=tasks)
    assert not plan.tasks_added
    [update] = plan.tasks_updated
    assert update.key == "quality_policy" and update.changes["title"] == "Policy, rewritten"
    assert update.changes["role"] == "staff" and update.changes["clauses"] == ["7.3"]


def test_documents_follow_the_same_rules(v1):
    removed_draft, removed_approved = "quality_policy", "process_map"
    v2 = remove_document(remove_document(v1, removed_draft), removed_approved)
    v3 = update_document(v2, "risk_register", title="Risk and opportunity register (one page)")
    v4 = add_document(v3, "implementation", {"key": "onboarding_checklist", "title": "Onboarding checklist",
                                             "kind": "record", "clauses": ["8.5.1"]})
    v5 = add_document(v4, "initial_audit", {"key": "late_record", "title": "Late record", "kind": "record"})
    docs = documents_of(v1, process_map="approved")
    plan = upgrade(v1, v5, current="implementation", documents=docs)
    assert [a.key for a in plan.documents_added] == ["onboarding_checklist"]
    assert [i.key for i in plan.documents_skipped] == ["late_record"]
    assert [i.key for i in plan.documents_removed] == [removed_draft]
    assert [(i.key, i.reason) for i in plan.documents_kept] == [(removed_approved, "approved")]
    assert [(u.key, dict(u.changes)) for u in plan.documents_updated] == [
        ("risk_register", {"title": "Risk and opportunity register (one page)"})]


def test_describe_changes_lists_additions_changes_and_removals(v1):
    v2 = add_task(v1, "implementation", new_task("brand_new", title="A brand new task"))
    v3 = update_task(v2, "quality_policy", title="Policy v2", required=False)
    v4 = remove_task(v3, "process_map")
    changes = {(c.kind, c.key): c for c in describe_changes(v1, v4)}
    assert changes[("added", "brand_new")].title == "A brand new task"
    assert changes[("changed", "quality_policy")].fields == ("wording", "required/optional")
    assert changes[("removed", "process_map")].stage == v1.stage_of_task("process_map")
    assert describe_changes(v1, v1) == []


# --- the standard template, v1 → v2 ----------------------------------------------------------------

def test_standard_v1_to_v2_for_a_client_in_implementation_keeps_its_work():
    v1, v2 = load_template("iso9001-2015", 1), load_template("iso9001-2015", 2)
    passed = {t.key: "done" for s, t in v1.iter_tasks() if s in ("initial_audit", "system_design")}
    tasks = client_items(v1, **passed, monitoring_measuring_resources="in_progress",
                         organisational_knowledge="done", select_certification_body="todo")
    plan = upgrade(v1, v2, current="implementation", tasks=tasks,
                   documents=documents_of(v1, qms_scope="approved", change_records="approved"))
    added = {a.key: a for a in plan.tasks_added}
    # New implementation work arrives, dated inside the stage's window and not before today.
    assert {"measurement_traceability", "handle_complaints", "validate_service_processes"} <= set(added)
    begin, end = windows(v1)["implementation"]
    assert all(max(begin, dt.date(2026, 3, 1)) <= added[k].due_date <= end for k in ("handle_complaints",))
    # New system-design work is skipped: that stage was signed off as it was.
    skipped = {i.key for i in plan.tasks_skipped}
    assert {"legal_requirements_register", "complaint_handling_process", "monitoring_measurement_plan"} <= skipped
    # The split task keeps the client's progress and is re-tagged to 7.1.5.1, never N/A, consultant's.
    [split] = [u for u in plan.tasks_updated if u.key == "monitoring_measuring_resources"]
    assert split.changes["clauses"] == ["7.1.5", "7.1.5.1"] and split.changes["allow_not_applicable"] is False
    assert split.changes["role"] == "consultant" and "status" not in split.changes
    # Finished work keeps its wording; nothing the client did is removed.
    assert "organisational_knowledge" in {i.key for i in plan.tasks_unchanged}
    assert plan.tasks_removed == () and plan.documents_removed == ()
    # select_certification_body moved to system design, which is passed: it stays in the certification stage
    # for this client, re-tagged (no longer 4.3).
    [cb] = [u for u in plan.tasks_updated if u.key == "select_certification_body"]
    assert cb.stage == "certification_audit" and cb.changes["clauses"] == [] and "stage" not in cb.changes
    # Approved documents keep what they were approved under; drafts take the new required flags.
    assert "qms_scope" not in {u.key for u in plan.documents_updated}
    assert {"key_person_register", "complaint_register", "calibration_records"} <= {
        a.key for a in plan.documents_added}


def test_standard_v1_to_v2_early_client_gets_the_system_design_work():
    v1, v2 = load_template("iso9001-2015", 1), load_template("iso9001-2015", 2)
    plan = upgrade(v1, v2, current="initial_audit", today=START)
    added = {a.key for a in plan.tasks_added}
    assert {"legal_requirements_register", "complaint_handling_process", "service_validation_playbook",
            "monitoring_measurement_plan", "measurement_traceability"} <= added
    [cb] = [u for u in plan.tasks_updated if u.key == "select_certification_body"]
    assert cb.changes["stage"] == "system_design"  # still open and its new stage is ahead: it moves
    assert plan.tasks_skipped == ()


# --- the standard template, v2 → v3 ----------------------------------------------------------------

def test_standard_v2_to_v3_names_the_gate_criteria_and_leaves_the_plan_alone():
    v2, v3 = load_template("iso9001-2015", 2), load_template("iso9001-2015", 3)
    diff = diff_templates(v2, v3)
    assert {s.stage: s.gate_criteria_changed for s in diff.stages} == {
        "initial_audit": ("all_gap_items_rated",), "system_design": (), "certification_audit": (),
        "implementation": ("min_operating_days", "min_record_instances"),
        "internal_audit": ("mr_inputs_complete", "mr_after_internal_audit", "audit_coverage_complete",
                           "all_audit_ncs_have_ca")}
    assert [(c.kind, c.item, c.stage, c.title, c.fields) for c in describe_changes(v2, v3)] == [
        ("changed", "gate", "initial_audit", "Initial audit (gap analysis)", ("every gap-analysis item rated",)),
        ("changed", "gate", "implementation", "Implementation",
         ("days of operation", "record instances within the operating period")),
        ("changed", "gate", "internal_audit", "Internal audit",
         ("management review with every 9.3.2 input", "management review held after the internal audit",
          "internal audit programme covers every clause and process",
          "corrective action for every internal-audit nonconformity")),
    ]
    # Only gates change: a client in implementation keeps its plan as it is.
    plan = upgrade(v2, v3, current="implementation")
    assert not plan.changes_anything and set(plan.counts().values()) == {0}
