"""The workspace blueprint: /c/<slug>/… bound to that client's schema before every view."""
from flask import Blueprint, g

from ..tenancy import bind_request_client, release_request_client

bp = Blueprint("workspace", __name__, url_prefix="/c/<slug>")

NAV = [
    ("workspace.overview", "Overview"),
    ("workspace.tasks", "Tasks"),
    ("workspace.documents", "Documents"),
    ("workspace.findings", "Findings"),
    ("workspace.gates", "Gates"),
    ("workspace.kpis", "KPIs"),
    ("workspace.objectives", "Objectives"),
    ("workspace.plan", "Plan"),
    ("workspace.activity", "Activity"),
    ("workspace.people", "People"),
]


@bp.url_value_preprocessor
def _pull_slug(endpoint, values):
    g.slug = values.pop("slug", None) if values else None


@bp.url_defaults
def _add_slug(endpoint, values):
    if "slug" not in values and g.get("client") is not None:
        values["slug"] = g.client.slug


@bp.before_request
def _bind():
    return bind_request_client(g.slug)


bp.teardown_request(release_request_client)


@bp.context_processor
def _nav():
    return {"workspace_nav": NAV}

