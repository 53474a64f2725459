"""The consultancy's template library under /templates/: the standard templates and the account's own copies."""
from flask import Blueprint

bp = Blueprint("library", __name__, url_prefix="/templates")

from . import views  # noqa: E402,F401
