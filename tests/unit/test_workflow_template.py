import hashlib
import json
import re
import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from workflow_helpers import copy, template  # noqa: F401  (fixtures)
from workflow_helpers import new_task

from workflows import (
    STAGE_KEYS,
    DocumentTemplate,
    Template,
    TemplateError,
    add_document,
    add_task,
    available_templates,
    clause_coverage,
    copy_template,
    load_template,
    read_template,
    remove_document,
    remove_task,
    uncovered_clauses,
    update_document,
    update_gate,
    update_task,
    validate_template,
)

# Every numbered requirement of ISO 9001:2015, 4.1 to 10.3 with all their numbered subclauses (template v2).
ISO9001_CLAUSES = (
    "4.1 4.2 4.3 4.4 4.4.1 4.4.2 5.1 5.1.1 5.1.2 5.2 5.2.1 5.2.2 5.3 6.1 6.1.1 6.1.2 6.2 6.2.1 6.2.2 6.3 "
    "7.1 7.1.1 7.1.2 7.1.3 7.1.4 7.1.5 7.1.5.1 7.1.5.2 7.1.6 7.2 7.3 7.4 7.5 7.5.1 7.5.2 7.5.3 7.5.3.1 7.5.3.2 "
    "8.1 8.2 8.2.1 8.2.2 8.2.3 8.2.3.1 8.2.3.2 8.2.4 8.3 8.3.1 8.3.2 8.3.3 8.3.4 8.3.5 8.3.6 "
    "8.4 8.4.1 8.4.2 8.4.3 8.5 8.5.1 8.5.2 8.5.3 8.5.4 8.5.5 8.5.6 8.6 8.7 8.7.1 8.7.2 "
    "9.1 9.1.1 9.1.2 9.1.3 9.2 9.2.1 9.2.2 9.3 9.3.1 9.3.2 9.3.3 10.1 10.2 10.2.1 10.2.2 10.3"
).split()
# The 21 numbered subclauses version 1 lacked.
ADDED_IN_V2 = (
    "4.4.1 4.4.2 6.1.1 6.1.2 6.2.1 6.2.2 7.1.5.1 7.1.5.2 7.5.3.1 7.5.3.2 8.2.3.1 8.2.3.2 8.7.1 8.7.2 "
    "9.2.1 9.2.2 9.3.1 9.3.2 9.3.3 10.2.1 10.2.2"
).split()
ISO9001_V1_CLAUSES = [c for c in ISO9001_CLAUSES if c not in ADDED_IN_V2]
# Clients pinned to version 1 must never see it change: its bytes are pinned.
V1_SHA256 = "05383a37cf0a7e667f88df230353c5c120503e8a9bf6d98dd7da59c5711614bb"


# ----------------------------------------------------------------- loading --


def test_load_latest_and_explicit_version(template):
    assert (template.key, template.version) == ("iso9001-2015", 2)
    assert template.standard == "ISO 9001:2015"
    assert load_template("iso9001-2015", 2) is template  # cached, immutable
    assert load_template("iso9001-2015", 1).version == 1
    assert [s.key for s in template.stages] == list(STAGE_KEYS)
    assert validate_template(template) == []


def test_available_templates_lists_shipped_files():
    infos = available_templates()
    assert [(i.key, i.version) for i in infos if i.key == "iso9001-2015"] == [
        ("iso9001-2015", 1), ("iso9001-2015", 2), ("iso9001-2015", 3)]


