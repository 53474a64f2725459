#!/usr/bin/env python3
"""The portfolio at 2,000 clients: server time of the portfolio and the cross-client KPI pages under gunicorn,
against the same first page computed by a naive fan-out over the tenant schemas.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/isopath_bench .venv/bin/python benchmarks/portfolio.py
    .venv/bin/python benchmarks/portfolio.py --clients 50      # a quick run that proves it works

The script creates its own database (dropped at the end unless --keep; with DATABASE_URL its name must contain
"bench"), then one consultancy whose clients are created through the real provisioning path
(`app.clients.create_client`: registry row, schema from the rendered tenant track, plan, summary, one
transaction each). Inside each client's schema the rest is bulk-inserted: progress through the plan (tasks done,
earlier stages passed, some work overdue because the plan started months ago), findings, a gate review waiting
for some, 8 library KPIs with 12 months of measurements; then every summary row (and the latest-KPI summary) is
written by the real `refresh_summary`, as the nightly repair does.

It prints p50/p95 of the server time (the `Server-Timing` header) over --requests requests each, logged in as
the owner (who sees every client). Nothing here asserts: the targets are in the README's Performance section.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import drop_database, line, ms, pct, prepare_database, redis_for, settle  # noqa: E402  (benchmarks/ is on sys.path)
from pages import Browser, free_port, shut_down, start_gunicorn  # noqa: E402

OWNER = ("owner@bench.example", "bench-pass-2026")
KPI_KEYS = ("csat", "on_time_delivery", "complaints_per_100_jobs", "right_first_time", "corrective_actions_on_time",
            "training_completion", "supplier_performance", "nps")
MONTHS = 12
WORDS_A = ("Acme", "Brightside", "Cedar", "Delta", "Evergreen", "Fairway", "Granite", "Harbor", "Ironwood", "Juniper",
           "Keystone", "Lakeside", "Maple", "Northgate", "Oakridge", "Pioneer", "Quarry", "Riverside", "Summit", "Tidewater")
WORDS_B = ("Logistics", "Dental", "Engineering", "Catering", "Consulting", "Printing", "Cleaning", "Software",
           "Freight", "Clinics", "Facilities", "Labs", "Security", "Training", "Recruitment")


# --- seeding ---------------------------------------------------------------------------------------

def seed(url: str, redis_url: str, count: int, rng: random.Random) -> dict:
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, ISOPATH_ENV="development")
    from sqlalchemy import select

    import tenants
    from app import clock, create_app
    from app.cli import upgrade_all
    from app.clients import create_client
    from app.extensions import db
    from app.models import Account, AccountMember, Client, ClientSummary, User
    from app.security import hash_password
    from app.workspace import operations as ops

    app = create_app()
    with app.app_context():
        upgrade_all(db.engine, spare_schemas=0, cache_dir=app.config["CACHE_DIR"], quiet=True)
        hashed = hash_password(OWNER[1])
        owner = User(email=OWNER[0], name="Bench Owner", password_hash=hashed)
        consultants = [User(email=f"consultant{i}@bench.example", name=f"Consultant {i}", password_hash=hashed)
                       for i in range(8)]
        account = Account(name="Bench Quality Partners")
        db.session.add_all([owner, *consultants, account])
        db.session.flush()
        db.session.add_all([AccountMember(account_id=account.id, user_id=owner.id, role="owner"),
                            *[AccountMember(account_id=account.id, user_id=c.id, role="consultant") for c in consultants]])
        db.session.commit()
        today = clock.today()
        started = time.perf_counter()
        for i in range(count):
            name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {i + 1:04d}"
            start_on = today - timedelta(days=rng.randint(0, 240))
            create_client(db.session.get(Account, account.id), name, consultants=[rng.choice(consultants)],
                          start_on=start_on, target_on=start_on + timedelta(days=rng.randint(180, 360)))
            if (i + 1) % 250 == 0:
                line(f"  clients created through create_client", f"{i + 1} in {time.perf_counter() - started:.0f} s")
        line("clients created through create_client", f"{count} in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        clients = db.session.execute(select(Client.id, Client.schema_name).order_by(Client.id)).all()
        for client_id, schema in clients:
            with tenants.tenant_scope(db.session, schema):
                fill_schema(db.session, rng, today)
                ops.refresh_summary(db.session.get(Client, client_id))
                db.session.commit()
        # The certification body's next audit date is entered elsewhere (not derived): some have one booked.
        for client_id, _ in clients:
            if rng.random() < 0.6:
                db.session.get(ClientSummary, client_id).next_audit_on = today + timedelta(days=rng.randint(5, 300))
        db.session.commit()
        line("schemas filled (tasks, findings, gates, 8 KPIs × 12 months), summaries refreshed",
             f"{time.perf_counter() - started:.0f} s")
        slug = db.session.scalar(select(Client.slug).order_by(Client.id))
        db.engine.dispose()
    return {"slug": slug}


def fill_schema(session, rng: random.Random, today) -> None:
    """Progress, findings, a waiting gate for some, and 8 library KPIs with 12 months of values, in bulk."""
    from sqlalchemy import insert, text

    from app import clock
    from app.models import Kpi, KpiTarget, Measurement
    from workflows import kpi as wk
    from workflows.stages import STAGE_KEYS

    stage = rng.choices(range(4), weights=(40, 30, 20, 10))[0]
    for i, key in enumerate(STAGE_KEYS):
        status = "passed" if i < stage else ("current" if i == stage else "upcoming")
        session.execute(text("UPDATE stages SET status = :s, passed_at = CASE WHEN :p THEN now() END "
                             "WHERE key = :k"), {"s": status, "p": status == "passed", "k": key})
    session.execute(text("UPDATE tasks SET status = 'done', completed_at = now() WHERE stage = ANY(:keys)"),
                    {"keys": list(STAGE_KEYS[:stage])})
    share = rng.random()
    session.execute(text("UPDATE tasks SET status = 'done', completed_at = now() WHERE stage = :k "
                         "AND position <= (SELECT min(position) + :n FROM tasks WHERE stage = :k)"),
                    {"k": STAGE_KEYS[stage], "n": int(share * 12)})
    if rng.random() < 0.08:
        session.execute(text("INSERT INTO gate_reviews (stage, status, requested_by_name, request_note) "
                             "VALUES (:k, 'requested', 'Client admin', '')"), {"k": STAGE_KEYS[stage]})
    findings = [{"stage": STAGE_KEYS[rng.randint(0, stage)], "severity": rng.choice(("major", "minor", "observation")),
                 "status": rng.choice(("open", "closed")), "title": f"Finding {n}", "description": ""}
                for n in range(rng.randint(0, 4))]
    for f in findings:  # a closed finding carries its closing note (a check constraint)
        f["closing_note"] = "Remedied and verified." if f["status"] == "closed" else None
    if findings:
        session.execute(text("INSERT INTO findings (stage, severity, status, title, description, closing_note) "
                             "VALUES (:stage, :severity, :status, :title, :description, :closing_note)"), findings)
    library = wk.load_kpi_library()
    current = {}
    for key in KPI_KEYS:
        d = library.get(key)
        period = wk.period_containing(today, d.frequency)
        for _ in range(MONTHS if d.frequency == "monthly" else MONTHS // 3 if d.frequency == "quarterly" else 1):
            period = period.previous()
        current[key] = (d, period)
    kpi_ids = session.execute(insert(Kpi).returning(Kpi.id, Kpi.library_key), [
        {"library_key": d.key, "name": d.name, "numerator": d.numerator, "denominator": d.denominator,
         "unit": d.unit, "direction": d.direction, "frequency": d.frequency, "clauses": list(d.clauses),
         "minimum": d.minimum, "maximum": d.maximum, "never_zero_target": d.never_zero_target,
         "first_period": first.key} for d, first in current.values()]).all()
    now = clock.now()
    targets, values = [], []
    for kpi_id, key in kpi_ids:
        d, period = current[key]
        targets.append({"kpi_id": kpi_id, "effective_from": period.key, "target": d.target, "amber": d.amber,
                        "red": d.red, "reason": "", "set_by_name": "Bench", "set_at": now})
        level = rng.uniform(0.85, 1.1) * d.target if d.target else rng.uniform(0, 3)
        while not period.is_future(today) and period.is_over(today):
            if rng.random() > 0.05:  # now and then a period is missed
                value = level * rng.uniform(0.9, 1.1)
                if d.maximum is not None:
                    value = min(value, d.maximum)
                values.append({"kpi_id": kpi_id, "period": period.key, "value": round(max(value, d.minimum or 0), 1),
                               "note": "", "entered_by_name": "Bench", "entered_at": now})
            period = period.next()
    session.execute(insert(KpiTarget), targets)
    session.execute(insert(Measurement), values)


def to_head(url: str, redis_url: str) -> None:
    """A database seeded by older code, upgraded as `flask db upgrade` would (shared track, then every schema)."""
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, ISOPATH_ENV="development")
    from app import create_app
    from app.cli import upgrade_all
    from app.extensions import db

    app = create_app()
    with app.app_context():
        upgrade_all(db.engine, spare_schemas=0, cache_dir=app.config["CACHE_DIR"], quiet=True)
        db.engine.dispose()


# --- the naive fan-out -------------------------------------------------------------------------------

def fan_out_first_page(url: str, redis_url: str, runs: int) -> list[float]:
    """The first page the naive way: open every client's schema, compute its figures, sort, keep 50."""
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, ISOPATH_ENV="development")
    from sqlalchemy import func, select

    import tenants
    import workflows as wf
    from app import clock, create_app
    from app.extensions import db
    from app.models import Client, Task
    from app.workspace import operations as ops
    from app.workspace.operations.due_items import dated_items
    from workflows import due_dates as dd

    app = create_app()
    timings = []
    with app.app_context():
        clients = db.session.execute(select(Client.id, Client.name, Client.schema_name)
                                     .where(Client.status == "active")).all()
        for _ in range(runs):
            started = time.perf_counter()
            rows = []
            for client_id, name, schema in clients:
                with tenants.tenant_scope(db.session, schema):
                    state = ops.client_state()
                    overdue = db.session.scalar(select(func.count()).select_from(Task).where(
                        Task.status.in_(wf.OPEN_TASK_STATUSES), Task.due_on < clock.today()))
                    overdue += dd.overdue_count((item.due_on for _, item in dated_items()), clock.today())
                    waiting = ops.pending_review(state.current_stage) is not None
                    rows.append((not waiting, -overdue, round(100 * wf.overall_progress(state)), name.lower(),
                                 wf.readiness(ops.template(), state).score, ops.red_kpi_count()))
                    db.session.rollback()
            rows.sort()
            del rows[50:]  # the first page
            timings.append(time.perf_counter() - started)
        db.engine.dispose()
    return timings


