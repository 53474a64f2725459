"""Jobs that failed for good (RQ's failed job registries of our queues), for an operator: `flask jobs failed`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from ..redis_conn import get_redis
from . import MAIL_QUEUE, QUEUE_NAME


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str
    args: str
    failed_at: datetime | None
    error: str  # the last line of the traceback: the exception and its message


def _last_line(exc_info: str | None) -> str:
    lines = [line.strip() for line in (exc_info or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no traceback kept)"


def failed_jobs(limit: int = 100) -> list[FailedJob]:
    """The most recently failed jobs of both queues, newest first."""
    redis = get_redis()
    found = []
    for name in (MAIL_QUEUE, QUEUE_NAME):
        registry = FailedJobRegistry(queue=Queue(name, connection=redis))
        ids = registry.get_job_ids()
        for job_id, job in zip(ids, Job.fetch_many(ids, connection=redis)):
            if job is None:  # its data expired before the registry entry
                found.append(FailedJob(job_id, name, "(gone)", "", None, "(the job's data has expired)"))
                continue
            result = job.latest_result()
            found.append(FailedJob(job.id, name, job.func_name or "?", ", ".join(map(repr, job.args or ()))[:120],
                                   job.ended_at or job.enqueued_at,
                                   _last_line(result.exc_string if result is not None else None)))
    found.sort(key=lambda j: j.failed_at or datetime.min, reverse=True)
    return found[:limit]
