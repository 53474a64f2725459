"""`python3 dev.py run`: servers, migrations, demo data, an RQ worker, the cron scheduler and the web app.

Everything started here is stopped here — on Ctrl-C, SIGTERM, or a failure
half-way — and embedded servers already running for the same `instance/`
directory are reused, not duplicated.

One run per instance directory: the run holds `instance/devserver.lock` (an
flock, released by the kernel however the process ends) and a second run says
which process holds it and exits with status 1 before starting anything.

No orphans: the worker and the cron scheduler are started with Linux's
parent-death signal, so even a `kill -9` of this process sends them SIGTERM
(see `_die_with_parent`). The embedded PostgreSQL and Redis deliberately
survive a kill; the next run reuses them and its clean stop stops them.
"""
from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from .config import INSTANCE
from .embedded import ensure_environment

LOCK_NAME = "devserver.lock"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class _QuietBanner(WSGIRequestHandler):
    """No `Server: Werkzeug/x Python/y` banner: versions tell an attacker which advisories to try."""

    server_version = "ISOpath"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version


def _die_with_parent(parent: int):
    """A `preexec_fn` making the child get SIGTERM when this process dies, however it dies.

    Chosen over the child polling its parent's PID: the kernel delivers it at once
    and even to a child busy in a job, and neither RQ's worker nor rq.cron needs
    any code for it — SIGTERM is their own clean shutdown (the worker finishes the
    job in hand, bounded by its timeout; the cron scheduler releases its lock).
    The signal follows the death of the forking *thread*: these children are
    started from the main thread, which lives as long as the process. Linux only;
    elsewhere the children are still stopped on every clean exit.
    """
    def preexec():
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect: nobody would signal us
            os._exit(1)
    return preexec


def _terminate(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def claim_instance(instance: Path, url: str):
    """Hold the run lock of `instance` (an open file; keep it) or return None with the holder's details printed."""
    instance.mkdir(parents=True, exist_ok=True)
    handle = open(instance / LOCK_NAME, "a+")  # never truncate the holder's details before holding the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        try:
            holder = json.loads(handle.read())
        except ValueError:  # it is writing them this very moment
            holder = {}
        handle.close()
        pid = holder.get("pid", "?")
        print(f"ISOpath is already running for {instance}: PID {pid} at {holder.get('url', '?')}\n"
              f"Stop it first (Ctrl-C in its terminal, or `kill {pid}`), or set ISOPATH_INSTANCE to another "
              "folder to run a second copy with data of its own.", file=sys.stderr, flush=True)
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "url": url}))
    handle.flush()
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev.py run", description="Run ISOpath with everything it needs.")
    parser.add_argument("--no-demo", action="store_true", help="start without loading the demo data")
    args = parser.parse_args(argv)
    port = int(os.environ.get("PORT", "5000"))
    url = f"http://127.0.0.1:{port}/"
    run_lock = claim_instance(INSTANCE, url)
    if run_lock is None:
        return 1
    # SIGTERM takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    services = server = None
    processes: list[subprocess.Popen] = []
    try:
        urls, services = ensure_environment(INSTANCE, database="isopath")
        os.environ.update(urls)
        os.environ.setdefault("ISOPATH_ENV", "development")

        # Start-up order: the app reads DATABASE_URL and REDIS_URL, which exist only from here on.
        from . import create_app
        from .cli import upgrade_all
        from .extensions import db
        from .demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

        app = create_app()
        try:  # take the port before the long part, and before saying that anything runs
            server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietBanner)
        except SystemExit:  # Werkzeug has said that the port is taken, and by nobody it knows
            print(f"Set PORT to a free port, e.g. `PORT={port + 1} python3 dev.py run`.", file=sys.stderr, flush=True)
            return 1
        with app.app_context():
            report = upgrade_all(db.engine, spare_schemas=app.config["SPARE_SCHEMAS"],
                                 cache_dir=app.config["CACHE_DIR"], quiet=True)
            if report.failed:
                print(f"warning: {len(report.failed)} client schemas failed to upgrade; see `flask tenants status`")
            if not args.no_demo:
                seed_demo()

        # The RQ worker (with its scheduler) and the one cron scheduler of periodic jobs, both bound to this
        # process's life (a cron scheduler already running for the same Redis makes ours say so and exit).
        for module in ("app.jobs.worker", "app.jobs.cron"):
            processes.append(subprocess.Popen([sys.executable, "-m", module], env=os.environ.copy(),
                                              preexec_fn=_die_with_parent(os.getpid())))
        print("\n" + "=" * 64)
        print(f"  ISOpath is running at {url}  (PID {os.getpid()})")
        if not args.no_demo:
            print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
            for email, who in DEMO_LOGINS:
                print(f"    {email:<32} {who}")
        print("  Press Ctrl-C to stop everything.")
        print("=" * 64 + "\n", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # A terminal's Ctrl-C reaches the whole process group, sometimes twice: finish stopping regardless.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping…", flush=True)
        if server is not None:
            server.server_close()
        for proc in processes:
            _terminate(proc)
        if services is not None:
            services.stop()
        run_lock.close()  # last: a new run may start only once this one has stopped everything
    return 0


if __name__ == "__main__":
    sys.exit(main())
