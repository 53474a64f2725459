"""`dev.py run` leaves no orphans and runs once per instance folder; one cron scheduler per Redis.

Real processes: `python -m app.devserver` and `python -m app.jobs.cron`, each with an instance folder of
its own under tmp_path (ISOPATH_INSTANCE), its own embedded Redis there, and a database of its own. Every
test kills whatever it started, also when it fails: the processes it launched, their children, and any
server whose working directory is its instance folder.
"""
from __future__ import annotations

import json
import os
import signal
import urllib.request
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy.engine import make_url

from conftest import ROOT, _empty_database, free_port

BANNER = "ISOpath is running at"


# --- helpers -----------------------------------------------------------------------------------

def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f"; its output:\n{log.read_text()[-3000:]}" if log and log.exists() else ""))


def children(pid: int) -> dict[str, psutil.Process]:
    """The worker and cron scheduler a run started, by module."""
    found = {}
    for child in psutil.Process(pid).children():
        cmd = " ".join(child.cmdline())
        for module in ("app.jobs.worker", "app.jobs.cron"):
            if module in cmd:
                found[module] = child
    return found


class Launched:
    """The processes a test started, and the instance folders whose servers it must not leave behind."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []
        # Every process of theirs (children included) ever looked at; psutil refuses to signal a reused PID.
        self.seen: dict[int, psutil.Process] = {}
        self.folders: list[Path] = []

    def start(self, args: list[str], env: dict, name: str) -> tuple[subprocess.Popen, Path]:
        log = self.tmp_path / f"{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"},
                                    stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc, log

    def remember(self, *procs: psutil.Process):
        for proc in procs:
            self.seen[proc.pid] = proc
            try:
                self.seen.update((p.pid, p) for p in proc.children(recursive=True))
            except psutil.NoSuchProcess:
                pass

    def cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:  # not reaped yet, so the PID is still this one's
                try:
                    self.remember(psutil.Process(proc.pid))
                except psutil.NoSuchProcess:
                    pass
                proc.kill()
        for proc in self.seen.values():
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        for proc in self.procs:
            proc.wait(timeout=10)
        # Embedded servers detach from whoever started them: find them by their working directory.
        for folder in self.folders:
            for proc in _servers_in(folder):
                proc.kill()


def _servers_in(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd")
        if cwd and Path(cwd).is_relative_to(folder) and proc.pid != os.getpid():
            found.append(proc)
    return found


@pytest.fixture()
def launched(tmp_path):
    started = Launched(tmp_path)
    try:
        yield started
    finally:
        started.cleanup()


@pytest.fixture(scope="module")
def devserver_database(service_urls):
    """A database of the runs' own beside the test database, emptied first as the test database is (the
    runs migrate it; nothing else uses it). Kept afterwards: dropping a database waits for a checkpoint."""
    url = make_url(service_urls["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    own = url.set(database=f"{url.database}_devserver").render_as_string(hide_password=False)
    _empty_database(own)
    return own


def run_env(instance: Path, port: int, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"ISOPATH_INSTANCE": str(instance), "PORT": str(port), "ISOPATH_ENV": "development",
                "SPARE_SCHEMAS": "0"})
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def start_run(launched: Launched, instance: Path, port: int, name: str, database_url=None, timeout=90):
    launched.folders.append(instance)
    proc, log = launched.start(["-m", "app.devserver", "--no-demo"], run_env(instance, port, database_url), name)

    def ready():
        assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        return BANNER in log.read_text() and len(children(proc.pid)) == 2

    wait_until(ready, timeout, f"{name} to start", log)
    kids = children(proc.pid)
    launched.remember(*kids.values())
    return proc, log, kids


def redis_server_pid(instance: Path) -> int:
    settings = json.loads((instance / "redis.rdb.settings").read_text())
    return int(Path(settings["pidfile"]).read_text())


# --- dev.py run --------------------------------------------------------------------------------

def test_a_killed_run_leaves_no_worker_or_cron_and_the_next_run_reuses_then_stops_the_servers(tmp_path, launched):
    """kill -9 of the run: worker and cron die with it; PostgreSQL and Redis stay for the next run,
    which reuses them (no second worker or cron scheduler), and its clean stop stops them both."""
    instance, port = tmp_path / "instance", free_port()
    first, log, kids = start_run(launched, instance, port, "first-run")
    pg_pid = int((instance / "pg" / "postmaster.pid").read_text().splitlines()[0])
    redis_pid = redis_server_pid(instance)
    descendants = [p.pid for k in kids.values() for p in (k, *k.children(recursive=True))]

    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=5)
    wait_until(lambda: all(gone(pid) for pid in descendants), 10, "the worker and the cron scheduler to die")
    assert not gone(pg_pid) and not gone(redis_pid)  # the servers stay, to be reused

    second, log, kids = start_run(launched, instance, port, "second-run")
    assert int((instance / "pg" / "postmaster.pid").read_text().splitlines()[0]) == pg_pid
    assert redis_server_pid(instance) == redis_pid
    assert sorted(kids) == ["app.jobs.cron", "app.jobs.worker"]
    r = redis.Redis(unix_socket_path=json.loads((instance / "redis.rdb.settings").read_text())["unixsocket"])
    holder = wait_until(lambda: r.get("isopath:cron:lock"), 20, "the cron scheduler to take its lock", log)
    assert json.loads(holder)["pid"] == kids["app.jobs.cron"].pid
    r.close()

    descendants = [p.pid for k in kids.values() for p in (k, *k.children(recursive=True))]
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert all(gone(pid) for pid in descendants)
    wait_until(lambda: gone(pg_pid) and gone(redis_pid), 20, "PostgreSQL and Redis to stop with the last run")
    assert _servers_in(instance) == []


def test_a_second_run_on_the_same_instance_says_which_one_runs_and_exits(tmp_path, launched, devserver_database):
    instance, port = tmp_path / "instance", free_port()
    first, first_log, kids = start_run(launched, instance, port, "first-run", devserver_database)

    second, log = launched.start(["-m", "app.devserver", "--no-demo"],
                                 run_env(instance, free_port(), devserver_database), "second-run")
    assert second.wait(timeout=30) == 1
    said = log.read_text()
    assert f"ISOpath is already running for {instance}: PID {first.pid} at http://127.0.0.1:{port}/" in said
    assert BANNER not in said
    assert first.poll() is None and sorted(children(first.pid)) == ["app.jobs.cron", "app.jobs.worker"]
    assert all(k.is_running() for k in kids.values())  # the first run's own children are untouched
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as resp:
        assert resp.status == 200 and resp.headers.get_all("Server") == ["ISOpath"]  # no version banner

    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0
    assert all(gone(k.pid) for k in kids.values())
    # Once the first has stopped, the instance is free again.
    third, _, _ = start_run(launched, instance, port, "third-run", devserver_database)
    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=60) == 0


def test_a_run_whose_port_is_taken_says_so_before_any_banner(tmp_path, launched, devserver_database):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        instance = tmp_path / "instance"
        launched.folders.append(instance)
        proc, log = launched.start(["-m", "app.devserver", "--no-demo"], run_env(instance, port, devserver_database),
                                   "run")
        assert proc.wait(timeout=60) == 1
    said = log.read_text()
    assert f"Port {port} is in use" in said and f"Set PORT to a free port, e.g. `PORT={port + 1}" in said
    assert BANNER not in said
    wait_until(lambda: _servers_in(instance) == [], 20, "the run's Redis to stop")


# --- the cron scheduler ------------------------------------------------------------------------

@pytest.fixture()
def private_redis(tmp_path):
    """An embedded Redis of the test's own: a scheduler on the shared test Redis could queue jobs there."""
    from app.embedded import Services

    services = Services(tmp_path / "redis-instance")
    try:
        yield services.redis_url()
    finally:
        services.stop()