# --- measuring ---------------------------------------------------------------------------------------

def measure(port: int, path: str, requests: int) -> list[float]:
    b = Browser(port)
    b.login(*OWNER)
    status, _, _, _ = b.request("GET", path)  # warm the worker and the connection
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")
    servers, cpus = [], []
    for _ in range(requests):
        status, _, _, server = b.request("GET", path)
        if status != 200 or server is None:
            raise RuntimeError(f"{path} answered {status} without Server-Timing")
        servers.append(server)
        cpus.append(b.last_cpu)
    return servers, cpus


def first_slug(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            slug = conn.execute(text("SELECT slug FROM clients ORDER BY id LIMIT 1")).scalar()
    finally:
        engine.dispose()
    if slug is None:
        sys.exit("--reuse: the database holds no clients; seed it first with --seed-only")
    return slug


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page (at least 200 for the figures)")
    parser.add_argument("--fan-out-runs", type=int, default=3, help="times the naive fan-out is computed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed, keep the database and stop (seeding 2,000 clients takes a while; measure later "
                             "on a quiet machine with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --seed-only run left")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    url, admin, name, services, version = prepare_database(args, reuse=args.reuse)
    redis_url, services = redis_for(services)
    server = None
    keep = args.keep or args.seed_only or args.reuse
    try:
        line("machine", f"{os.cpu_count()} cores, PostgreSQL {version}, Python {sys.version.split()[0]}, "
                        f"load average {os.getloadavg()[0]:.2f} at start")
        if args.reuse:
            seeded = {"slug": first_slug(url)}
            started = time.perf_counter()
            to_head(url, redis_url)
            line("brought to this code's migrations (a no-op when it is there)", f"{time.perf_counter() - started:,.0f} s")
        else:
            started = time.perf_counter()
            seeded = seed(url, redis_url, args.clients, rng)
            line(f"seeding {args.clients:,} clients", f"{time.perf_counter() - started:,.0f} s")
        if args.seed_only:
            return
        line("settle: VACUUM (ANALYZE) + CHECKPOINT", f"{settle(url):,.0f} s")
        port = free_port()
        server = start_gunicorn(url, redis_url, port)
        pages = {
            "portfolio, first page (worst first)": "/",
            "portfolio, sorted by readiness": "/?sort=readiness&dir=asc",
            "portfolio, filtered by stage": "/?stage=system_design",
            "portfolio, name search": "/?q=dental",
            "cross-client KPI view (on-time delivery)": "/kpis/on_time_delivery",
            "one client's KPI page": f"/c/{seeded['slug']}/kpis",
            f"CSV export of all {args.clients:,} rows": "/portfolio.csv",
        }
        p50s = {}
        for label, path in pages.items():
            servers, cpus = measure(port, path, args.requests)
            p50s[label] = statistics.median(servers)
            line(f"{label} ({args.requests} requests)", f"server p50 {ms(p50s[label])}, p95 {ms(pct(servers, 95))} "
                                                        f"(CPU p50 {ms(statistics.median(cpus))})")
        fan = fan_out_first_page(url, redis_url, args.fan_out_runs)
        first = p50s["portfolio, first page (worst first)"]
        line(f"same first page by a naive fan-out over {args.clients:,} schemas ({args.fan_out_runs} runs)",
             f"p50 {ms(statistics.median(fan))}, max {ms(max(fan))}")
        line("fan-out ÷ portfolio page (p50)", f"{statistics.median(fan) / first:,.0f}×")
        line("load average at end", f"{os.getloadavg()[0]:.2f}")
    finally:
        shut_down(server, keep, admin, name, services)


if __name__ == "__main__":
    main()
