"""Readiness traced item by item: what earned the client's score and what is still missing."""
from __future__ import annotations

from flask import g

from workflows.stages import STAGE_KEYS

from ...templating import render
from ..blueprint import bp
from .. import operations as ops


@bp.get("/readiness")
def readiness():
    state = ops.client_state()
    return render("workspace/readiness.html", client=g.client, report=ops.readiness_report(state),
                  stage_keys=STAGE_KEYS, current=state.current_stage, settings=ops.settings())
