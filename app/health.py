"""GET /healthz: is the app able to reach its database and Redis?"""
from flask import Blueprint, jsonify
from sqlalchemy import text

from .extensions import db
from .redis_conn import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't crash: this is what monitors call when things break
        db.session.rollback()
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "down", **checks), (200 if healthy else 503)
