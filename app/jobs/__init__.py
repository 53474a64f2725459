"""Background jobs on RQ. Jobs bind a client through `tenants.tenant_scope`, exactly as requests do."""
from rq import Queue

from ..redis_conn import get_redis

QUEUE_NAME = "isopath"


def queue() -> Queue:
    return Queue(QUEUE_NAME, connection=get_redis())

