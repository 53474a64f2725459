"""What waits for the logged-in person across their clients, read from the shared `work_items` index."""
from flask import Blueprint

bp = Blueprint("mywork", __name__)

from . import views  # noqa: E402,F401
