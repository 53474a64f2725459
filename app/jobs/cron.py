"""The one cron scheduler process: `python -m app.jobs.cron`."""
import sys

from rq.cron import CronScheduler

from .. import create_app
from ..redis_conn import get_redis
from .schedule import register_schedule


def main() -> int:
    app = create_app()
    with app.app_context():
        scheduler = CronScheduler(connection=get_redis(), logging_level="WARNING")
        register_schedule(scheduler)
        scheduler.start()  # returns on SIGINT/SIGTERM
    return 0


if __name__ == "__main__":
    sys.exit(main())
