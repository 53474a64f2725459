"""The app's Redis connection (rate limits, RQ)."""
from flask import current_app
from redis import Redis


def get_redis() -> Redis:
    ext = current_app.extensions
    if "isopath_redis" not in ext:
        ext["isopath_redis"] = Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=5)
    return ext["isopath_redis"]
