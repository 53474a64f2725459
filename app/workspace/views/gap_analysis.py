"""The gap analysis of the initial audit: the checklist rated item by item, the report on screen, as CSV and
as PDF, and one step from a gap to a finding or a task that carries its clause."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

import workflows as wf
from workflows import gap_analysis as gap

from ... import clock
from ...extensions import db, htmx
from ...permissions import CONSULTANT_ROLES, GAP_ANALYSTS, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ...text import safe_cell
from ..blueprint import bp
from .. import operations as ops
from .common import actor
from .pdf import render_pdf

CSV_HEADER = ["Clause", "Requirement", "Clause group", "Rating", "Outcome", "Notes", "Evidence",
              "Justification (not applicable)", "Rated by", "Rated at", "Finding", "Task"]

# The PDF's own print styles (page size, running footer): a file, as every style is (the CSP forbids inline ones).


def _anchor(clause: str) -> str:
    return "item-" + clause.replace(".", "-")


def _context(report: ops.GapReport) -> dict:
    return {"client": g.client, "report": report, "checklist": report.checklist, "rows": report.ratings,
            "rating_labels": gap.RATING_LABELS, "outcome_labels": gap.OUTCOME_LABELS,
            "outcomes_by_rating": gap.OUTCOMES_BY_RATING, "gap_ratings": gap.GAP_RATINGS,
            "severities": wf.FINDING_SEVERITY_LABELS, "can_rate": may_change(*GAP_ANALYSTS),
            "can_raise": may_change(*CONSULTANT_ROLES), "anchor": _anchor,
            "remedy": {c: ops.gap_remedy_stage(c) for c, r in report.ratings.items() if r.rating in gap.GAP_RATINGS},
            "justification_min": gap.JUSTIFICATION_MIN}


def _page(failed: str | None = None, error: Refusal | None = None, typed=None, status: int = 200):
    """The checklist and report; `failed` names the item whose form comes back with `error` and what was typed."""
    return render("workspace/gap_analysis.html", failed=failed, error=error, typed=typed or {},
                  **_context(ops.gap_report())), status


def _item(clause: str, error: Refusal | None = None, typed=None, status: int = 200):
    """One item re-rendered for htmx, with the progress line swapped beside it."""
    html = render_template("workspace/_gap_item.html", item=ops.gap_checklist().item(clause), failed=clause,
                           error=error, typed=typed or {}, oob=True, **_context(ops.gap_report()))
    return html, status


@bp.get("/gap-analysis")
def gap_analysis():
    return _page()


def _refused(clause: str, err: Refusal):
    db.session.rollback()
    if err.status == 404:
        abort(404)
    if htmx:
        return _item(clause, err, request.form, err.status)
    return _page(clause, err, request.form, err.status)


def _done(clause: str, message: str):
    ops.save(g.client)
    if htmx:
        return _item(clause)
    flash(message, "success")
    return redirect(url_for("workspace.gap_analysis") + "#" + _anchor(clause), 303)


@bp.post("/gap-analysis/<clause>")
@requires(*GAP_ANALYSTS)
def gap_rate(clause):
    form = request.form
    try:
        row = ops.rate_gap_item(clause, form.get("rating"), form.get("outcome"), form.get("notes"),
                                form.get("evidence"), form.get("justification"), actor())
    except Refusal as err:
        return _refused(clause, err)
    return _done(clause, f"{clause} rated {gap.RATING_LABELS[row.rating].lower()}.")


@bp.post("/gap-analysis/<clause>/finding")
@requires(*CONSULTANT_ROLES)
def gap_finding(clause):
    try:
        finding = ops.finding_from_gap(clause, request.form.get("severity"), actor())
    except Refusal as err:
        return _refused(clause, err)
    return _done(clause, f"Finding #{finding.id} recorded for {clause}.")


@bp.post("/gap-analysis/<clause>/task")
@requires(*GAP_ANALYSTS)
def gap_task(clause):
    try:
        task = ops.task_from_gap(clause, actor())
    except Refusal as err:
        return _refused(clause, err)
    return _done(clause, f"Task “{task.title}” created in {wf.stage_label(task.stage)}.")


def _filename(ext: str) -> str:
    return f"gap-analysis-{g.client.slug}-{clock.today().isoformat()}.{ext}"


@bp.get("/gap-analysis.csv")
def gap_analysis_csv():
    report = ops.gap_report()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    titles = {gr.number: gr.title for gr in report.checklist.groups}
    for item in report.checklist.items():
        r = report.ratings.get(item.clause)
        writer.writerow([safe_cell(v) for v in (
            item.clause, item.title, f"{item.group} {titles[item.group]}",
            gap.RATING_LABELS[r.rating] if r else "Not rated", gap.OUTCOME_LABELS.get(r.outcome, "") if r else "",
            r.notes if r else "", r.evidence if r else "", (r.justification or "") if r else "",
            r.rated_by_name if r else "", r.rated_at.isoformat(timespec="seconds") if r else "",
            f"#{r.finding_id}" if r and r.finding_id else "", f"#{r.task_id}" if r and r.task_id else "")])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_filename("csv")}"'})


@bp.get("/gap-analysis.pdf")
def gap_analysis_pdf():
    html = render_template("workspace/gap_analysis_pdf.html", printed_at=clock.now(), **_context(ops.gap_report()))
    pdf = render_pdf(html, "gap-analysis")
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{_filename("pdf")}"'})