def lock_holder(url: str) -> dict | None:
    r = redis.Redis.from_url(url)
    try:
        raw = r.get("isopath:cron:lock")
        return json.loads(raw) if raw else None
    finally:
        r.close()


def test_only_one_cron_scheduler_runs_per_redis(tmp_path, launched, private_redis, service_urls):
    env = {**os.environ, "DATABASE_URL": service_urls["DATABASE_URL"], "REDIS_URL": private_redis,
           "ISOPATH_INSTANCE": str(tmp_path / "instance")}
    first, first_log = launched.start(["-m", "app.jobs.cron"], env, "cron-1")
    wait_until(lambda: (lock_holder(private_redis) or {}).get("pid") == first.pid, 30,
               "the first scheduler to take the lock", first_log)

    second, log = launched.start(["-m", "app.jobs.cron"], env, "cron-2")
    assert second.wait(timeout=30) == 1, log.read_text()
    assert f"Another cron scheduler is already running for this Redis (PID {first.pid} on " in log.read_text()
    assert first.poll() is None and lock_holder(private_redis)["pid"] == first.pid

    # Killed without a chance to let go: the next one on this host sees it is gone and takes over at once,
    # instead of waiting out the 30 s the lock would otherwise last.
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=5)
    killed_at = time.monotonic()
    third, log = launched.start(["-m", "app.jobs.cron"], env, "cron-3")
    wait_until(lambda: (lock_holder(private_redis) or {}).get("pid") == third.pid, 30,
               "the third scheduler to take over", log)
    assert time.monotonic() - killed_at < 30
    assert f"taking over the cron lock of PID {first.pid}" in log.read_text()
    assert third.poll() is None

    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=30) == 0
    assert lock_holder(private_redis) is None  # released on a clean stop


def test_the_cron_lock_lives_by_its_heartbeat_and_is_never_taken_from_another(service_urls):
    import threading

    from app.jobs.cron import CronLock

    r = redis.Redis.from_url(service_urls["REDIS_URL"])
    key = f"isopath:test:cron-lock:{os.getpid()}:{time.time_ns()}"
    first, second = CronLock(r, key=key, ttl=2, heartbeat=0.2), CronLock(r, key=key, ttl=2, heartbeat=0.2)
    try:
        assert first.acquire() is None
        holder = second.acquire()
        assert holder == json.loads(first.value)  # refused, told who holds it (alive: this very process)
        lost = threading.Event()
        first.keep_alive(on_lost=lost.set)
        time.sleep(3)  # longer than the lock lasts without a heartbeat
        assert r.get(key) == first.value.encode() and 0 < r.ttl(key) <= 2
        r.delete(key)  # Redis lost it (restarted without the key): the holder takes it back
        wait_until(lambda: r.get(key) == first.value.encode(), 2, "the heartbeat to take the lock back")
        r.set(key, second.value, ex=5)  # someone else holds it now: the first is told, and stops beating
        assert lost.wait(2)
        first.release()
        assert r.get(key) == second.value.encode()  # releasing never deletes another's lock
        second.release()
        assert r.get(key) is None
    finally:
        first.release()
        r.delete(key)
        r.close()
