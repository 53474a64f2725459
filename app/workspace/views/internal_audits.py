"""The internal audit (9.2): the programme page (period, methods, manager, processes with their risk rationale,
the coverage matrix, the audits), one audit's checklist and report, and the report as PDF."""
from __future__ import annotations


from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from workflows import gap_analysis as gap
from workflows import internal_audit as ia
from workflows import nonconformity as nc

from ... import clock
from ...extensions import db
from ...inputs import parse_id
from ...models import AuditProcess, InternalAudit
from ...permissions import AUDIT_PLANNERS, FINDING_RAISERS, INTERNAL_AUDITORS, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from ..operations import internal_audits as audit_ops
from ..operations import consultancy_members, save
from .common import actor, people
from .pdf import render_pdf

# The gap analysis report's print styles, with this report's own running footer.


def _person(field: str):
    user_id = parse_id(request.form.get(field, ""))
    return people().get(user_id) if user_id is not None else None


def _programme_page(error: Refusal | None = None, failed: str | None = None, typed=None, status: int = 200,
                    warning: audit_ops.Warning_ | None = None):
    processes = audit_ops.processes()
    rows = audit_ops.audits()
    checklist = audit_ops.gap_checklist()
    cov = audit_ops.ia.coverage(checklist, audit_ops.process_states(processes), audit_ops.audit_states(rows))
    p = audit_ops.programme()
    return render("workspace/internal_audits.html", client=g.client, programme=p,
                  programme_form=audit_ops.ProgrammeForm.of(p), processes=processes, audits=rows, coverage=cov,
                  cycle_due=audit_ops.cycle_due() if rows else (), groups=checklist.groups, methods=ia.METHODS,
                  risks=ia.RISKS, statuses=ia.AUDIT_STATUSES, people=people(), error=error, failed=failed,
                  typed=typed if typed is not None else {}, warning=warning, audit_form=audit_ops.AuditForm(),
                  can_plan=may_change(*AUDIT_PLANNERS), today=clock.today()), status


def _refused(err: Refusal, failed: str):
    db.session.rollback()
    if err.status == 404:
        abort(404)
    return _programme_page(err, failed, request.form, err.status)


@bp.get("/audits")
def internal_audits():
    return _programme_page()


@bp.post("/audits/programme")
@requires(*AUDIT_PLANNERS)
def audit_programme():
    f = request.form
    form = audit_ops.ProgrammeForm(f.get("period_start", ""), f.get("period_end", ""), f.get("notes", ""),
                                   f.getlist("methods"))
    try:
        audit_ops.save_programme(form, _person("manager_id"), actor())
    except Refusal as err:
        return _refused(err, "programme")
    save(g.client)
    flash("Audit programme saved.", "success")
    return redirect(url_for("workspace.internal_audits") + "#programme", 303)


def _process_form() -> audit_ops.ProcessForm:
    f = request.form
    return audit_ops.ProcessForm(f.get("name", ""), f.get("risk", ""), f.get("in_scope") == "1",
                                 f.get("importance", ""), f.get("recent_changes", ""), f.get("previous_results", ""))


@bp.post("/audits/processes")
@requires(*AUDIT_PLANNERS)
def audit_process_add():
    try:
        process = audit_ops.save_process(None, _process_form(), _person("owner_id"), actor())
    except Refusal as err:
        return _refused(err, "process")
    save(g.client)
    flash(f"Process “{process.name}” added to the programme.", "success")
    return redirect(url_for("workspace.internal_audits") + "#processes", 303)


@bp.post("/audits/processes/<int:process_id>")
@requires(*AUDIT_PLANNERS)
def audit_process_edit(process_id):
    process = db.get_or_404(AuditProcess, process_id)
    try:
        audit_ops.save_process(process, _process_form(), _person("owner_id"), actor())
    except Refusal as err:
        return _refused(err, f"process-{process_id}")
    save(g.client)
    flash(f"Process “{process.name}” saved.", "success")
    return redirect(url_for("workspace.internal_audits") + "#processes", 303)


@bp.post("/audits")
@requires(*AUDIT_PLANNERS)
def audit_plan():
    f = request.form
    form = audit_ops.AuditForm(f.get("title", ""), f.get("criteria", ""), f.get("clauses", ""),
                               f.get("scope_note", ""), f.get("planned_on", ""), f.get("auditees", ""),
                               [i for i in (parse_id(v) for v in f.getlist("process_ids")) if i is not None])
    auditor = _person("auditor_id")
    try:
        audit = audit_ops.plan_audit(form, auditor, actor())
        # A consultant who wrote documents on the audited clauses is told so, with colleagues who could audit
        # instead; planned only once they confirm.
        colleagues = [u for u, _ in consultancy_members(g.client.account_id)]
        warning = audit_ops.authored_warning(auditor, tuple(audit.clauses), colleagues)
    except Refusal as err:
        return _refused(err, "audit")
    if warning is not None and f.get("confirm_authored") != "1":
        db.session.rollback()
        return _programme_page(failed="audit", typed=f, warning=warning)
    save(g.client)
    flash(f"Internal audit {audit.reference} planned with {len(audit.lines)} checklist lines.", "success")
    return redirect(url_for("workspace.internal_audit", audit_id=audit.id), 303)


