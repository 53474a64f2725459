"""Keeping the portfolio's summary rows true as time passes.

Writes refresh a client's summary and work items as they happen, but a task
becomes overdue at midnight with nobody touching it, and a change to who
consults a client or a restored archive touches no client schema: this job
recomputes every active client's rows, one client (one tenant scope, one
transaction) at a time.
"""
import logging

from sqlalchemy import select

import tenants

from ..extensions import db
from ..models import Client
from ..workspace import operations as ops

log = logging.getLogger(__name__)


def refresh_all_summaries() -> dict:
    clients = db.session.execute(select(Client.id, Client.schema_name).where(Client.status == "active")).all()
    refreshed, failed = 0, []
    for client_id, schema in clients:
        try:
            with tenants.tenant_scope(db.session, schema):
                ops.refresh_indexes(db.session.get(Client, client_id))
                db.session.commit()
            refreshed += 1
        except Exception:  # one broken client must not stop the others' repair
            log.exception("summary refresh failed for client %s", client_id)
            failed.append(client_id)
    return {"refreshed": refreshed, "failed": failed}
