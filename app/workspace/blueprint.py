"""The workspace blueprint: /c/<slug>/… bound to that client's schema before every view."""
from flask import Blueprint, g, request
from markupsafe import escape

from ..extensions import htmx
from ..permissions import CLIENT_SETTINGS_ROLES, consultancy_read_only
from ..templating import render
from ..tenancy import bind_request_client, release_request_client
from .operations import archive_record

bp = Blueprint("workspace", __name__, url_prefix="/c/<slug>")

# (endpoint, label, roles that see the tab; None: every member)
NAV = [
    ("workspace.overview", "Overview", None),
    ("workspace.gap_analysis", "Gap analysis", None),
    ("workspace.tasks", "Tasks", None),
    ("workspace.documents", "Documents", None),
    ("workspace.findings", "Findings", None),
    ("workspace.internal_audits", "Audits", None),
    ("workspace.gates", "Gates", None),
    ("workspace.certification", "Certification", None),
    ("workspace.kpis", "KPIs", None),
    ("workspace.objectives", "Objectives", None),
    ("workspace.management_reviews", "Management review", None),
    ("workspace.plan", "Plan", None),
    ("workspace.activity", "Activity", None),
    ("workspace.people", "People", None),
    ("workspace.client_settings", "Settings", CLIENT_SETTINGS_ROLES),
]

# What an archived client still accepts: being unarchived (its view checks the role).
CHANGES_WHILE_ARCHIVED = {"workspace.client_unarchive"}
_READING = {"GET", "HEAD", "OPTIONS"}


@bp.url_value_preprocessor
def _pull_slug(endpoint, values):
    g.slug = values.pop("slug", None) if values else None


@bp.url_defaults
def _add_slug(endpoint, values):
    if "slug" not in values and g.get("client") is not None:
        values["slug"] = g.client.slug


@bp.before_request
def _bind():
    return bind_request_client(g.slug) or _read_only_when_archived() or _read_only_by_subscription()


def _read_only_when_archived():
    """An archived client's workspace is read-only: every change to it is refused here, in one place."""
    if (g.client.archived_at is None or request.method in _READING
            or request.endpoint in CHANGES_WHILE_ARCHIVED):
        return None
    message = (f"{g.client.name} is archived, so nothing in its workspace can be changed. "
               "Unarchive it on its Settings page first.")
    return _refuse(message, "This client is archived")


def _read_only_by_subscription():
    """A consultancy whose subscription ended (or is overdue past its grace) is read-only, here in one place."""
    if request.method in _READING:
        return None
    message = consultancy_read_only(g.client.account_id)
    return None if message is None else _refuse(message, "This consultancy is read-only")


def _refuse(message: str, title: str):
    if htmx:  # the message goes above the page, which stays as it was
        return (f'<ul class="flashes" role="alert"><li class="flash error">{escape(message)}</li></ul>', 409,
                {"HX-Retarget": "main.page", "HX-Reswap": "afterbegin"})
    return render("errors/error.html", code=409, title=title, message=message), 409


bp.teardown_request(release_request_client)


@bp.context_processor
def _workspace():
    role = g.get("client_role")
    client = g.get("client")
    return {"workspace_nav": [(endpoint, label) for endpoint, label, roles in NAV if roles is None or role in roles],
            "archive": archive_record(client) if client is not None else None}
