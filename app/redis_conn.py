"""The app's Redis connections: one for RQ, one with short timeouts for the rate limits."""
import time

from flask import current_app
from redis import Redis

# After the limiter fails to reach Redis it leaves Redis alone this long, so that a Redis that
# hangs (rather than refuses) costs one timeout per pause, not one per login.
LIMITER_PAUSE_SECONDS = 10.0


def get_redis() -> Redis:
    ext = current_app.extensions
    if "isopath_redis" not in ext:
        ext["isopath_redis"] = Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=5)
    return ext["isopath_redis"]


def limiter_redis() -> Redis | None:
    """Redis for the rate limits, or None while it is paused after a failure (the limits then fail open)."""
    ext = current_app.extensions
    if time.monotonic() < ext.get("isopath_limiter_paused_until", 0.0):
        return None
    if "isopath_limiter_redis" not in ext:
        ext["isopath_limiter_redis"] = Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=1, socket_connect_timeout=1)
    return ext["isopath_limiter_redis"]


def pause_limiter() -> None:
    """Called when a rate-limit command failed: skip Redis for a little while (per app, per process)."""
    current_app.extensions["isopath_limiter_paused_until"] = time.monotonic() + LIMITER_PAUSE_SECONDS
