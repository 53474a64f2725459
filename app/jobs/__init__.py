"""Background jobs on RQ. Jobs bind a client through `tenants.tenant_scope`, exactly as requests do."""
from flask import current_app
from rq import Queue

from ..redis_conn import get_redis

QUEUE_NAME = "isopath"


def queue() -> Queue:
    return Queue(QUEUE_NAME, connection=get_redis())


def app_for_job():
    """Jobs run outside requests: give them an app context of their own."""
    try:
        return current_app._get_current_object()
    except RuntimeError:
        from .. import create_app

        return create_app()
