"""Findings: the register, raising one (any client user, consultants and auditors too), closing one when its
record allows, reopening one with a reason. One finding's record is finding_record.py."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

from workflows import nonconformity as nc
from workflows.stages import STAGE_KEYS

from ...extensions import db
from ...models import ExternalAudit, Finding
from ...permissions import FINDING_CLOSERS, FINDING_RAISERS, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor
from .finding_record import record_page

RAISE_FIELDS = ("title", "source", "kind", "grade", "stage", "clause", "process", "requirement", "evidence",
                "statement", "cb_reference", "description")


def _findings_page(form, error: str | None = None, status: int = 200, failed: int | None = None):
    """The register; `failed` names the finding whose close or reopen form comes back with `error` and what
    was typed, otherwise `error` belongs to the form that records a finding."""
    rows = db.session.scalars(select(Finding).order_by(Finding.status.desc(), Finding.raised_at.desc())).all()
    audits = {a.kind: a for a in db.session.scalars(select(ExternalAudit))}
    rules = ops.client_rules()  # the body's deadlines, read once for the whole register
    return render("workspace/findings.html", client=g.client, findings=rows, stages=STAGE_KEYS,
                  current=ops.current_stage_key(), can_raise=may_change(*FINDING_RAISERS),
                  can_close=may_change(*FINDING_CLOSERS), ageing={f.id: ops.ageing(f, audits, rules) for f in rows},
                  sources=nc.SOURCES, kinds=nc.KINDS, grades=nc.GRADES, kind_of=nc.kind_of,
                  form=form if failed is None else {}, error=error, failed=failed,
                  typed=form if failed is not None else {}), status


def _kind(form) -> str:
    """The kind chosen; an observation or opportunity chosen as the severity is that kind too."""
    severity = form.get("severity", "")
    return form.get("kind") or (severity if severity in ("observation", "opportunity") else "")


def _grade(form) -> str | None:
    """The one severity select holds the grade of a nonconformity (major, minor) or the kind of the rest."""
    severity = form.get("severity", "")
    return severity if severity in nc.GRADES or severity != _kind(form) and severity else None


@bp.get("/findings")
def findings():
    return _findings_page({})


@bp.post("/findings")
@requires(*FINDING_RAISERS)
def raise_finding():
    form = request.form
    try:
        # The form names a source and a kind (the severity follows from the kind and grade); a post with a
        # severity alone, as the form had before nonconformity records, still records a finding of that grade.
        classified = bool(form.get("source") or form.get("kind"))
        finding = ops.raise_finding(form.get("stage", ""), form.get("severity", ""), form.get("title", ""),
                                    form.get("clause"), form.get("description", ""), actor(),
                                    source=form.get("source", "") if classified else None,
                                    kind=_kind(form) if classified else None, grade=_grade(form),
                                    process=form.get("process", ""), requirement=form.get("requirement", ""),
                                    evidence=form.get("evidence", ""), statement=form.get("statement", ""),
                                    cb_reference=form.get("cb_reference", ""))
    except Refusal as err:
        db.session.rollback()
        return _findings_page(form, str(err), err.status)
    ops.save(g.client)
    flash(f"Finding #{finding.id} recorded.", "success")
    return redirect(url_for("workspace.finding", finding_id=finding.id), 303)


def _finding_change(finding_id: int, change, text_field: str, done: str):
    finding = db.get_or_404(Finding, finding_id)
    from_record = request.form.get("back") == "record"
    try:
        change(finding, request.form.get(text_field, ""), actor())
    except Refusal as err:
        db.session.rollback()
        if from_record:
            return record_page(db.get_or_404(Finding, finding_id), err, "closing", request.form)
        return _findings_page(request.form, str(err), err.status, failed=finding_id)
    ops.save(g.client)
    flash(f"Finding #{finding_id} {done}.", "success")
    if from_record:
        return redirect(url_for("workspace.finding", finding_id=finding_id), 303)
    return redirect(url_for("workspace.findings") + f"#finding-{finding_id}", 303)


@bp.post("/findings/<int:finding_id>/close")
@requires(*FINDING_CLOSERS)
def close_finding(finding_id):
    return _finding_change(finding_id, ops.close_finding, "note", "closed")


@bp.post("/findings/<int:finding_id>/reopen")
@requires(*FINDING_CLOSERS)
def reopen_finding(finding_id):
    return _finding_change(finding_id, ops.reopen_finding, "reason", "reopened")
