"""Certification templates: a standard's clauses and, per stage, the tasks,
documents/records and gate criteria a consultant runs a client through.

- `model`: the immutable data classes and their dict form;
- `parse`: reading that dict form (TOML files, JSON snapshots);
- `validate`: whether a template makes sense, and clause coverage;
- `edit`: a consultancy's edits, each returning a new version;
- `diff`: what changes between two versions;
- `files`: the shipped templates under ``data/<key>/v<N>.toml``.

Import from here (or from ``workflows``), not from the modules.
"""

from ..errors import TemplateError
from .diff import Move, StageDiff, TemplateDiff, diff_templates
from .edit import (
    add_document,
    add_task,
    copy_template,
    derive_key,
    parse_clause_refs,
    remove_document,
    remove_task,
    update_document,
    update_gate,
    update_task,
)
from .files import DEFAULT_TEMPLATE, TemplateInfo, available_templates, load_template
from .model import (
    DOCUMENT_KINDS,
    ROLES,
    Clause,
    DocumentTemplate,
    GateCriteria,
    StageTemplate,
    TaskTemplate,
    Template,
)
from .parse import read_template
from .validate import check_template, clause_coverage, uncovered_clauses, validate_template

__all__ = [
    "DEFAULT_TEMPLATE",
    "DOCUMENT_KINDS",
    "ROLES",
    "Clause",
    "DocumentTemplate",
    "GateCriteria",
    "Move",
    "StageDiff",
    "StageTemplate",
    "TaskTemplate",
    "Template",
    "TemplateDiff",
    "TemplateError",
    "TemplateInfo",
    "add_document",
    "add_task",
    "available_templates",
    "check_template",
    "clause_coverage",
    "copy_template",
    "derive_key",
    "diff_templates",
    "load_template",
    "parse_clause_refs",
    "read_template",
    "remove_document",
    "remove_task",
    "uncovered_clauses",
    "update_document",
    "update_gate",
    "update_task",
    "validate_template",
]
