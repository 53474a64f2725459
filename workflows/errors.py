"""Exceptions raised by the workflow rules.

They share one base so the app can turn any refused workflow action into a
flash message with a single except clause.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class for every refusal raised by `workflows`."""


class TemplateError(WorkflowError):
    """Template data or a template edit is invalid; `problems` names each fault."""

    def __init__(self, problems: str | list[str]):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("; ".join(self.problems))


class TransitionError(WorkflowError):
    """A stage or task transition that the rules do not allow."""


class PlanError(WorkflowError):
    """Dates given to the planner cannot produce a sensible plan."""
