"""The RQ worker process with its scheduler: `python -m app.jobs.worker` (`--burst`: until the queues are empty).

It runs each job in its own process, not in a fork per job (RQ's `SimpleWorker`, not `Worker`): a forked work
horse opened a new PostgreSQL connection (and inherited the parent's pooled ones, unsafe to share) for every
job, which held sending at ~3 mails/s per worker on this machine (benchmarks/reminders.py). Every job here
commits or rolls back its own transaction and has a timeout (RQ's alarm in this, the main, thread); a worker
killed mid-job loses that job only, and the outbox queues its message again once it is stale.
"""
import argparse
import sys

from rq import SimpleWorker

from .. import create_app
from ..redis_conn import get_redis
from . import MAIL_QUEUE, QUEUE_NAME


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The ISOpath RQ worker.")
    parser.add_argument("--burst", action="store_true", help="stop once the queues are empty")
    args = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        worker = SimpleWorker([MAIL_QUEUE, QUEUE_NAME], connection=get_redis())
        # RQ installs its own SIGINT/SIGTERM handlers: a warm shutdown finishes the current job.
        worker.work(burst=args.burst, with_scheduler=not args.burst, logging_level="WARNING")
    return 0


if __name__ == "__main__":
    sys.exit(main())
