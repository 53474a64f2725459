"""The one cron scheduler process: `python -m app.jobs.cron`.

Exactly one may run per Redis (the queue its jobs go to), or every periodic job
runs twice. RQ does not enforce that for `rq.cron`, so this process holds a lock
in that Redis first: a key set only if absent (`SET NX EX 30`) naming this
process, refreshed every 10 s by a heartbeat thread and deleted on exit. A
second scheduler finds it, says who holds it, and exits with status 1. A holder
that died without deleting it (SIGKILL) stops refreshing it, so it lapses within
30 s; and when the holder is on this same host and plainly gone, the next
scheduler takes the lock over at once instead of waiting.

The lock lives in Redis rather than as a file under instance/ because "the same
data" is the queue: two hosts, or two checkouts with the same REDIS_URL, would
each hold a file lock of their own.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from datetime import datetime, timezone

import psutil
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from .. import clock, create_app
from ..redis_conn import get_redis
from .schedule import register_schedule

log = logging.getLogger(__name__)

LOCK_KEY = "isopath:cron:lock"
LOCK_TTL = 30  # seconds a silent holder keeps the lock
HEARTBEAT = 10  # seconds between refreshes: two may be missed before it lapses

# Keep our lock alive; take it back if it lapsed unclaimed (Redis restarted, the host slept); 0 if another holds it.
_REFRESH = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""
# Delete the key only if it still holds exactly this value (ours, or the dead holder's we are replacing).
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _describe(holder: dict) -> str:
    since = datetime.fromtimestamp(holder.get("since", 0), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"PID {holder.get('pid')} on {holder.get('host')}, since {since}"


def _gone(holder: dict) -> bool:
    """The holder ran on this host and that process no longer exists (a reused PID has another start time)."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        proc = psutil.Process(int(holder["pid"]))
        return abs(proc.create_time() - float(holder["created"])) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except (KeyError, TypeError, ValueError, psutil.Error):
        return False


class CronLock:
    """The one-scheduler-per-Redis lock: `acquire()`, a heartbeat thread, `release()`."""

    def __init__(self, redis, key: str = LOCK_KEY, ttl: int = LOCK_TTL, heartbeat: float = HEARTBEAT):
        self.redis, self.key, self.ttl, self.heartbeat = redis, key, ttl, heartbeat
        me = psutil.Process()
        self.value = json.dumps({"host": socket.gethostname(), "pid": me.pid, "created": me.create_time(),
                                 "since": clock.now().timestamp(), "token": secrets.token_hex(8)})
        self._refresh = redis.register_script(_REFRESH)
        self._delete_if = redis.register_script(_DELETE_IF)
        self._stop = threading.Event()

    def acquire(self) -> dict | None:
        """Take the lock; None on success, else what the live holder says about itself."""
        holder: dict = {}
        for _ in range(3):
            if self.redis.set(self.key, self.value, nx=True, ex=self.ttl):
                return None
            raw = self.redis.get(self.key)
            if raw is None:
                continue  # it lapsed between the two calls
            try:
                holder = json.loads(raw)
            except ValueError:
                holder = {}
            if not _gone(holder):
                return holder
            log.warning("taking over the cron lock of %s, which is no longer running", _describe(holder))
            self._delete_if(keys=[self.key], args=[raw])
        return holder

    def keep_alive(self, on_lost) -> threading.Thread:
        """Refresh the lock every `heartbeat` seconds; call `on_lost()` if another scheduler holds it now."""
        def beat():
            while not self._stop.wait(self.heartbeat):
                try:
                    if not self._refresh(keys=[self.key], args=[self.value, self.ttl]):
                        log.error("another cron scheduler holds the lock now; this one stops")
                        on_lost()
                        return
                except Exception:  # Redis away for a moment: nothing can be enqueued either; try again
                    log.warning("could not refresh the cron lock", exc_info=True)

        thread = threading.Thread(target=beat, name="cron-lock-heartbeat", daemon=True)
        thread.start()
        return thread

    def release(self) -> None:
        self._stop.set()
        try:
            self._delete_if(keys=[self.key], args=[self.value])
        except Exception:  # Redis gone: the key lapses by itself
            log.warning("could not release the cron lock", exc_info=True)


def _stop_requested(signum, frame):
    raise StopRequested()  # what rq.cron's own handler does once `start()` has installed it


def main() -> int:
    # SIGTERM or Ctrl-C before the scheduler has installed its handlers (while the app starts, or between taking
    # the lock and `start()`) stops as cleanly as one after: the lock is released, the exit status is 0.
    signal.signal(signal.SIGTERM, _stop_requested)
    signal.signal(signal.SIGINT, _stop_requested)
    try:
        app = create_app()
        with app.app_context():
            lock = CronLock(get_redis())
            holder = lock.acquire()
            if holder is not None:
                print(f"Another cron scheduler is already running for this Redis ({_describe(holder)}); this one "
                      "exits. Run exactly one `python -m app.jobs.cron` per Redis.", file=sys.stderr, flush=True)
                return 1
            try:
                # Losing the lock stops the scheduler the way SIGTERM does (rq.cron's handler ends `start()`).
                lock.keep_alive(on_lost=lambda: os.kill(os.getpid(), signal.SIGTERM))
                scheduler = CronScheduler(connection=get_redis(), logging_level="WARNING")
                register_schedule(scheduler)
                print(f"cron scheduler running (PID {os.getpid()})", flush=True)
                scheduler.start()  # returns on SIGINT/SIGTERM
            finally:
                lock.release()
    except StopRequested:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
