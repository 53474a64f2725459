"""The consultancy's libraries: the certification templates under /templates/ (the standard templates and the
account's own copies) and its KPI library under /library/kpis/."""
from flask import Blueprint

bp = Blueprint("library", __name__, url_prefix="/templates")
kpi_bp = Blueprint("kpi_library", __name__, url_prefix="/library/kpis")

from . import kpi_views, views  # noqa: E402,F401
