"""The counts in the top bar of every full page — "My work (7)" and the bell's unread notifications — read in
one round trip. Not for htmx partials, which have no top bar."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from .extensions import db, htmx
from .mywork.views import count_query as my_work_count_query
from .notify.views import unread_count_query


def install(app) -> None:
    @app.context_processor
    def _top_bar_counts():
        if not current_user.is_authenticated or htmx:
            return {}
        work, unread = db.session.execute(select(my_work_count_query(), unread_count_query())).one()
        return {"my_work_count": work, "unread_notifications": unread}
