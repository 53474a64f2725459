from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from .. import clock
from ..accounts import (
    accept_invitation,
    create_user,
    find_invitation,
    landing_url_for,
    mailed_link,
    sign_up,
    user_by_email,
)
from ..extensions import db, login_manager
from ..mail import queue_mail
from ..models import User
from ..refusal import Refusal
from ..security import (
    count_request,
    email_key,
    hash_password,
    login_succeeded,
    make_reset_token,
    password_problem,
    read_reset_token,
    reserve_login_attempt,
    verify_password,
    wait_phrase,
)
from ..templating import render
from . import bp
from .forms import AcceptInvitationForm, ForgotForm, LoginForm, NewPasswordForm, SignupForm

log = logging.getLogger("isopath.auth")


@login_manager.user_loader
def load_user(login_token: str):
    return db.session.scalar(select(User).where(User.login_token == login_token))


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never an open redirect, never a header broken by a control character
    (a newline in a Location header is a 500 after the login went through) or a backslash ("/\\evil.example"
    is another site to a browser)."""
    if not target or "\\" in target or any(ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _client_address() -> str:
    """The client's address as ProxyFix leaves it (set up for the configured trusted proxy hops only):
    never parse X-Forwarded-For here, any client can send one."""
    return request.remote_addr or "unknown"


def _throttled(template: str, message: str, wait: int, **context):
    flash(f"{message} Try again in {wait_phrase(wait)}.", "error")
    return render(template, **context), 429, {"Retry-After": str(wait)}


def _reset_mail_throttled(email: str) -> bool:
    """Per address, then per email; over either no mail goes out, and the answer stays the same."""
    cfg = current_app.config
    address = _client_address()
    if (count_request("reset-address", address, cfg["LOGIN_RATE_RESET_ADDRESS"])
            or count_request("reset-mail", email_key(email), cfg["LOGIN_RATE_RESET_MAILS"])):
        log.info("password reset mail not sent: too many requests (address %s)", address)
        return True
    return False


def _form_error(form, field: str | None, message: str):
    if field and field in form:
        form[field].errors = list(form[field].errors) + [message]
    else:
        flash(message, "error")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing_url_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = _client_address()
        # Counted before the password is checked, atomically, per email *and* address: an attacker
        # elsewhere slows down only themselves, and parallel guesses cannot pass the limit.
        wait = reserve_login_attempt(email, address)
        if wait:
            return _throttled("auth/login.html", "Too many login attempts.", wait, form=form)
        user = user_by_email(email)
        # One argon2 verify either way (a dummy hash for an unknown email): timing tells nothing.
        if verify_password(user.password_hash if user is not None else None, form.password.data):
            login_succeeded(email, address)
            user.last_login_at = clock.now()
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(form.next.data) or landing_url_for(user))
        flash("That email and password don't match an account.", "error")
        return render("auth/login.html", form=form), 401
    return render("auth/login.html", form=form)


def end_session() -> None:
    """Log the current user out, server-side.

    The user loader finds users by their login token, so a new one ends every session cookie and
    remember cookie of this user, copied ones included, on every device. Chosen over a per-session
    nonce: it needs no new state (a nonce needs a row or key per session, and a store that must be up
    to log anyone in), and on a shared or lost device "log out" ending everything is the safer
    meaning. The cost: other devices log in again.
    """
    if current_user.is_authenticated:
        current_user.rotate_login_token()
        db.session.commit()
    logout_user()


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(landing_url_for(current_user))
    form = SignupForm()
    if form.validate_on_submit():
        wait = count_request("signup", _client_address(), current_app.config["LOGIN_RATE_SIGNUPS"])
        if wait:
            return _throttled("auth/signup.html", "Too many sign-ups from your network.", wait, form=form)
        try:
            user = sign_up(form.consultancy.data, form.name.data, form.email.data, form.password.data)
            db.session.commit()
        except Refusal as err:
            db.session.rollback()
            _form_error(form, err.field, str(err))
            return render("auth/signup.html", form=form), 422
        login_user(user)
        flash(f"Welcome to ISOpath, {user.name}. Add your first client to get started.", "success")
        return redirect(url_for("portfolio.index"))
    status = 422 if request.method == "POST" else 200
    return render("auth/signup.html", form=form), status


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        user = None if _reset_mail_throttled(form.email.data) else user_by_email(form.email.data)
        if user is not None:
            link = mailed_link("auth.reset", token=make_reset_token(user))
            queue_mail(user.email, "Reset your ISOpath password",
                       f"Hello {user.name},\n\nSomeone (hopefully you) asked to reset your ISOpath password.\n"
                       f"Choose a new one here within the next hours:\n\n{link}\n\n"
                       "If it wasn't you, ignore this message: your password stays as it is.\n")
        # The same answer either way, so the form can't be used to find out who has an account.
        flash("If that email belongs to an account, a reset link is on its way.", "info")
        return redirect(url_for("auth.login"))
    return render("auth/forgot.html", form=form), (422 if request.method == "POST" else 200)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    data, problem = read_reset_token(token)
    user = db.session.get(User, data["u"]) if data else None
    if user is None or user.login_token != data.get("t"):
        message = ("This reset link has expired. Ask for a new one." if problem == "expired"
                   else "This reset link is not valid or was already used. Ask for a new one.")
        flash(message, "error")
        return redirect(url_for("auth.forgot"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        weak = password_problem(form.password.data, user.email)
        if weak:
            form.password.errors = [weak]
            return render("auth/reset.html", form=form), 422
        user.password_hash = hash_password(form.password.data)
        user.rotate_login_token()
        db.session.commit()
        login_user(user)
        flash("Your password is changed.", "success")
        return redirect(landing_url_for(user))
    return render("auth/reset.html", form=form), (422 if request.method == "POST" else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token):
    inv, problem = find_invitation(token)
    if inv is None:
        return render("auth/invitation_invalid.html", message=problem), 404
    existing = user_by_email(inv.email)
    if current_user.is_authenticated and (existing is None or current_user.id != existing.id):
        # Someone else is logged in. A GET never logs them out (the link may sit in an <img> on any page):
        # they choose, and only a POST of that choice (CSRF-checked) ends their session.
        if request.method == "POST" and request.form.get("action") == "switch":
            end_session()
            flash(f"You are logged out. This invitation is for {inv.email}.", "info")
            return redirect(url_for("auth.invitation", token=token))
        if request.method == "GET" or existing is not None:
            return render("auth/invitation_switch.html", invitation=inv, token=token,
                          back=landing_url_for(current_user)), (200 if request.method == "GET" else 409)
    if existing is not None:
        # Someone who already has a login accepts by logging in as that person.
        if not current_user.is_authenticated:
            flash(f"Log in as {inv.email} to accept the invitation.", "info")
            return redirect(url_for("auth.login", next=url_for("auth.invitation", token=token)))
        if request.method == "POST":
            accept_invitation(inv, existing)
            db.session.commit()
            flash(_welcome(inv), "success")
            return redirect(_invitation_target(inv))
        return render("auth/invitation_confirm.html", invitation=inv)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        wait = count_request("invitation", _client_address(), current_app.config["LOGIN_RATE_INVITATIONS"])
        if wait:
            return _throttled("auth/invitation_accept.html", "Too many attempts from your network.", wait,
                              form=form, invitation=inv)
        try:
            user = create_user(inv.email, form.name.data, form.password.data)
            db.session.flush()
            accept_invitation(inv, user)
            db.session.commit()
        except Refusal as err:
            db.session.rollback()
            _form_error(form, err.field, str(err))
            return render("auth/invitation_accept.html", form=form, invitation=inv), 422
        if current_user.is_authenticated:
            # The new person's own form, posted (CSRF-checked) while another login was open in this browser.
            end_session()
        login_user(user)
        flash(_welcome(inv), "success")
        return redirect(_invitation_target(inv))
    status = 422 if request.method == "POST" else 200
    return render("auth/invitation_accept.html", form=form, invitation=inv), status


def _welcome(inv) -> str:
    where = inv.client.name if inv.client else inv.account.name
    return f"Welcome to {where} on ISOpath."


def _invitation_target(inv) -> str:
    if inv.client is not None:
        return url_for("workspace.overview", slug=inv.client.slug)
    return url_for("portfolio.index")
