"""Audit findings: the register, raising one, closing one with a note, reopening one with a reason."""
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
from .common import actor


def _findings_page(form, error: str | None = None, status: int = 200, failed: int | None = None):
    """The register; `failed` names the finding whose close or reopen form comes back with `error` and what
    was typed, otherwise `error` belongs to the form that records a finding."""
    rows = db.session.scalars(select(Finding).order_by(Finding.status.desc(), Finding.raised_at.desc())).all()
    return render("workspace/findings.html", client=g.client, findings=rows, stages=STAGE_KEYS,
                  current=ops.current_stage_key(), can_raise=may_change(*CONSULTANT_ROLES),
                  form=form if failed is None else {}, error=error, failed=failed,
                  typed=form if failed is not None else {}), status


@bp.get("/findings")
def findings():
    return _findings_page({})


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


def _finding_change(finding_id: int, change, text_field: str, done: str):
    finding = db.get_or_404(Finding, finding_id)
    try:
        change(finding, request.form.get(text_field, ""), actor())
    except Refusal as err:
        db.session.rollback()
        return _findings_page(request.form, str(err), err.status, failed=finding_id)
    ops.save(g.client)
    flash(f"Finding #{finding_id} {done}.", "success")
    return redirect(url_for("workspace.findings") + f"#finding-{finding_id}", 303)


@bp.post("/findings/<int:finding_id>/close")
@requires(*CONSULTANT_ROLES)
def close_finding(finding_id):
    return _finding_change(finding_id, ops.close_finding, "note", "closed")


@bp.post("/findings/<int:finding_id>/reopen")
@requires(*CONSULTANT_ROLES)
def reopen_finding(finding_id):
    return _finding_change(finding_id, ops.reopen_finding, "reason", "reopened")
