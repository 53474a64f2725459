"""What the benchmark scripts share: a database of their own, and how figures are printed."""
from __future__ import annotations

import os
import statistics
import sys


def line(label: str, value: str) -> None:
    print(f"{label:<68} {value}", flush=True)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def p50_p95(samples) -> str:
    return f"p50 {ms(statistics.median(samples))}, p95 {ms(pct(samples, 95))}, max {ms(max(samples))}"


# --- database ---------------------------------------------------------------------------------------

def prepare_database(args, reuse: bool = False):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from app.config import INSTANCE, normalise_db_url

    services = None
    url = os.environ.get("DATABASE_URL")
    if url:
        url = normalise_db_url(url)
        if "bench" not in (make_url(url).database or ""):
            sys.exit("DATABASE_URL must name a database whose name contains 'bench': this script drops and "
                     "recreates it.")
    else:
        from app.embedded import Services

        services = Services(INSTANCE)
        url = services.postgres_url("isopath_bench")
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not reuse:  # reuse: measure what an earlier run seeded and kept
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        version = conn.execute(text("SHOW server_version")).scalar()
    return url, admin, parsed.database, services, version


def redis_for(services):
    """(REDIS_URL, services): the configured Redis, else the embedded one under instance/ (started if need be)."""
    redis_url = os.environ.get("REDIS_URL") or (services.redis_url() if services else "")
    if not redis_url:
        from app.config import INSTANCE
        from app.embedded import Services

        services = Services(INSTANCE)
        redis_url = services.redis_url()
    return redis_url, services


def drop_database(admin, name):
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def settle(url) -> float:
    """VACUUM (ANALYZE) the whole database, as autovacuum would have done long before anyone looks: after a
    bulk load the planner's statistics say the tables are empty and the pages are full of dead rows.
    Returns the seconds it took."""
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    started = time.perf_counter()
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            try:
                conn.execute(text("CHECKPOINT"))  # needs superuser or pg_checkpoint; skipped otherwise
            except Exception:
                pass
    finally:
        engine.dispose()
    return time.perf_counter() - started
