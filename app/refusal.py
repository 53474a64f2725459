"""The one error for a change the app will not make, and why.

Operations raise `Refusal`; views turn it into the page (or htmx block) with
the form kept, the message shown and the status that fits: 409 for a state
that does not allow the change, 422 for input that cannot be used, 403 for a
role that may not do it, 413 for a file that is too large. `field` names the
form field the message belongs to; `unmet` lists the gate criteria not met.
"""
from __future__ import annotations

from workflows import WorkflowError


class Refusal(Exception):
    def __init__(self, message: str, status: int = 422, field: str | None = None, unmet=()):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.unmet = list(unmet)

    @classmethod
    def of(cls, err: WorkflowError, status: int | None = None, field: str | None = None) -> "Refusal":
        """A refusal from a workflow rule, keeping the rule's own status hint unless one is given."""
        return cls(str(err), status or getattr(err, "status", 409), field, getattr(err, "unmet", ()))
