"""Management reviews (9.3): the register and opening one; one review with its 9.3.2 inputs, the participants'
input, the 9.3.3 outputs and closing by top management; the minutes as PDF."""
from __future__ import annotations


from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from workflows import management_review as mr

from ... import clock
from ...extensions import db
from ...inputs import parse_id
from ...models import ManagementReview
from ...permissions import MR_CLOSERS, MR_CONTRIBUTORS, MR_MANAGERS, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, people
from .pdf import render_pdf



def _register(error: Refusal | None = None, typed=None):
    typed = typed or {}
    chosen = {parse_id(v) for v in typed.getlist("participants")} if typed else set()
    return render("workspace/management_reviews.html", client=g.client, reviews=ops.reviews(),
                  open_review=ops.open_review_now(), people=people(), formats=mr.FORMATS, statuses=mr.STATUSES,
                  can_open=may_change(*MR_MANAGERS), today=clock.today(), error=error, typed=typed,
                  chosen=chosen), (error.status if error else 200)


def _review_page(review: ManagementReview, error: Refusal | None = None, form: str | None = None, typed=None):
    states = {s.key: s for s in ops.input_states(review)}
    missing = [ri.key for ri in mr.missing_inputs(states.values())]
    me = actor().id
    is_open = review.status == "open"
    return render("workspace/management_review.html", client=g.client, review=review, inputs=mr.INPUTS,
                  entries={e.key: e for e in review.inputs}, missing=missing, states=states,
                  output_kinds=mr.OUTPUT_KINDS, formats=mr.FORMATS, statuses=mr.STATUSES, people=people(),
                  can_manage=is_open and may_change(*MR_MANAGERS),
                  can_contribute=is_open and may_change(*MR_CONTRIBUTORS) and
                  (ops.is_participant(review, me) or g.client_role in MR_MANAGERS),
                  can_close=is_open and may_change(*MR_CLOSERS), today=clock.today(), error=error, error_form=form,
                  typed=typed or {}, conclusion_min=mr.CONCLUSION_MIN), (error.status if error else 200)


def _review(review_id: int) -> ManagementReview:
    try:
        return ops.review_of(review_id)
    except Refusal:
        abort(404)


def _done(review: ManagementReview, message: str, anchor: str = ""):
    ops.save(g.client)
    flash(message, "success")
    return redirect(url_for("workspace.management_review", review_id=review.id) + anchor, 303)


def _refused(review_id: int, err: Refusal, form: str):
    db.session.rollback()
    if err.status == 404:
        abort(404)
    return _review_page(_review(review_id), err, form, request.form)


@bp.get("/management-reviews")
def management_reviews():
    return _register()


@bp.post("/management-reviews")
@requires(*MR_MANAGERS)
def open_management_review():
    form = request.form
    everyone = people()
    chosen = [everyone[i] for i in (parse_id(v) for v in form.getlist("participants")) if i in everyone]
    try:
        review = ops.open_review(form.get("opened_on", ""), form.get("format", ""), form.get("channel", ""),
                                 chosen, actor())
    except Refusal as err:
        db.session.rollback()
        return _register(err, form)
    return _done(review, f"Management review opened with its inputs pre-filled as of "
                         f"{review.data_cutoff_on.isoformat()}.")


@bp.get("/management-reviews/<int:review_id>")
def management_review(review_id):
    return _review_page(_review(review_id))


@bp.post("/management-reviews/<int:review_id>/refresh")
@requires(*MR_MANAGERS)
def refresh_management_review(review_id):
    review = _review(review_id)
    try:
        changed = ops.refresh_prefill(review, actor())
    except Refusal as err:
        return _refused(review_id, err, "refresh")
    return _done(review, f"Pre-fill taken again: {changed} input{'s' if changed != 1 else ''} changed.")


@bp.post("/management-reviews/<int:review_id>/inputs/<input_key>")
@requires(*MR_MANAGERS)
def save_management_review_input(review_id, input_key):
    key = input_key
    review = _review(review_id)
    if key not in mr.INPUT_KEYS:
        abort(404)
    form = request.form
    try:
        ops.save_input(review, key, form.get("text", ""), form.get("nothing_to_report") == "1", actor())
    except Refusal as err:
        return _refused(review_id, err, f"input-{key}")
    return _done(review, f"{mr.input_of(key).clause} saved.", f"#input-{key}")


@bp.post("/management-reviews/<int:review_id>/inputs/<input_key>/contributions")
@requires(*MR_CONTRIBUTORS)
def contribute_management_review(review_id, input_key):
    key = input_key
    review = _review(review_id)
    if key not in mr.INPUT_KEYS:
        abort(404)
    try:
        ops.contribute(review, key, request.form.get("body", ""), actor(), g.client_role in MR_MANAGERS)
    except Refusal as err:
        return _refused(review_id, err, f"input-{key}")
    return _done(review, f"Your input to {mr.input_of(key).clause} is added.", f"#input-{key}")


@bp.post("/management-reviews/<int:review_id>/actions")
@requires(*MR_MANAGERS)
def add_management_review_action(review_id):
    review = _review(review_id)
    form = request.form
    owner_id = parse_id(form.get("owner", ""))
    owner = people().get(owner_id) if owner_id is not None else None
    try:
        ops.add_output(review, form.get("kind", ""), form.get("description", ""), owner, form.get("due_on", ""),
                       actor())
    except Refusal as err:
        return _refused(review_id, err, "action")
    return _done(review, "Action recorded; it becomes a task when the review closes.", "#outputs")


@bp.post("/management-reviews/<int:review_id>/actions/<int:mr_action_id>/remove")
@requires(*MR_MANAGERS)
def remove_management_review_action(review_id, mr_action_id):
    review = _review(review_id)
    try:
        ops.remove_output(review, mr_action_id, actor())
    except Refusal as err:
        return _refused(review_id, err, "action")
    return _done(review, "Action withdrawn.", "#outputs")


@bp.post("/management-reviews/<int:review_id>/close")
@requires(*MR_CLOSERS)
def close_management_review(review_id):
    review = _review(review_id)
    form = request.form
    try:
        ops.close_review(review, form.get("conclusion", ""), form.get("next_review_on", ""), g.client_role, actor())
    except Refusal as err:
        return _refused(review_id, err, "close")
    return _done(review, "Management review closed; its actions are tasks now.")


@bp.get("/management-reviews/<int:review_id>/minutes.pdf")
def management_review_pdf(review_id):
    review = _review(review_id)
    html = render_template("workspace/management_review_pdf.html", client=g.client, review=review, inputs=mr.INPUTS,
                           entries={e.key: e for e in review.inputs}, output_kinds=mr.OUTPUT_KINDS,
                           formats=mr.FORMATS, statuses=mr.STATUSES, printed_at=clock.now())
    pdf = render_pdf(html, "management-review")
    name = f"management-review-{g.client.slug}-{review.opened_on.isoformat()}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
