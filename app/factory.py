"""The app factory: configuration, extensions, tenancy, blueprints."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

import tenants

from . import models  # noqa: F401  (every table on the metadata)
from .auth import bp as auth_bp
from .billing import change as _billing_change  # noqa: F401  (adds the plan change route to the blueprint)
from .billing import webhook as _billing_webhook  # noqa: F401  (adds the webhook route to the blueprint)
from .billing.views import bp as billing_bp
from .config import Config
from .extensions import csrf, db, htmx, login_manager
from .health import bp as health_bp
from .inputs import install as install_input_checks
from .library import bp as library_bp
from .library import kpi_bp as kpi_library_bp
from .mywork import bp as mywork_bp
from .notify import events as notify_events
from .notify.views import bp as notify_bp
from .portfolio import bp as portfolio_bp
from .templating import register_template_helpers, render
from .topbar import install as install_top_bar
from .transaction import install as install_after_commit
from .workspace import bp as workspace_bp

log = logging.getLogger("isopath.errors")

# PostgreSQL refused, dropped or could not hand out a connection: the request gets a 503, not a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def create_app(config: Config | None = None) -> Flask:
    app = Flask(__package__, instance_relative_config=False)
    app.config.from_object(config or Config())
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        raise RuntimeError("DATABASE_URL is not set: start the app with `python3 dev.py run` or set it")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per PDF page and step otherwise

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    with app.app_context():
        tenants.install(db.engine, db.session)

    install_input_checks(app)  # before the blueprints: their `<int:…>` rules take its converter
    app.register_blueprint(auth_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(library_bp)
    app.register_blueprint(kpi_library_bp)
    app.register_blueprint(portfolio_bp)
    app.register_blueprint(mywork_bp)
    app.register_blueprint(notify_bp)
    app.register_blueprint(workspace_bp)
    app.register_blueprint(billing_bp)

    _register_web_conventions(app)
    _time_requests(app)
    if app.config["PROXY_HOPS"]:
        # Only as many X-Forwarded-For / -Proto values as there are proxies of ours are believed;
        # with none configured, a client's own X-Forwarded-* headers change nothing.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app


# Scripts and styles come from our own static files only. Style *attributes* stay allowed (widths of
# progress bars and timelines are computed in templates); <style> elements are not.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "style-src-elem 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"
HSTS = "max-age=31536000; includeSubDomains"


def _logged_in() -> bool:
    """Whether this response goes to a logged-in user, without loading anyone from the database."""
    user = g.get("_login_user")
    return bool(user is not None and user.is_authenticated) or "_user_id" in session


def _upload_origin() -> tuple[str, str] | None:
    """(label, address) of the task an over-large upload came from, for the link on the error page.
    Built from the route's own arguments: the request body was never read."""
    args = request.view_args or {}
    slug = args.get("slug") or g.get("slug")
    if request.endpoint != "workspace.task_upload" or "task_id" not in args or not slug:
        return None
    return "Back to the task", url_for("workspace.task", slug=slug, task_id=args["task_id"])


def _time_requests(app: Flask) -> None:
    """`Server-Timing: app;dur=…, cpu;dur=…` on every response: what the server spent (wall clock) and how much
    of it this thread computed (CPU time; the rest is waiting for the database or for a core), for browsers'
    dev tools and benchmarks/pages.py (which reads them instead of guessing from the round trip)."""

    @app.before_request
    def start_timer():
        g.request_started = (time.perf_counter(), time.thread_time())

    @app.after_request
    def server_timing(response):
        started = g.pop("request_started", None)
        if started is not None:
            wall, cpu = time.perf_counter() - started[0], time.thread_time() - started[1]
            response.headers["Server-Timing"] = f"app;dur={wall * 1000:.1f}, cpu;dur={cpu * 1000:.1f}"
        return response


def _register_web_conventions(app: Flask) -> None:
    register_template_helpers(app)
    install_top_bar(app)
    install_after_commit()
    notify_events.install()

    @app.after_request
    def headers(response):
        # A page and its htmx partial share a URL: caches must keep them apart.
        response.vary.add("HX-Request")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if app.config["HSTS"]:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static" and _logged_in():
            # Someone's workspace must not stay in a shared browser's or a proxy's cache.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # Raised before routing for a Host header not in TRUSTED_HOSTS: no URL can be built, so no template.
        return ("<!doctype html><title>Bad request</title><h1>Bad request</h1>"
                "<p>This address is not served here.</p>", 400, {"Content-Type": "text/html; charset=utf-8"})

    @app.errorhandler(404)
    def not_found(error):
        return render("errors/404.html"), 404

    @app.errorhandler(403)
    def forbidden(error):
        return render("errors/403.html"), 403

    @app.errorhandler(413)
    def too_large(error):
        message = f"That file is larger than {app.config['MAX_UPLOAD_MB']} MB. Choose a smaller file."
        if htmx:  # in the task's one evidence-error slot, replacing whatever message was there
            return message, 413, {"HX-Retarget": "#evidence-error", "HX-Reswap": "innerHTML"}
        return render("errors/error.html", code=413, title="File too large", message=message,
                      back=_upload_origin()), 413

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render("errors/error.html", code=400, title="Form expired",
                               message="This form was open too long or came from elsewhere. "
                                       "Reload the page and submit it again."), 400

    def standalone(template: str, **context) -> str:
        # Error pages skip `render`: its context processors load `current_user`, which queries the
        # database, and the database may be why we are here. These templates use no context.
        return app.jinja_env.get_template(template).render(**context)

    def database_unavailable(error):
        log.error("database unavailable: %s: %s", type(error).__name__, error)
        return standalone("errors/unavailable.html"), 503, {"Retry-After": "30"}

    for exc_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(exc_class, database_unavailable)

    @app.errorhandler(500)
    def server_error(error):
        original = getattr(error, "original_exception", None)
        if isinstance(original, DATABASE_UNAVAILABLE):  # raised while handling another error (say a 404 page)
            return database_unavailable(original)
        try:
            db.session.rollback()
        except Exception:  # the page must still show
            log.exception("rollback after an error failed")
        return standalone("errors/error.html", code=500, title="Something went wrong",
                          message="The error has been logged. Nothing you entered was saved; please try again."), 500

    @app.errorhandler(405)
    def method_not_allowed(error):
        return render("errors/error.html", code=405, title="Not allowed",
                               message=f"{request.method} is not supported here."), 405
