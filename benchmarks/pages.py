#!/usr/bin/env python3
"""Pages under load: server time of the pages a consultant and client staff open most, under gunicorn.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/isopath_bench .venv/bin/python benchmarks/pages.py
    .venv/bin/python benchmarks/pages.py --requests 300      # embedded PostgreSQL and Redis under instance/

The script creates its own database (dropped at the end; with DATABASE_URL its name must contain "bench"),
seeds the demo data through the real path, and serves the app with gunicorn (two workers, the production
way) on a free loopback port. For the portfolio, a workspace overview, the task list and one task it prints
p50/p95 of the server time (the `Server-Timing` header each response carries) and of the round trip seen by
the client, at concurrency 1 and 8; first on the demo data (55 tasks per client), then after every demo
client's plan has grown to 200 tasks. Between the two, the evidence pack of the certified demo client (a ZIP
built in the request) ten times, one at a time.

Nothing here asserts: the targets are in the README's Performance section, next to these figures.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import drop_database, line, ms, pct, prepare_database, redis_for, settle  # noqa: E402  (benchmarks/ is on sys.path)

LOGIN = ("owner@northwind.example", "demo-pass-2026")
CLIENT = "acme-logistics"
PACK_CLIENT = "juniper-cleaning"  # certified: the most evidence of the demo clients
TASKS_PER_CLIENT = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- data ------------------------------------------------------------------------------------------

def seed(url: str, redis_url: str) -> None:
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, ISOPATH_ENV="development")
    from app import create_app
    from app.cli import upgrade_all
    from app.demo import seed_demo
    from app.extensions import db

    app = create_app()
    with app.app_context():
        upgrade_all(db.engine, spare_schemas=0, cache_dir=app.config["CACHE_DIR"], quiet=True)
        seed_demo()
        db.engine.dispose()


def grow_plans(url: str, per_client: int) -> int:
    """Every client's plan grows to `per_client` tasks: copies of its open tasks, spread over the plan."""
    from sqlalchemy import create_engine, text

    from app.config import normalise_db_url

    engine = create_engine(normalise_db_url(url))
    added = 0
    with engine.begin() as conn:
        schemas = conn.execute(text("SELECT schema_name FROM clients")).scalars().all()
        for schema in schemas:
            have = conn.execute(text(f'SELECT count(*) FROM "{schema}".tasks')).scalar()
            missing = per_client - have
            if missing <= 0:
                continue
            conn.execute(text(f'''
                INSERT INTO "{schema}".tasks (key, stage, position, title, guidance, clauses, role, required,
                                             allow_not_applicable, status, start_on, due_on)
                SELECT t.key || '_bench_' || n, t.stage, t.position + 1000 * n, t.title || ' (part ' || n || ')',
                       t.guidance, t.clauses, t.role, false, t.allow_not_applicable, 'todo', t.start_on, t.due_on
                FROM generate_series(1, :copies) AS n
                CROSS JOIN LATERAL (SELECT * FROM "{schema}".tasks WHERE key NOT LIKE '%\\_bench\\_%'
                                    ORDER BY position) t
                LIMIT :missing'''), {"copies": missing // max(1, have) + 1, "missing": missing})
            added += missing
    engine.dispose()
    return added


# --- the server ----------------------------------------------------------------------------------

def start_gunicorn(url: str, redis_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "ISOPATH_ENV": "development"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2",
                             "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                             "--access-logfile", "/dev/null", "wsgi:app"],
                            cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited at start-up")
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start listening in 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Browser:
    """One logged-in user on one keep-alive connection."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.last_cpu: float | None = None

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        wall = time.perf_counter() - started
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        timing = resp.headers.get("Server-Timing", "")
        found = re.search(r"app;dur=([0-9.]+)", timing)
        server = float(found.group(1)) / 1000 if found else None
        found = re.search(r"cpu;dur=([0-9.]+)", timing)
        self.last_cpu = float(found.group(1)) / 1000 if found else None  # the server's CPU time for it
        self.last_size = len(payload)
        return resp.status, payload.decode("utf-8", "replace"), wall, server

    def login(self, email: str, password: str) -> None:
        _, page, _, _ = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(r'name="csrf_token" value="([^"]+)"', page)
        status, _, _, _ = self.request("POST", "/login", {"csrf_token": token.group(1), "email": email,
                                                          "password": password})
        if status != 302:
            raise RuntimeError(f"login failed with {status}")


def pages(port: int) -> dict[str, str]:
    b = Browser(port)
    b.login(*LOGIN)
    _, tasks, _, _ = b.request("GET", f"/c/{CLIENT}/tasks")
    task_id = re.search(rf'href="/c/{CLIENT}/tasks/(\d+)"', tasks).group(1)
    return {"portfolio": "/", "workspace overview": f"/c/{CLIENT}/", "task list": f"/c/{CLIENT}/tasks",
            "one task": f"/c/{CLIENT}/tasks/{task_id}"}


def measure(port: int, path: str, concurrency: int, total: int):
    """`total` requests split over `concurrency` logged-in users at once; (server times, round trips)."""
    browsers = [Browser(port) for _ in range(concurrency)]
    for b in browsers:
        b.login(*LOGIN)
        b.request("GET", path)  # warm: the worker's caches, the connection
    servers, walls, cpus, failures = [], [], [], []
    lock = threading.Lock()
    start = threading.Barrier(concurrency)

    def run(b: Browser, n: int):
        start.wait()
        for _ in range(n):
            status, _, wall, server = b.request("GET", path)
            with lock:
                (walls if status == 200 else failures).append(wall)
                if status == 200 and server is not None:
                    servers.append(server)
                    cpus.append(b.last_cpu)

    threads = [threading.Thread(target=run, args=(b, total // concurrency)) for b in browsers]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} requests to {path} failed")
    return servers, walls, len(walls) / elapsed, cpus


def report(port: int, label: str, requests: int) -> None:
    for name, path in pages(port).items():
        for concurrency in (1, 8):
            servers, walls, rate, cpus = measure(port, path, concurrency, requests)
            server = (f"server p50 {ms(pct(servers, 50))}, p95 {ms(pct(servers, 95))} (CPU p50 {ms(pct(cpus, 50))})"
                      if servers else "no Server-Timing")
            line(f"{label}: {name}, concurrency {concurrency}",
                 f"{server}; round trip p50 {ms(pct(walls, 50))}, p95 {ms(pct(walls, 95))}; {rate:.0f} req/s")


def evidence_pack(port: int, slug: str, requests: int) -> None:
    """The evidence pack of one client (a ZIP built in the request: files, index PDF, checksums), one at a time."""
    b = Browser(port)
    b.login(*LOGIN)
    path = f"/c/{slug}/evidence-pack.zip"
    servers, cpus = [], []
    for i in range(requests + 1):
        status, _, _, server = b.request("GET", path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        if i:  # the first warms the worker (WeasyPrint's fonts, the template)
            servers.append(server)
            cpus.append(b.last_cpu)
    line(f"evidence pack of {slug} ({requests} requests, concurrency 1)",
         f"server p50 {ms(pct(servers, 50))}, p95 {ms(pct(servers, 95))} (CPU p50 {ms(pct(cpus, 50))}); "
         f"{b.last_size / 1e6:.1f} MB")


def shut_down(server, keep: bool, admin, name: str, services) -> None:
    """Everything a run started, stopped; its database dropped unless asked to keep it."""
    if server is not None:
        stop(server)
    if not keep:
        drop_database(admin, name)
    if services is not None:
        services.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per page and concurrency")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url, admin, name, services, version = prepare_database(args)
    redis_url, services = redis_for(services)
    server = None
    try:
        line("machine", f"{os.cpu_count()} cores, PostgreSQL {version}, Python {sys.version.split()[0]}, "
                        f"load average {os.getloadavg()[0]:.2f} at start")
        t = time.perf_counter()
        seed(url, redis_url)
        line("demo data seeded", f"{time.perf_counter() - t:.0f} s")
        line("database settled (VACUUM ANALYZE, CHECKPOINT)", f"{settle(url):.1f} s")
        port = free_port()
        server = start_gunicorn(url, redis_url, port)
        report(port, "demo data", args.requests)
        evidence_pack(port, PACK_CLIENT, 10)
        line(f"plans grown to {TASKS_PER_CLIENT} tasks per client", f"{grow_plans(url, TASKS_PER_CLIENT)} tasks added")
        line("database settled", f"{settle(url):.1f} s")
        report(port, f"{TASKS_PER_CLIENT} tasks per client", args.requests)
        line("load average at end", f"{os.getloadavg()[0]:.2f}")
    finally:
        shut_down(server, args.keep, admin, name, services)


if __name__ == "__main__":
    main()