@pytest.mark.parametrize(
    "key, version, message",
    [
        ("iso14001-2015", None, "No template"),
        ("iso9001-2015", 99, "has no version 99"),
        ("../secrets", None, "Invalid template key"),
    ],
)
def test_load_unknown_template_or_version(key, version, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        load_template(key, version)


def _shipped(name: str):
    return resources.files("workflows.template").joinpath("data", "iso9001-2015", name)


def test_shipped_toml_parses_to_the_same_template(template):
    assert read_template(tomllib.loads(_shipped("v2.toml").read_text(encoding="utf-8"))) == template


def test_version_1_is_unchanged_for_the_clients_pinned_to_it():
    assert hashlib.sha256(_shipped("v1.toml").read_bytes()).hexdigest() == V1_SHA256
    v1 = load_template("iso9001-2015", 1)
    assert list(v1.clause_numbers) == ISO9001_V1_CLAUSES
    assert uncovered_clauses(v1) == []
    assert v1.find_task("monitoring_measuring_resources").clauses == ("7.1.5",)
    assert v1.stage_of_task("select_certification_body") == "certification_audit"


def test_shipped_files_are_package_data():
    """An editable install reads the source tree; a wheel holds only what pyproject.toml ships."""
    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package = root / "workflows"
    files = {p.relative_to(package).as_posix() for p in (package / "template" / "data").rglob("*") if p.is_file()}
    shipped = {p.relative_to(package).as_posix() for pattern in setuptools["package-data"]["workflows"]
               for p in package.glob(pattern)}
    assert "template/data/iso9001-2015/v1.toml" in files
    assert files <= shipped


# ----------------------------------------------------------- template data --


def test_clause_list_is_complete(template):
    assert list(template.clause_numbers) == ISO9001_CLAUSES
    assert all(c.title for c in template.clauses)


def test_every_clause_is_served_by_a_task(template):
    assert uncovered_clauses(template) == []
    coverage = clause_coverage(template)
    assert list(coverage) == ISO9001_CLAUSES
    assert "organisational_knowledge" in coverage["7.1.6"]
    assert "customer_satisfaction_survey" in coverage["9.1.2"]


def test_coverage_does_not_rely_on_the_gap_analysis_alone(template):
    # The gap analysis assesses every clause; the later stages must still build each one.
    without_gap_analysis = template
    for task in template.stage("initial_audit").tasks:
        without_gap_analysis = remove_task(without_gap_analysis, task.key)
    assert uncovered_clauses(without_gap_analysis) == []


def test_stage_shape_is_deep_enough(template):
    counts = {s.key: len(s.tasks) for s in template.stages}
    assert all(8 <= n <= 20 for n in counts.values()), counts
    assert 55 <= sum(counts.values()) <= 70
    for stage in template.stages:
        assert stage.documents, stage.key
        assert stage.gate.consultant_signoff
    assert template.stage("certification_audit").gate.certification_decision
    assert not template.stage("implementation").gate.certification_decision
    # Gap-analysis findings are the work list, so they must not hold the first gate.
    assert not template.stage("initial_audit").gate.no_open_major_findings


def test_guidance_is_practical_prose(template):
    for _, task in template.iter_tasks():
        sentences = len(re.findall(r"[.!?](?=\s|$)", task.guidance))
        assert 2 <= sentences <= 4, task.key
        assert task.duration_days > 0


def test_template_missing_a_clause_is_reported(template):
    serving_7_1_6 = clause_coverage(template)["7.1.6"]
    edited = template
    for key in serving_7_1_6:
        edited = remove_task(edited, key)
    assert uncovered_clauses(edited) == ["7.1.6"]
    # The parent clause 7.1 is still served through its other sub-clauses.
    assert clause_coverage(edited)["7.1"]


def test_a_clause_nobody_serves_is_reported(template):
    data = template.to_dict()
    data["clauses"].append({"number": "10.4", "title": "A clause from the future"})
    assert uncovered_clauses(read_template(data)) == ["10.4"]


def test_sub_clause_work_counts_for_parent_but_not_the_reverse(copy):
    t = copy
    for _, task in list(t.iter_tasks()):
        if any(c.startswith("7.5") for c in task.clauses):
            t = update_task(t, task.key, clauses=[c for c in task.clauses if not c.startswith("7.5")])
    t = add_task(t, "system_design", new_task("only_parent", clauses=["7.5"]))
    assert uncovered_clauses(t) == ["7.5.1", "7.5.2", "7.5.3", "7.5.3.1", "7.5.3.2"]


# ------------------------------------------------------------ round trip --


def test_to_dict_from_dict_round_trip_through_json(template, copy):
    for t in (template, update_task(copy, "quality_policy", title="Quality policy signed")):
        data = json.loads(json.dumps(t.to_dict()))
        assert data == t.to_dict()
        assert read_template(data) == t


def test_based_on_survives_round_trip(copy):
    assert read_template(copy.to_dict()).based_on == ("iso9001-2015", 2)


# ------------------------------------------------------------ validation --


def _problems(data):
    with pytest.raises(TemplateError) as exc:
        read_template(data)
    return exc.value.problems


def test_validation_reports_each_semantic_problem(template):
    data = template.to_dict()
    design = data["stages"][1]
    design["tasks"][1]["key"] = design["tasks"][0]["key"]  # duplicate task key
    design["tasks"][2]["clauses"] = ["4.4", "11.1"]  # unknown clause
    design["tasks"][3]["role"] = "auditor"  # unknown role
    design["tasks"][4]["duration_days"] = 0  # non-positive duration
    design["documents"][0]["kind"] = "form"
    design["documents"][1]["key"] = design["documents"][0]["key"]
    del data["stages"][3]  # internal audit missing
    problems = _problems(data)
    joined = "\n".join(problems)
    assert "Duplicate task key 'context_and_interested_parties'" in joined
    assert "refers to unknown clause '11.1'" in joined
    assert "unknown role 'auditor'" in joined
    assert "positive duration in days, not 0" in joined
    assert "unknown kind 'form'" in joined
    assert "Duplicate document key 'context_analysis'" in joined
    assert "Stage 'internal_audit' is missing" in joined


def test_validation_reports_stage_order_and_unknown_stage(template):
    data = template.to_dict()
    data["stages"][0], data["stages"][1] = data["stages"][1], data["stages"][0]
    assert any("must be in the order" in p for p in _problems(data))
    data = template.to_dict()
    data["stages"][4]["key"] = "surveillance_audit"
    problems = _problems(data)
    assert any("Unknown stage 'surveillance_audit'" in p for p in problems)
    assert any("'certification_audit' is missing" in p for p in problems)


def test_validation_reports_structural_problems(template):
    data = template.to_dict()
    del data["stages"][0]["tasks"][0]["title"]
    data["stages"][0]["tasks"][1]["duration_days"] = True  # a bool is not a number of days
    data["stages"][0]["tasks"][2]["requried"] = True  # typo
    data["stages"][0]["gate"]["consultant_signoff"] = "yes"
    problems = _problems(data)
    joined = "\n".join(problems)
    assert "missing 'title'" in joined
    assert "'duration_days' must be an integer" in joined
    assert "unknown field 'requried'" in joined
    assert "'consultant_signoff' must be true or false" in joined


def test_from_dict_rejects_non_mapping():
    with pytest.raises(TemplateError, match="expected a table"):
        read_template(["not", "a", "template"])


# ------------------------------------------------------- copy and editing --


def test_copy_starts_at_version_one_and_records_origin(template, copy):
    assert (copy.key, copy.version, copy.name) == ("acme-9001", 1, "Acme consulting — ISO 9001")
    assert copy.based_on == ("iso9001-2015", 2)
    assert copy.stages == template.stages


@pytest.mark.parametrize("key, name", [("iso9001-2015", "Same key"), ("Acme 9001", "Bad key"), ("acme", " ")])
def test_copy_rejects_bad_key_or_name(template, key, name):
    with pytest.raises(TemplateError):
        copy_template(template, key, name)


def test_add_task_returns_a_new_version(copy):
    edited = add_task(copy, "implementation", new_task(), position=0)
    assert edited.version == copy.version + 1
    assert edited.stage("implementation").tasks[0].key == "kickoff_lunch"
    assert copy.find_task("kickoff_lunch") is None  # the original is untouched
    from_dict = add_task(
        copy,
        "implementation",
        {
            "key": "kickoff_lunch",
            "title": "Lunch",
            "role": "staff",
            "duration_days": 1,
            "clauses": ["7.3"],
        },
    )
    assert from_dict.stage("implementation").tasks[-1].title == "Lunch"


@pytest.mark.parametrize(
    "stage, task, message",
    [
        ("implementation", new_task("quality_policy"), "already exists in stage 'system_design'"),
        ("stage_six", new_task(), "Unknown stage 'stage_six'"),
        ("implementation", new_task(role="ceo"), "unknown role 'ceo'"),
        ("implementation", new_task(duration_days=-2), "positive duration"),
        ("implementation", new_task(clauses=("4.9",)), "unknown clause '4.9'"),
        ("implementation", {"key": "x", "title": "X", "role": "staff"}, "missing 'duration_days'"),
    ],
)
def test_add_task_rejects_invalid_edits(copy, stage, task, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        add_task(copy, stage, task)


def test_remove_task(copy):
    edited = remove_task(copy, "planning_of_changes")
    assert edited.version == 2
    assert edited.find_task("planning_of_changes") is None
    with pytest.raises(TemplateError, match="No task 'planning_of_changes'"):
        remove_task(edited, "planning_of_changes")


def test_update_task_rewords_and_reparameterises(copy):
    edited = update_task(
        copy,
        "quality_policy",
        title="Quality policy signed by the owner",
        duration_days=4,
        clauses=["5.2"],
        role="consultant",
    )
    task = edited.find_task("quality_policy")
    assert (task.title, task.duration_days, task.clauses, task.role) == (
        "Quality policy signed by the owner",
        4,
        ("5.2",),
        "consultant",
    )
    assert edited.version == copy.version + 1
    assert update_task(copy, "quality_policy", duration_days=2) is copy  # nothing changed


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"key": "policy"}, "key cannot change"),
        ({"colour": "blue"}, "Unknown task field(s): colour"),
        ({"duration_days": 0}, "positive duration"),
        ({"duration_days": "3"}, "must be an integer"),
        ({"required": "no"}, "must be true or false"),
        ({}, "No changes"),
    ],
)
def test_update_task_rejects_invalid_changes(copy, changes, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        update_task(copy, "quality_policy", **changes)


def test_document_add_update_remove(copy):
    doc = DocumentTemplate("onboarding_checklist", "Client onboarding checklist", "document", ("8.5.1",), False)
    edited = add_document(copy, "system_design", doc)
    assert edited.stage_of_document("onboarding_checklist") == "system_design"
    edited = update_document(edited, "onboarding_checklist", required=True, kind="record")
    assert edited.find_document("onboarding_checklist").required
    edited = remove_document(edited, "onboarding_checklist")
    assert edited.find_document("onboarding_checklist") is None
    assert edited.version == copy.version + 3
    with pytest.raises(TemplateError, match="already exists"):
        add_document(copy, "implementation", replace(doc, key="quality_policy"))
    with pytest.raises(TemplateError, match="unknown kind"):
        update_document(copy, "quality_policy", kind="memo")
    with pytest.raises(TemplateError, match="No document"):
        remove_document(copy, "nope")


def test_update_gate(copy):
    edited = update_gate(copy, "system_design", no_open_major_findings=True)
    assert edited.stage("system_design").gate.no_open_major_findings
    with pytest.raises(TemplateError, match="Unknown gate criteria"):
        update_gate(copy, "system_design", coffee=True)
    with pytest.raises(TemplateError, match="true or false"):
        update_gate(copy, "system_design", consultant_signoff=1)


# ------------------------------------------------------ v2: the auditor's review --


def test_every_added_subclause_has_its_own_task(template):
    coverage = clause_coverage(template)
    for number in ADDED_IN_V2:
        assert coverage[number], number
        # served by a task after the gap analysis too: the gap analysis only assesses
        assert any(template.stage_of_task(k) != "initial_audit" for k in coverage[number]), number


def test_not_applicable_only_where_iso_9001_allows_an_exclusion(template):
    allowed = {t.key for _, t in template.iter_tasks() if t.allow_not_applicable}
    assert allowed == {"design_and_development", "design_development_records", "measurement_traceability"}
    for key in allowed:
        assert {c for c in template.find_task(key).clauses} & {"8.3", "7.1.5.2"}, key


def test_measuring_resources_are_split_into_valid_results_and_traceability(template):
    valid, traceable = template.find_task("monitoring_measuring_resources"), template.find_task("measurement_traceability")
    assert "7.1.5.1" in valid.clauses and "7.1.5.2" not in valid.clauses and not valid.allow_not_applicable
    assert "7.1.5.2" in traceable.clauses and traceable.allow_not_applicable
    assert valid.role == traceable.role == "consultant"
    assert template.find_document("measuring_resource_records").clauses == ("7.1.5.1",)
    assert template.find_document("calibration_records").clauses == ("7.1.5.2",)


def test_certification_body_work_is_not_tagged_as_scope_or_improvement(template):
    for key in ("select_certification_body", "certification_application", "stage1_preparation", "stage1_audit",
                "record_certification_decision", "gap_analysis_report"):
        assert not {"4.3", "10.3", "4.4", "9.1.3"} & set(template.find_task(key).clauses), key
    for key in ("certification_contract", "certificate", "gap_analysis_report"):
        assert "4.3" not in template.find_document(key).clauses, key
    # 4.3 and 10.3 are still served by the work that really does them
    coverage = clause_coverage(template)
    assert set(coverage["4.3"]) == {"gap_context_leadership", "provisional_scope", "qms_scope"}
    assert "continual_improvement" in coverage["10.3"] and "record_certification_decision" not in coverage["10.3"]


def test_certification_body_is_chosen_at_the_end_of_system_design_with_a_lead_time(template):
    design = template.stage("system_design")
    assert design.tasks[-1].key == "select_certification_body"
    assert "four to eight weeks" in design.tasks[-1].guidance
    assert "select_certification_body" not in [t.key for t in template.stage("certification_audit").tasks]


@pytest.mark.parametrize("key, stage, clauses", [
    ("complaint_handling_process", "system_design", {"8.2.1", "9.1.2", "10.2"}),
    ("handle_complaints", "implementation", {"8.2.1", "9.1.2", "10.2"}),
    ("legal_requirements_register", "system_design", {"4.2", "5.1.2", "8.2.2"}),
    ("service_validation_playbook", "system_design", {"8.5.1"}),
    ("validate_service_processes", "implementation", {"8.5.1"}),
    ("monitoring_measurement_plan", "system_design", {"9.1.1"}),
])
def test_new_tasks_a_service_firm_is_audited_on(template, key, stage, clauses):
    task = template.find_task(key)
    assert task is not None and template.stage_of_task(key) == stage
    assert clauses <= set(task.clauses) and task.required and not task.allow_not_applicable


@pytest.mark.parametrize("key, required", [
    ("change_records", True), ("internal_auditor_competence", True), ("implementation_plan", True),
    ("legal_register", True), ("complaint_register", True), ("key_person_register", True),
    ("monitoring_measurement_plan", True),
    ("traceability_records", False), ("client_property_incidents", False), ("calibration_records", False),
    ("qms_overview", False), ("training_plan", False), ("work_instructions", False),
])
def test_records_required_and_conditional(template, key, required):
    assert template.find_document(key).required is required


def test_system_design_documents_are_owned_by_the_client(template):
    roles = {t.key: t.role for t in template.stage("system_design").tasks}
    assert roles["qms_scope"] == roles["process_map"] == roles["risk_register"] == "client_admin"
    assert "consultant" not in {r for k, r in roles.items() if k != "design_and_development"}


def test_version_3_is_version_2_with_gates_that_check_evidence():
    v2, v3 = load_template("iso9001-2015", 2), load_template("iso9001-2015", 3)
    assert load_template() is v3  # new clients start on it
    assert [s.gate for s in v2.stages] != [s.gate for s in v3.stages]
    gated = {
        "initial_audit": {"all_gap_items_rated": True},
        "system_design": {},
        "implementation": {"min_operating_days": 56,
                           "min_record_instances": (("kpi_reports", 2), ("customer_satisfaction_results", 1))},
        "internal_audit": {"audit_coverage_complete": True, "all_audit_ncs_have_ca": True,
                           "mr_inputs_complete": True, "mr_after_internal_audit": True},
        "certification_audit": {},
    }
    for stage in v2.stages:
        assert v3.stage(stage.key).gate == replace(stage.gate, **gated[stage.key]), stage.key
    # everything but the gates (and the version number) as in version 2
    as_v2 = replace(v3, version=2, stages=tuple(replace(s, gate=v2.stage(s.key).gate) for s in v3.stages))
    assert as_v2 == v2
    for key, _ in gated["implementation"]["min_record_instances"]:
        assert v3.stage_of_document(key) == "implementation" and v3.find_document(key).kind == "record"
    assert validate_template(v3) == []
