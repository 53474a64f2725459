"""Exceptions raised by the workflow rules.

They share one base so the app can turn any refused workflow action into one
refusal with a single except clause. Every error carries a `status`: an
HTTP-style hint that says *why* the rules refused, so the app need not guess
from the message:

- 422: the input is not something the rules accept (an unknown status, a
  missing reason, a number out of range);
- 403: the rules forbid this actor the action (e.g. approving a document);
- 409: the request is well-formed but conflicts with the client's current
  state (a locked stage, a finding already closed, a blocked gate).

Each class has a default (below) and a raise site may override it with
``status=``; the app reads ``err.status`` and nothing else.
"""

from __future__ import annotations

INVALID_INPUT = 422
NOT_ALLOWED = 403
CONFLICT = 409


class WorkflowError(Exception):
    """Base class for every refusal raised by `workflows`."""

    status: int = CONFLICT

    def __init__(self, message: str = "", *, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class TemplateError(WorkflowError):
    """Template data or a template edit is invalid; `problems` names each fault."""

    status = INVALID_INPUT

    def __init__(self, problems: str | list[str]):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("; ".join(self.problems))


class TransitionError(WorkflowError):
    """A change to a client's workspace (stage, task, document, finding,
    certification decision) that the rules do not allow."""


class PlanError(WorkflowError):
    """Dates given to the planner cannot produce a sensible plan."""

    status = INVALID_INPUT


class KpiError(WorkflowError):
    """A KPI, period, target, measurement or objective the rules do not accept."""

    status = INVALID_INPUT


class GapAnalysisError(WorkflowError):
    """A gap-analysis rating, or checklist data, the rules do not accept; `field` names the input at fault."""

    status = INVALID_INPUT

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None):
        super().__init__(message, status=status)
        self.field = field
