"""Declaring a task not applicable: when the standard allows it, what the reason
must say, and who makes the decision count.

ISO 9001 (4.3) lets a firm declare a requirement not applicable only when
that does not affect its ability to deliver conforming services, and the
certification body checks each such decision against the scope statement. So
a reason must refer to the scope, and a decision proposed by the client's
staff counts (closes the task for its gate) only once a consultant has
approved it; a consultant's own decision is approved as it is made.
"""

from __future__ import annotations

import re

from .errors import INVALID_INPUT, TransitionError

NA_REASON_MIN = 20
NA_REASON_MAX = 2_000
# "scope", "scope statement", "4.3" or the QMS scope document's title.
_SCOPE_RE = re.compile(r"\bscope\b|\b4\.3\b", re.IGNORECASE)
SCOPE_HINT = ("Refer to the scope statement (4.3), e.g. “Scope: we deliver to the client's specification "
              "only, so 8.3 design and development does not apply”.")


def check_na_reason(reason: str | None, title: str) -> str:
    """The stripped reason for marking `title` not applicable; TransitionError (422) when it is missing,
    too short or too long, or does not refer to the scope statement."""
    text = (reason or "").strip()
    if not text:
        raise TransitionError(f"Marking “{title}” not applicable needs a reason. {SCOPE_HINT}", status=INVALID_INPUT)
    if "\x00" in text:
        raise TransitionError("The reason contains a NUL character; remove it.", status=INVALID_INPUT)
    if len(text) > NA_REASON_MAX:
        raise TransitionError(f"Keep the reason under {NA_REASON_MAX} characters.", status=INVALID_INPUT)
    if len(text) < NA_REASON_MIN or not _SCOPE_RE.search(text):
        raise TransitionError(
            f"The reason for marking “{title}” not applicable must say why, with reference to the scope "
            f"statement. {SCOPE_HINT}", status=INVALID_INPUT)
    return text


def approved_on_marking(by_consultant: bool) -> bool:
    """Whether a not-applicable decision is approved the moment it is made (a consultant's) or waits."""
    return by_consultant


def check_na_approval(status: str, approved: bool, title: str) -> None:
    """A consultant may approve only a pending not-applicable decision; TransitionError (409) otherwise."""
    if status != "not_applicable":
        raise TransitionError(f"“{title}” is not marked not applicable: there is nothing to approve.")
    if approved:
        raise TransitionError(f"The not-applicable decision on “{title}” is approved already.")
