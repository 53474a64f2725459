"""The RQ worker process with its scheduler: `python -m app.jobs.worker`."""
import sys

from rq import Worker

from .. import create_app
from ..redis_conn import get_redis
from . import MAIL_QUEUE, QUEUE_NAME


def main() -> int:
    app = create_app()
    with app.app_context():
        worker = Worker([MAIL_QUEUE, QUEUE_NAME], connection=get_redis())
        # RQ installs its own SIGINT/SIGTERM handlers: a warm shutdown finishes the current job.
        worker.work(with_scheduler=True, logging_level="WARNING")
    return 0


if __name__ == "__main__":
    sys.exit(main())
