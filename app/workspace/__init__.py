"""One client's workspace under /c/<slug>/…: every view here runs bound to that client's schema."""
from flask import Blueprint

from ..tenancy import bind_request_client, release_request_client

bp = Blueprint("workspace", __name__, url_prefix="/c/<slug>")


@bp.url_value_preprocessor
def _pull_slug(endpoint, values):
    from flask import g

    g.slug = values.pop("slug", None) if values else None


@bp.url_defaults
def _add_slug(endpoint, values):
    from flask import g

    if "slug" not in values and g.get("client") is not None:
        values["slug"] = g.client.slug


@bp.before_request
def _bind():
    from flask import g

    return bind_request_client(g.slug)


bp.teardown_request(release_request_client)

NAV = [
    ("workspace.overview", "Overview"),
    ("workspace.tasks", "Tasks"),
    ("workspace.documents", "Documents"),
    ("workspace.findings", "Findings"),
    ("workspace.gates", "Gates"),
    ("workspace.plan", "Plan"),
    ("workspace.activity", "Activity"),
    ("workspace.people", "People"),
]


@bp.context_processor
def _nav():
    return {"workspace_nav": NAV}

from . import views  # noqa: E402,F401
