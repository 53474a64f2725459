"""Audit findings: the register, raising one, closing one."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

from workflows.stages import STAGE_KEYS

from ...extensions import db
from ...models import Finding
from ...permissions import CONSULTANT_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, refused


def _findings_page(form, error: str | None = None, status: int = 200):
    rows = db.session.scalars(select(Finding).order_by(Finding.status.desc(), Finding.raised_at.desc())).all()
    return render("workspace/findings.html", client=g.client, findings=rows, stages=STAGE_KEYS,
                  current=ops.current_stage_key(), can_raise=may_change(*CONSULTANT_ROLES),
                  form=form, error=error), status


@bp.get("/findings")
def findings():
    return _findings_page(request.form)


@bp.post("/findings")
@requires(*CONSULTANT_ROLES)
def raise_finding():
    form = request.form
    try:
        ops.raise_finding(form.get("stage", ""), form.get("severity", ""), form.get("title", ""),
                          form.get("clause"), form.get("description", ""), actor())
    except Refusal as err:
        db.session.rollback()
        return _findings_page(form, str(err), err.status)
    ops.save(g.client)
    flash("Finding recorded.", "success")
    return redirect(url_for("workspace.findings"), 303)


@bp.post("/findings/<int:finding_id>/close")
@requires(*CONSULTANT_ROLES)
def close_finding(finding_id):
    finding = db.get_or_404(Finding, finding_id)
    try:
        ops.close_finding(finding, actor())
    except Refusal as err:
        return refused(err, "workspace.findings")
    ops.save(g.client)
    flash(f"Finding #{finding.id} closed.", "success")
    return redirect(url_for("workspace.findings"), 303)
