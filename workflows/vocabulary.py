"""The words a client's workspace is made of: statuses, severities and
decisions, with the labels users see.

One place so that the rules, the app's tables, its forms and its screens can
never disagree on what a status is called or which ones count as open. The
tuples are in the order screens list them.
"""

from __future__ import annotations

TASK_STATUSES: tuple[str, ...] = ("todo", "in_progress", "done", "not_applicable")
TASK_STATUS_LABELS: dict[str, str] = {
    "todo": "To do",
    "in_progress": "In progress",
    "done": "Done",
    "not_applicable": "Not applicable",
}
# Open work still needs doing; not applicable counts as finished, the reason given is the evidence.
OPEN_TASK_STATUSES: tuple[str, ...] = ("todo", "in_progress")
FINISHED_TASK_STATUSES: tuple[str, ...] = ("done", "not_applicable")

DOCUMENT_STATUSES: tuple[str, ...] = ("draft", "in_review", "approved", "obsolete")
DOCUMENT_STATUS_LABELS: dict[str, str] = {
    "draft": "Draft",
    "in_review": "In review",
    "approved": "Approved",
    "obsolete": "Obsolete",
}
# The one status that satisfies a gate, and the one only some roles may set.
APPROVED_DOCUMENT_STATUS = "approved"

FINDING_SEVERITIES: tuple[str, ...] = ("major", "minor", "observation", "opportunity")
FINDING_SEVERITY_LABELS: dict[str, str] = {
    "major": "Major",
    "minor": "Minor",
    "observation": "Observation",
    "opportunity": "Opportunity",
}
FINDING_STATUSES: tuple[str, ...] = ("open", "closed")
FINDING_STATUS_LABELS: dict[str, str] = {"open": "Open", "closed": "Closed"}
OPEN_FINDING_STATUSES: tuple[str, ...] = ("open",)

# What a certification body can decide; None (nothing recorded yet) is not a decision.
CERTIFICATION_DECISIONS: tuple[str, ...] = ("certified", "not_certified", "pending")
CERTIFICATION_DECISION_LABELS: dict[str, str] = {
    "certified": "Certified",
    "not_certified": "Not certified",
    "pending": "Pending",
}

# Where a client stands with a stage, as the app stores it.
STAGE_STATUSES: tuple[str, ...] = ("upcoming", "current", "passed")
