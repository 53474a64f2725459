"""What a change does to one client's tables, one module per area.

Every operation runs inside a bound tenant scope (a request under /c/<slug>/
or `tenant_scope`), records what it changed in the activity log, raises
`Refusal` for a change it will not make, and never commits: the view or job
ends its unit of work with `save()`.
"""
from .common import Actor, log
from .documents import set_document_status
from .evidence import ALLOWED_EXTENSIONS, add_attachment, attachment_path, delete_attachment
from .findings import close_finding, raise_finding
from .kpi_latest import Standing, board, standings, tracked
from .kpis import (KpiForm, KpiRow, add_from_library, change_target, define_kpi, import_measurements,
                   kpi_rows, measurements_of, parse_import, position, record_measurement, red_kpi_count,
                   settings_of)
from .objectives import ObjectiveForm, ObjectiveRow, objective_rows, save_objective
from .gates import approve_gate, record_certification_decision, reopen_stage, request_gate_review, send_back_gate
from .plan import apply_template, preview_template, shift_plan
from .start import start_workspace
from .state import client_state, current_stage_key, gate, pending_review, settings, stages, template
from .summary import refresh_summary, save
from .tasks import add_comment, assign_task, ensure_workable, set_due_date, set_task_status

__all__ = [
    "ALLOWED_EXTENSIONS", "Actor", "add_attachment", "add_comment", "apply_template", "approve_gate",
    "assign_task", "attachment_path", "client_state", "close_finding", "current_stage_key", "delete_attachment",
    "ensure_workable", "gate", "log", "pending_review", "preview_template", "raise_finding",
    "record_certification_decision", "refresh_summary", "reopen_stage", "request_gate_review", "save",
    "send_back_gate", "set_document_status", "set_due_date", "set_task_status", "settings", "shift_plan", "stages",
    "start_workspace", "template",
    "KpiForm", "KpiRow", "add_from_library", "change_target", "define_kpi", "import_measurements", "kpi_rows",
    "measurements_of", "parse_import", "position", "record_measurement", "red_kpi_count", "settings_of",
    "ObjectiveForm", "ObjectiveRow", "objective_rows", "save_objective",
    "Standing", "board", "standings", "tracked",
]
