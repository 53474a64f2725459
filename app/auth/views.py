from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..accounts import (
    accept_invitation,
    create_user,
    find_invitation,
    landing_url_for,
    sign_up,
    user_by_email,
)
from ..extensions import db, login_manager
from ..mail import send_mail
from ..models import User
from ..refusal import Refusal
from ..security import (
    clear_login_attempts,
    hash_password,
    login_blocked,
    make_reset_token,
    password_problem,
    read_reset_token,
    record_failed_login,
    verify_password,
)
from ..templating import render
from . import bp
from .forms import AcceptInvitationForm, ForgotForm, LoginForm, NewPasswordForm, SignupForm


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
        ip = request.remote_addr or "?"
        if login_blocked(email, ip):
            flash("Too many login attempts. Wait 15 minutes, or reset your password.", "error")
            return render("auth/login.html", form=form), 429
        user = user_by_email(email)
        if user is not None and verify_password(user.password_hash, form.password.data):
            clear_login_attempts(email)
            user.last_login_at = datetime.now(timezone.utc)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(form.next.data) or landing_url_for(user))
        record_failed_login(email, ip)
        flash("That email and password don't match an account.", "error")
        return render("auth/login.html", form=form), 401
    return render("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(landing_url_for(current_user))
    form = SignupForm()
    if form.validate_on_submit():
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
        user = user_by_email(form.email.data)
        if user is not None:
            link = url_for("auth.reset", token=make_reset_token(user), _external=True)
            send_mail(user.email, "Reset your ISOpath password",
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
    if existing is not None:
        # Someone who already has a login accepts by logging in as that person.
        if not current_user.is_authenticated or current_user.id != existing.id:
            if current_user.is_authenticated:
                logout_user()
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
            logout_user()
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
