"""The consultant's view over all their clients, the team page and client creation."""
from flask import Blueprint

bp = Blueprint("portfolio", __name__)

from . import clients_list, cycle, kpis, team, views  # noqa: E402,F401
