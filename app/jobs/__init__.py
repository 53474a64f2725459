"""Background jobs on RQ. Jobs bind a client through `tenants.tenant_scope`, exactly as requests do."""
from rq import Queue

from ..redis_conn import get_redis

QUEUE_NAME = "isopath"
MAIL_QUEUE = "isopath-mail"  # its own queue: mail never waits behind a long job, nor a test for one


def queue() -> Queue:
    return Queue(QUEUE_NAME, connection=get_redis())

