"""/certification: the certification body, stage 1 and 2, the certificate, and the three-year cycle with the
internal audit and management review each external audit needs before it."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for

from workflows import cycle as wc

from ... import clock
from ...extensions import db
from ...permissions import CERTIFICATION_ROLES, PREPARATION_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor

_APPLICATION = ("body", "accreditation", "sector", "headcount", "sites", "scope_statement")
_AUDIT = ("planned_on", "held_on", "result", "reference", "notes")
_CERTIFICATE = ("certificate_number", "certificate_scope", "issued_on", "expires_on")


def _text(value) -> str:
    return "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


def _typed(fields) -> dict:
    return {k: request.form.get(k, "") for k in fields}


def _page(status: int = 200, error: Refusal | None = None, form: str | None = None, typed: dict | None = None,
          kind: str | None = None):
    """The page; after a refusal, the form that was sent (`form`, `kind`) shows what was typed and why."""
    s, row, audits = ops.settings(), ops.record(), ops.external_audits()
    today = clock.today()
    application = {"body": s.certification_body or "", **{k: _text(getattr(row, k)) for k in _APPLICATION[1:]}}
    certificate = {k: _text(getattr(row, k)) for k in ("certificate_number", "certificate_scope", "issued_on",
                                                       "expires_on")}
    audit_values = {k: {f: _text(getattr(audits[k], f)) if k in audits else "" for f in _AUDIT} for k in wc.AUDIT_KINDS}
    if form == "application":
        application = typed
    elif form == "certificate":
        certificate = typed
    elif form == "audit":
        audit_values[kind] = typed
    found = ops.client_cycle(audits, today)
    # A refusal shows beside its form; a form the page doesn't show (no cycle yet) gets it on top.
    inline = form == "application" or found is not None or (form == "audit" and kind in ("stage_1", "stage_2"))
    upcoming = found.next_audit if found else None
    return render("workspace/certification.html", client=g.client, settings=s, cycle=found, audits=audits,
                  application=application, certificate=certificate, audit_values=audit_values,
                  preparation=ops.preparation_status() if upcoming else [], upcoming=upcoming, today=today,
                  calendar=ops.client_calendar(audits), stage_2_repeat=ops.stage_2_repeat(audits), rules=ops.client_rules() if found else None,
                  can_prepare=may_change(*PREPARATION_ROLES),
                  labels=wc.AUDIT_LABELS, results=wc.AUDIT_RESULTS, can_edit=may_change(*CERTIFICATION_ROLES), error=error, error_form=form, error_kind=kind, error_on_top=error is not None and not inline), status


def _refused(err: Refusal, form: str, fields, kind: str | None = None):
    db.session.rollback()
    return _page(err.status, err, form, _typed(fields), kind)


def _done(message: str, anchor: str):
    ops.save(g.client)
    flash(message, "success")
    return redirect(url_for("workspace.certification") + anchor, 303)


@bp.get("/certification")
def certification():
    return _page()


@bp.post("/certification/application")
@requires(*CERTIFICATION_ROLES)
def certification_application():
    try:
        ops.save_application(ops.ApplicationForm(**_typed(_APPLICATION)), actor())
    except Refusal as err:
        return _refused(err, "application", _APPLICATION)
    return _done("Application data saved.", "#application")


@bp.post("/certification/audits/<kind>")
@requires(*CERTIFICATION_ROLES)
def certification_audit(kind):
    if kind not in wc.AUDIT_LABELS:
        abort(404)
    try:
        ops.save_audit(kind, ops.AuditForm(**_typed(_AUDIT)), actor())
    except Refusal as err:
        return _refused(err, "audit", _AUDIT, kind)
    return _done(f"{wc.AUDIT_LABELS[kind]} saved.", f"#audit-{kind}")


@bp.post("/certification/certificate")
@requires(*CERTIFICATION_ROLES)
def certification_certificate():
    f = _typed(_CERTIFICATE)
    try:
        ops.save_certificate(f["certificate_number"], f["certificate_scope"], f["issued_on"], f["expires_on"], actor())
    except Refusal as err:
        return _refused(err, "certificate", _CERTIFICATE)
    return _done("Certificate saved.", "#certificate")


@bp.post("/certification/preparation")
@requires(*PREPARATION_ROLES)
def certification_preparation():
    try:
        done = ops.generate_preparation(actor())
    except Refusal as err:
        db.session.rollback()
        return _page(err.status, err, "preparation")
    if not done.created:
        db.session.rollback()
        flash(f"The preparation tasks for the {wc.AUDIT_LABELS[done.audit].lower()} were generated already: "
              "nothing new was created.", "info")
        return redirect(url_for("workspace.certification") + "#preparation", 303)
    return _done(f"{len(done.created)} preparation tasks created for the {wc.AUDIT_LABELS[done.audit].lower()}; "
                 "they are on the task list.", "#preparation")
