"""Keeping spare client schemas ready, so that creating a client stays a rename.

Each new client takes one spare; this job builds replacements off the request
path. It is queued after every client creation and also runs on a schedule, so
a burst of sign-ups or a worker that was down only ever costs the slower
rendered-SQL path for a while, never a failure.
"""
import logging

from flask import current_app

from tenants import spares

from ..extensions import db
from . import queue

log = logging.getLogger(__name__)


def top_up_spares() -> dict:
    built, dropped, ready = spares.replenish(db.engine, current_app.config["SPARE_SCHEMAS"],
                                             cache_dir=current_app.config["CACHE_DIR"])
    return {"built": built, "dropped": dropped, "ready": ready}


def queue_top_up() -> None:
    """Ask the worker to replace the spare a new client just took; never fails the caller's request."""
    try:
        queue().enqueue(top_up_spares, job_timeout=600)
    except Exception:  # Redis down: the schedule tops up later, and provisioning falls back meanwhile
        log.warning("could not queue the spare-schema top-up", exc_info=True)
