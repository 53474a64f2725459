"""A kind of message and the groups of people it goes to: what the reminder rules (workflows/reminders.py) and
the due-date sources (workflows/due_dates.py) share, so each defines its kinds without importing the other."""
from __future__ import annotations

from dataclasses import dataclass

# Who receives a kind (the app resolves each to people of the client).
CONSULTANTS, REQUESTER_AND_ADMINS, ASSIGNEE, CLIENT_ADMINS, USER, TOP_MANAGEMENT = (
    "consultants", "requester_and_admins", "assignee", "client_admins", "user", "top_management")


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # as the preferences page names it
    mandatory: bool  # gate decisions, invitations, password resets: never turned off
    recipients: str
    subject: str  # str.format with the message's fields; the client's name always leads
    wording: str  # the first line of the mail and the in-app notification
    is_digest: bool = False  # a digest itself (the morning brief, the daily and weekly digests): never "in the digest"
