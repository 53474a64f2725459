"""Passwords, signed tokens, and the throttles of the login forms (logins, reset mails, sign-ups, invitations)."""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.exceptions import RedisError

from .redis_conn import limiter_redis, pause_limiter

log = logging.getLogger("isopath.security")

# Argon2 at its standard cost, except in the test suite: its hundreds of logins would spend minutes hashing, and
# what a test checks of a login does not depend on the cost (the one test that times logins sets it back).
_HASHERS = {"standard": PasswordHasher(), "cheapest": PasswordHasher.from_parameters(profiles.CHEAPEST)}
MIN_PASSWORD_LENGTH = 10
# Shown under every new-password field before anyone submits, and enforced by `password_problem`: one text.
PASSWORD_RULES = (f"At least {MIN_PASSWORD_LENGTH} characters with some variety; not a common password, "
                  f"and not made from your email address.")


def _hasher() -> PasswordHasher:
    cost = current_app.config.get("PASSWORD_HASH_COST") if has_app_context() else None
    return _HASHERS.get(cost, _HASHERS["standard"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def verify_password(stored: str | None, password: str) -> bool:
    """One argon2 verify, always: with no stored hash (unknown email, no password yet) against a dummy
    one, so that how long the answer takes does not tell which addresses have an account."""
    if not stored:
        _verify(_dummy_hash(_hasher()), password)
        return False
    return _verify(stored, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if password.lower() in {"password123", "qwertyuiop", "1234567890", "iso9001iso9001"}:
        return "That password is too common."
    if email and email.split("@")[0].lower() in password.lower() and len(password) < 16:
        return "Don't build your password from your email address."
    if len(set(password)) < 5:
        return "Use a more varied password."
    return None


def new_token() -> tuple[str, str]:
    """A random token for a link, and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _reset_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user) -> str:
    # The login token rotates when the password changes, so a used link is dead.
    return _reset_serializer().dumps({"u": user.id, "t": user.login_token})


def read_reset_token(token: str) -> tuple[dict | None, str | None]:
    try:
        return _reset_serializer().loads(token, max_age=current_app.config["RESET_HOURS"] * 3600), None
    except SignatureExpired:
        return None, "expired"
    except BadSignature:
        return None, "invalid"


# --- throttling -----------------------------------------------------------------------------
# Counters live in Redis, so they hold across web processes, and every check-and-count is one Lua
# script: Redis runs it atomically, so parallel requests cannot slip past a limit between reading
# a counter and raising it. A login attempt is counted *before* its password is checked.
# If Redis cannot be reached the throttles fail open (a warning in the log): logging in matters more.

# KEYS: failures of this email from this address, that pair's lock, failed logins from this address.
# ARGV: free failures, first delay (ms), longest delay (ms), window (ms), limit per address.
# Returns 0 (go ahead: the attempt is counted) or the milliseconds to wait.
_RESERVE_LOGIN = """
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return locked end
local window = tonumber(ARGV[4])
local from_address = tonumber(redis.call('GET', KEYS[3]) or '0')
if from_address >= tonumber(ARGV[5]) then
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > 0 then return ttl end
  redis.call('PEXPIRE', KEYS[3], window)
  return window
end
local n = redis.call('INCR', KEYS[1])
local free = tonumber(ARGV[1])
local delay = 0
if n >= free then
  delay = math.floor(math.min(tonumber(ARGV[2]) * 2 ^ (n - free), tonumber(ARGV[3])))
  if delay > 0 then redis.call('SET', KEYS[2], n, 'PX', delay) end
end
redis.call('PEXPIRE', KEYS[1], window + delay)
if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], window) end
return 0
"""

# The password was right: forget this pair's failures, and give the address back the attempt.
_LOGIN_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[2])
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 0
"""

# A fixed window: KEYS[1] the counter; ARGV limit, window (ms). Returns 0 or the milliseconds to wait.
_HIT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if n > tonumber(ARGV[1]) then return ttl end
return 0
"""

HOUR = 3600


def _digest(email: str) -> str:
    """Emails enter Redis keys keyed-hashed: Redis holds no list of addresses, nor one to check guesses against."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _run(script: str, keys: list[str], args: list[int]) -> int:
    """Run a throttle script; 0 (let the request through) when Redis is unreachable."""
    r = limiter_redis()
    if r is None:
        return 0
    try:
        return int(r.register_script(script)(keys=keys, args=args))
    except RedisError as exc:
        pause_limiter()
        log.warning("rate limits off: Redis unreachable (%s: %s); letting requests through",
                     type(exc).__name__, exc)
        return 0


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000)) if ms > 0 else 0


def _login_keys(email: str, address: str) -> list[str]:
    pair = f"{_digest(email)}:{address}"
    return [f"throttle:login:fails:{pair}", f"throttle:login:lock:{pair}", f"throttle:login:address:{address}"]


def reserve_login_attempt(email: str, address: str) -> int:
    """Count a login attempt before its password is checked: 0 to go ahead, or the seconds to wait."""
    cfg = current_app.config
    return _seconds(_run(_RESERVE_LOGIN, _login_keys(email, address), [
        cfg["LOGIN_RATE_LIMIT"], cfg["LOGIN_RATE_DELAY"] * 1000, cfg["LOGIN_RATE_MAX_DELAY"] * 1000,
        cfg["LOGIN_RATE_WINDOW"] * 1000, cfg["LOGIN_RATE_ADDRESS_LIMIT"]]))


def login_succeeded(email: str, address: str) -> None:
    _run(_LOGIN_SUCCEEDED, _login_keys(email, address), [])


def count_request(kind: str, who: str, limit: int, window: int = HOUR) -> int:
    """Count one `kind` request by `who` (an address, or `email_key(...)`): 0 within `limit` per
    `window` seconds, else the seconds until the window ends."""
    return _seconds(_run(_HIT, [f"throttle:{kind}:{who}"], [limit, window * 1000]))


def email_key(email: str) -> str:
    return "email:" + _digest(email)


def wait_phrase(seconds: int) -> str:
    """'30 seconds', '4 minutes': how long to wait, for a message."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"