# --- one audit ------------------------------------------------------------------------------------------

def _audit_page(audit: InternalAudit, error: Refusal | None = None, failed: str | None = None, typed=None,
                status: int = 200):
    checklist = audit_ops.gap_checklist()
    return render("workspace/internal_audit.html", client=g.client, audit=audit, checklist=checklist,
                  findings=audit_ops.findings_of(audit), rating_labels=gap.RATING_LABELS, statuses=ia.AUDIT_STATUSES,
                  kinds=audit_ops.KINDS_FROM_LINE, grades=nc.GRADES, error=error, failed=failed,
                  typed=typed if typed is not None else {}, report=audit_ops.ReportForm.of(audit),
                  can_rate=may_change(*INTERNAL_AUDITORS) and audit.status != ia.COMPLETED,
                  can_raise=may_change(*FINDING_RAISERS), can_plan=may_change(*AUDIT_PLANNERS),
                  rated=sum(1 for ln in audit.lines if ln.rating), anchor=_anchor), status


def _anchor(clause: str) -> str:
    return "line-" + clause.replace(".", "-")


def _audit_refused(audit_id: int, err: Refusal, failed: str):
    db.session.rollback()
    if err.status == 404:
        abort(404)
    return _audit_page(db.get_or_404(InternalAudit, audit_id), err, failed, request.form, err.status)


def _audit_done(audit: InternalAudit, message: str, anchor: str = ""):
    save(g.client)
    flash(message, "success")
    return redirect(url_for("workspace.internal_audit", audit_id=audit.id) + anchor, 303)


@bp.get("/audits/<int:audit_id>")
def internal_audit(audit_id):
    return _audit_page(db.get_or_404(InternalAudit, audit_id))


@bp.post("/audits/<int:audit_id>/lines/<clause>")
@requires(*INTERNAL_AUDITORS)
def audit_line_rate(audit_id, clause):
    audit = db.get_or_404(InternalAudit, audit_id)
    f = request.form
    try:
        audit_ops.rate_line(audit, clause, f.get("rating"), f.get("evidence"), f.get("notes"), actor())
    except Refusal as err:
        return _audit_refused(audit_id, err, clause)
    return _audit_done(audit, f"{clause} rated {gap.RATING_LABELS[f.get('rating')].lower()}.", "#" + _anchor(clause))


@bp.post("/audits/<int:audit_id>/lines/<clause>/finding")
@requires(*FINDING_RAISERS)
def audit_line_finding(audit_id, clause):
    audit = db.get_or_404(InternalAudit, audit_id)
    f = request.form
    try:
        finding = audit_ops.finding_from_line(audit, clause, f.get("kind"), f.get("grade") or None, actor())
    except Refusal as err:
        return _audit_refused(audit_id, err, clause)
    return _audit_done(audit, f"Finding #{finding.id} raised from {clause}.", "#" + _anchor(clause))


@bp.post("/audits/<int:audit_id>/report")
@requires(*INTERNAL_AUDITORS)
def audit_report(audit_id):
    audit = db.get_or_404(InternalAudit, audit_id)
    f = request.form
    form = audit_ops.ReportForm(f.get("summary", ""), f.get("conclusion", ""), f.get("positives", ""),
                                f.get("distribution", ""))
    try:
        audit_ops.save_report(audit, form, actor())
    except Refusal as err:
        return _audit_refused(audit_id, err, "report")
    return _audit_done(audit, "Report saved.", "#report")


@bp.post("/audits/<int:audit_id>/complete")
@requires(*INTERNAL_AUDITORS)
def audit_complete(audit_id):
    audit = db.get_or_404(InternalAudit, audit_id)
    try:
        audit_ops.complete_audit(audit, actor())
    except Refusal as err:
        return _audit_refused(audit_id, err, "complete")
    return _audit_done(audit, f"Internal audit {audit.reference} completed.")


@bp.get("/audits/<int:audit_id>/report.pdf")
def audit_report_pdf(audit_id):
    audit = db.get_or_404(InternalAudit, audit_id)
    html = render_template("workspace/internal_audit_pdf.html", client=g.client, audit=audit,
                           checklist=audit_ops.gap_checklist(), findings=audit_ops.findings_of(audit),
                           rating_labels=gap.RATING_LABELS, statuses=ia.AUDIT_STATUSES, printed_at=clock.now())
    pdf = render_pdf(html, "internal-audit")
    name = f"internal-audit-{audit.reference}-{g.client.slug}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
