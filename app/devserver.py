"""`python3 dev.py run`: servers, migrations, demo data, an RQ worker and the web app.

Everything started here is stopped here — on Ctrl-C, SIGTERM, or a failure
half-way — and embedded servers already running for the same `instance/`
directory are reused, not duplicated.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from .config import INSTANCE
from .embedded import ensure_environment


def _terminate(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    # SIGTERM takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    port = int(os.environ.get("PORT", "5000"))
    services = None
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
        with app.app_context():
            report = upgrade_all(db.engine, spare_schemas=app.config["SPARE_SCHEMAS"],
                                 cache_dir=app.config["CACHE_DIR"], quiet=True)
            if report.failed:
                print(f"warning: {len(report.failed)} client schemas failed to upgrade; see `flask tenants status`")
            seed_demo()

        # The RQ worker (with its scheduler) and the one cron scheduler of periodic jobs.
        for module in ("app.jobs.worker", "app.jobs.cron"):
            processes.append(subprocess.Popen([sys.executable, "-m", module], env=os.environ.copy()))
        url = f"http://127.0.0.1:{port}/"
        print("\n" + "=" * 64)
        print(f"  ISOpath is running at {url}")
        print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, who in DEMO_LOGINS:
            print(f"    {email:<32} {who}")
        print("  Press Ctrl-C to stop everything.")
        print("=" * 64 + "\n", flush=True)
        from werkzeug.serving import run_simple

        run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        # A terminal's Ctrl-C reaches the whole process group, sometimes twice: finish stopping regardless.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping…", flush=True)
        for proc in processes:
            _terminate(proc)
        if services is not None:
            services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
