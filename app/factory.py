"""The app factory: configuration, extensions, tenancy, blueprints."""
from __future__ import annotations

import logging

from flask import Flask, request
from flask_wtf.csrf import CSRFError

import tenants

from . import models  # noqa: F401  (every table on the metadata)
from .auth import bp as auth_bp
from .config import Config
from .extensions import csrf, db, htmx, login_manager
from .health import bp as health_bp
from .inputs import install as install_input_checks
from .library import bp as library_bp
from .portfolio import bp as portfolio_bp
from .templating import register_template_helpers, render
from .transaction import install as install_after_commit
from .workspace import bp as workspace_bp


def create_app(config: Config | None = None) -> Flask:
    app = Flask(__package__, instance_relative_config=False)
    app.config.from_object(config or Config())
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        raise RuntimeError("DATABASE_URL is not set: start the app with `python3 dev.py run` or set it")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)

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
    app.register_blueprint(portfolio_bp)
    app.register_blueprint(workspace_bp)

    _register_web_conventions(app)
    return app


def _register_web_conventions(app: Flask) -> None:
    register_template_helpers(app)
    install_after_commit()

    @app.after_request
    def headers(response):
        # A page and its htmx partial share a URL: caches must keep them apart.
        response.vary.add("HX-Request")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(404)
    def not_found(error):
        return render("errors/404.html"), 404

    @app.errorhandler(403)
    def forbidden(error):
        return render("errors/403.html"), 403

    @app.errorhandler(413)
    def too_large(error):
        limit = app.config["MAX_UPLOAD_MB"]
        if htmx:  # the upload form shows the message in place
            return (f"That file is larger than {limit} MB. Choose a smaller file.", 413,
                    {"HX-Retarget": "#upload-error", "HX-Reswap": "innerHTML"})
        return render("errors/error.html", code=413, title="File too large",
                               message=f"That file is larger than {limit} MB. Choose a smaller file."), 413

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render("errors/error.html", code=400, title="Form expired",
                               message="This form was open too long or came from elsewhere. "
                                       "Reload the page and submit it again."), 400

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render("errors/error.html", code=500, title="Something went wrong",
                               message="The error has been logged. Nothing you entered was saved; please try again."), 500

    @app.errorhandler(405)
    def method_not_allowed(error):
        return render("errors/error.html", code=405, title="Not allowed",
                               message=f"{request.method} is not supported here."), 405
