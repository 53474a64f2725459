"""What a change does to one client's tables, one module per area.

Every operation runs inside a bound tenant scope (a request under /c/<slug>/
or `tenant_scope`), records what it changed in the activity log, raises
`Refusal` for a change it will not make, and never commits: the view or job
ends its unit of work with `save()`.
"""
from .certification import (
    ApplicationForm, AuditForm, client_cycle, external_audits, next_external_audit, record,
    save_application, save_audit, save_certificate,
)
from .client import (
    ArchiveRecord, archive_client, archive_record, assign_consultants, client_name, consultancy_members,
    rename_client, set_reminder_calendar, unarchive_client,
)
from .common import Actor, log
from .cycle import (
    Generated, body_rules, client_calendar, client_rules, delete_body_rules, generate_preparation,
    preparation_status, rules_of, save_body_rules, stage_2_repeat, stale_items,
)
from .document_records import (
    acknowledge, add_record_entry, expected_readers, mark_reviewed, next_record_due, reviews_due,
)
from .documents import (
    RegisterForm, Upload, edit_version, effective_version, may_approve, register_document, set_document_status,
    set_version_status, start_version, update_register, working_version,
)
from .evidence import ALLOWED_EXTENSIONS, add_attachment, attachment_path, delete_attachment
from .corrective_actions import (
    Ageing, FollowUp, action_of, add_action, ageing, complete_action, decide_escalation, open_cb_deadlines,
    response_due, save_cb_response, stale_count, verify_action,
)
from .document_evidence import add_document_evidence, delete_document_evidence, evidence_parent
from .findings import (RecordForm, close_finding, raise_finding, record_state, reopen_finding, set_target_stage,
                       target_of, update_record)
from .gap_analysis import (
    GapReport, finding_from_gap, gap_checklist, gap_ratings, gap_remedy_stage, gap_report, rate_gap_item, task_from_gap,
)
from .gates import (
    approve_gate, record_certification_decision, reopen_stage, request_gate_review, send_back_gate,
    set_staff_review_requests,
)
from .kpi_latest import Standing, board, standings, tracked
from .kpis import (
    KpiForm, KpiRow, add_from_library, change_target, define_kpi, import_measurements, kpi_rows,
    measurements_of, parse_import, position, record_measurement, red_kpi_count, settings_of,
)
from .management_reviews import (
    add_output, close_review, contribute, input_states, is_participant, open_review, open_review_now, refresh_prefill,
    remove_output, review_of, reviews, save_input,
)
from .objectives import ObjectiveForm, ObjectiveRow, objective_rows, save_objective
from .plan import apply_template, change_dates, preview_dates, preview_template, shift_plan
from .readiness import ReadinessReport, implementation_kpis, projection, readiness, readiness_report
from .start import start_workspace
from .state import client_state, current_stage_key, gate, pending_review, review_state, settings, stages, template
from .summary import refresh_indexes, refresh_summary, save
from .tasks import (add_comment, approve_not_applicable, assign_task, change_each, ensure_workable,
                    not_applicable_decisions, set_due_date, set_task_status)
from .work_items import late_dated_items, refresh_work_items, reviewers

__all__ = [
    "Generated", "body_rules", "client_calendar", "client_rules", "delete_body_rules", "generate_preparation",
    "preparation_status", "rules_of", "save_body_rules", "stale_items",
    "Ageing", "FollowUp", "action_of", "add_action", "ageing", "complete_action", "decide_escalation",
    "open_cb_deadlines", "response_due", "save_cb_response", "stale_count", "verify_action", "RecordForm",
    "record_state", "update_record",
    "Actor", "ApplicationForm", "AuditForm", "client_cycle", "external_audits", "next_external_audit", "record",
    "save_application", "save_audit", "save_certificate", "add_attachment", "add_comment", "add_from_library", "ALLOWED_EXTENSIONS", "apply_template",
    "approve_gate", "archive_client", "archive_record", "ArchiveRecord", "assign_consultants", "assign_task",
    "attachment_path", "board", "change_dates", "change_each", "change_target", "client_name", "client_state",
    "close_finding", "set_target_stage", "target_of", "add_document_evidence", "delete_document_evidence",
    "evidence_parent", "consultancy_members", "current_stage_key", "define_kpi", "delete_attachment",
    "ensure_workable", "finding_from_gap", "gap_checklist", "gap_ratings", "gap_remedy_stage", "gap_report",
    "GapReport", "gate", "implementation_kpis", "import_measurements", "kpi_rows", "KpiForm", "KpiRow",
    "log", "measurements_of", "objective_rows", "ObjectiveForm", "ObjectiveRow", "parse_import",
    "pending_review", "review_state", "position", "preview_dates", "preview_template", "projection", "raise_finding",
    "rate_gap_item",
    "readiness", "readiness_report", "ReadinessReport", "record_certification_decision", "record_measurement",
    "red_kpi_count", "refresh_indexes", "refresh_summary", "refresh_work_items", "late_dated_items", "rename_client",
    "set_reminder_calendar",
    "reopen_finding", "reopen_stage", "request_gate_review", "reviewers", "save", "save_objective",
    "send_back_gate", "set_document_status", "set_due_date", "set_staff_review_requests",
    "set_task_status", "approve_not_applicable", "not_applicable_decisions", "settings", "settings_of", "shift_plan", "stages", "Standing", "standings",
    "start_workspace", "task_from_gap", "template", "tracked", "unarchive_client",
    "acknowledge", "add_record_entry", "expected_readers", "mark_reviewed", "reviews_due", "RegisterForm", "Upload",
    "edit_version", "effective_version", "may_approve", "register_document", "set_version_status", "start_version",
    "update_register", "working_version",
    "add_output", "close_review", "contribute", "input_states", "is_participant", "open_review", "open_review_now",
    "refresh_prefill", "remove_output", "review_of", "reviews", "save_input",
]
