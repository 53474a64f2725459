from workflow_helpers import copy, template  # noqa: F401  (fixtures)
import pytest
from workflow_helpers import new_task

from workflows import (
    Template,
    add_task,
    copy_template,
    diff_templates,
    load_template,
    read_template,
    remove_document,
    remove_task,
    update_document,
    update_gate,
    update_task,
)


def test_diff_of_identical_templates_is_empty(template, copy):
    assert diff_templates(template, copy).is_empty


def test_diff_lists_added_removed_changed_per_stage(copy):
    v2 = add_task(copy, "implementation", new_task())
    v3 = remove_task(v2, "planning_of_changes")
    v4 = update_task(v3, "quality_policy", title="Quality policy signed by the owner", required=False)
    v5 = remove_document(v4, "change_planning_checklist")
    v6 = update_document(v5, "risk_register", required=False)
    v7 = update_gate(v6, "system_design", no_open_major_findings=True)
    diff = diff_templates(copy, v7)
    assert (diff.old, diff.new) == (("acme-9001", 1), ("acme-9001", 7))
    design = diff.stage("system_design")
    assert design.tasks_removed == ("planning_of_changes",)
    assert design.tasks_changed == ("quality_policy",)
    assert design.task_fields_changed["quality_policy"] == ("title", "required")
    assert design.documents_removed == ("change_planning_checklist",)
    assert design.documents_changed == ("risk_register",)
    assert design.gate_changed
    assert diff.stage("implementation").tasks_added == ("kickoff_lunch",)
    assert diff.stage("internal_audit").is_empty
    assert not diff.is_empty


def test_diff_reports_a_moved_task_as_a_move(copy):
    task = copy.find_task("planning_of_changes")
    moved = add_task(remove_task(copy, "planning_of_changes"), "implementation", task)
    diff = diff_templates(copy, moved)
    assert [(m.key, m.from_stage, m.to_stage) for m in diff.tasks_moved] == [
        ("planning_of_changes", "system_design", "implementation")
    ]
    assert diff.stage("system_design").tasks_removed == ()
    assert diff.stage("implementation").tasks_added == ()


def test_diff_reports_clause_changes(template):
    data = template.to_dict()
    data["clauses"].append({"number": "10.4", "title": "Future clause"})
    data["clauses"][0]["title"] = "Context of the organization"
    diff = diff_templates(template, read_template(data))
    assert diff.clauses_added == ("10.4",)
    assert diff.clauses_retitled == ("4.1",)
