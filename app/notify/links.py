"""Where a "My work" row leads: (endpoint, values, fragment) inside the client's workspace. The list and the
reminder sweep's mails read the same one, so a reminder opens the page the row does."""
from __future__ import annotations

from flask import url_for


def item_link(kind: str, ref_id: int, stage: str, parent_id: int | None = None) -> tuple[str, dict, str]:
    """The page of a work item of `kind` (work_items' kinds); the workspace's slug is added by the caller."""
    if kind == "task":
        return "workspace.task", {"task_id": ref_id}, ""
    if kind == "document_approval":
        return "workspace.documents", {}, f"doc-{ref_id}"
    if kind in ("document_review", "record_due"):
        return "workspace.document", {"doc_id": ref_id}, ""
    if kind == "effectiveness_check":
        return "workspace.finding", {"finding_id": parent_id}, f"action-{ref_id}"
    if kind == "cb_response":
        return "workspace.finding", {"finding_id": ref_id}, ""
    if kind == "internal_audit":
        return "workspace.internal_audit", {"audit_id": ref_id}, ""
    if kind == "management_review":
        return "workspace.management_review", {"review_id": ref_id}, ""
    if kind == "external_audit":
        return "workspace.certification", {}, "calendar"
    if kind == "stage_2_repeat":
        return "workspace.certification", {}, "stage-2-repeat"
    return "workspace.gates", {}, f"gate-{stage}"


def item_href(item, slug: str) -> str:
    """The address of `item`'s page (a work item, or a row with its kind, ref_id, stage and parent_id)."""
    endpoint, values, fragment = item_link(item.kind, item.ref_id, item.stage, item.parent_id)
    return url_for(endpoint, slug=slug, **values) + (f"#{fragment}" if fragment else "")
