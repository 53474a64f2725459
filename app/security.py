"""Passwords, signed tokens and the login rate limit."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .redis_conn import get_redis

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
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


def _login_keys(email: str, ip: str) -> list[tuple[str, int]]:
    limit = current_app.config["LOGIN_RATE_LIMIT"]
    # Per address the allowance is wider: a whole office can share one address.
    return [(f"login:email:{email.lower()}", limit), (f"login:ip:{ip}", limit * 5)]


def login_blocked(email: str, ip: str) -> bool:
    """Too many failed attempts for this email or from this address in the current window."""
    counts = get_redis().mget([key for key, _ in _login_keys(email, ip)])
    return any(int(count or 0) >= limit for count, (_, limit) in zip(counts, _login_keys(email, ip)))


def record_failed_login(email: str, ip: str) -> None:
    """Fixed-window counters in Redis, so the limit holds across web processes."""
    r = get_redis()
    for key, _ in _login_keys(email, ip):
        if r.incr(key) == 1:  # the first failure opens the window (EXPIRE NX needs Redis 7)
            r.expire(key, current_app.config["LOGIN_RATE_WINDOW"])


def clear_login_attempts(email: str) -> None:
    get_redis().delete(f"login:email:{email.lower()}")
