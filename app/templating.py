"""Jinja helpers and the one way to render a page or one block of it (htmx partials)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache

from flask import render_template
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from workflows.cycle import countdown
from workflows.stages import stage_label

from . import clock
from .extensions import htmx
from .permissions import ROLE_LABELS, current_account, my_accounts
from .text import counted, file_size, moment_text, rich_text


def render(template: str, block: str | None = None, **context):
    """Render the whole page, or only `block` when htmx asks for a partial."""
    if block and htmx:
        return render_block(template, block, **context)
    return render_template(template, **context)


def _ago(value):
    if value is None:
        return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    seconds = (clock.now() - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def _datefmt(value, fmt="%d %b %Y"):
    return value.strftime(fmt) if value else "—"


def _num(value, places: int = 2) -> str:
    """A measured value as people read it: 87.5, 1,234, 0.25 (no trailing zeros, "—" for none)."""
    if value is None:
        return "—"
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


STATUS_TONE = {"done": "ok", "approved": "ok", "closed": "ok", "in_progress": "info", "in_review": "info",
               "open": "warn"}


@lru_cache(maxsize=256)
def status_badge(status: str, label: str) -> Markup:
    """A status pill; a Python helper so page blocks rendered alone (htmx partials) can use it too."""
    return Markup('<span class="badge status-{} {}">{}</span>').format(status, STATUS_TONE.get(status, ""), label)


def register_template_helpers(app):
    app.jinja_env.filters["ago"] = _ago
    app.jinja_env.filters["datefmt"] = _datefmt
    app.jinja_env.filters["rich_text"] = rich_text
    app.jinja_env.filters["file_size"] = file_size
    app.jinja_env.filters["moment"] = moment_text
    app.jinja_env.filters["num"] = _num
    app.jinja_env.filters["countdown"] = countdown  # {{ due|countdown(today) }}: "in 12 days", "3 days overdue"
    app.jinja_env.globals["counted"] = counted
    app.jinja_env.globals["role_label"] = lambda r: ROLE_LABELS.get(r, r)
    app.jinja_env.globals["stage_label"] = stage_label
    app.jinja_env.globals["status_badge"] = status_badge

    @app.context_processor
    def inject():
        ctx = {"htmx_request": bool(htmx)}
        if current_user.is_authenticated:
            ctx["current_account"] = current_account()
            ctx["my_accounts"] = my_accounts()
        return ctx
