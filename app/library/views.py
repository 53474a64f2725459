"""Template library views: list, copy, and edit a consultancy's own copy task by task.

Every edit goes through `workflows` (which returns the next version) and is stored
as a new row; nothing here changes a running client. With htmx the edit forms
swap in place; every action also works as a plain form post.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

import workflows as wf

from ..extensions import db, htmx
from ..models import Client, User
from ..permissions import ACCOUNT_MEMBERS, ROLE_LABELS, account_required
from ..refusal import Refusal
from ..templating import render
from . import bp, store
from .forms import CopyForm, NewTaskForm, TaskForm

# --- list and copy ---------------------------------------------------------------------------

@bp.get("/")
@account_required(*ACCOUNT_MEMBERS)
def index():
    usage = dict(db.session.execute(
        select(Client.template_key, func.count()).where(Client.account_id == g.account.id, Client.status == "active")
        .group_by(Client.template_key)).all())
    copies = store.copies(g.account.id)
    editors = _users({row.created_by_id for row, _ in copies})
    return render("library/index.html", standard=store.standard_templates(), copies=copies,
                           usage=usage, editors=editors, origins=_origin_names([row for row, _ in copies]))


def _suggested_name(source: wf.Template, own: bool) -> str:
    taken = {row.name.lower() for row, _ in store.copies(g.account.id)}
    base = f"{source.name} (copy)" if own else f"{g.account.name} — {source.standard}"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base} {n}", n + 1
    return name


@bp.route("/copy", methods=["GET", "POST"])
@account_required(*ACCOUNT_MEMBERS)
def copy():
    form = CopyForm()
    ref = form.source.data if request.method == "POST" else request.args.get("from", "")
    source = store.resolve(g.account.id, ref)
    if source is None:
        abort(404)
    own = ref.startswith(f"{store.OWN}:")
    if request.method == "GET":
        form.source.data, form.name.data = ref, _suggested_name(source, own)
    elif form.validate_on_submit():
        try:
            row = store.make_copy(g.account.id, source, form.name.data, current_user)
        except Refusal as err:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(err)]
        else:
            db.session.commit()
            flash(f"“{row.name}” is ready to edit. Clients you start on it keep the version they start with.",
                  "success")
            return redirect(url_for(".edit", key=row.key), 303)
    status = 422 if request.method == "POST" else 200
    return render("library/copy.html", form=form, source=source, own=own), status


# --- the editor ------------------------------------------------------------------------------

def _own_or_404(key: str) -> tuple:
    """The latest version of one of this consultancy's copies; anything else is a 404."""
    found = store.load(g.account.id, key)
    if found is None:
        abort(404)
    return found


def _task_or_404(template: wf.Template, task_key: str) -> tuple[wf.TaskTemplate, str]:
    task = template.find_task(task_key)
    if task is None:
        abort(404)
    return task, template.stage_of_task(task_key)


def _blank_task_form(stage_key: str) -> NewTaskForm:
    # formdata=None: after a POST the add form starts empty rather than echoing another form's fields.
    return NewTaskForm(formdata=None, prefix="new",
                       data={"stage": stage_key, "role": "staff", "duration_days": 3, "required": True})


def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _origin_names(rows) -> dict[str, str]:
    """based_on key -> a readable name (a shipped template or another copy of this account)."""
    names = {t.key: t.name for t in store.standard_templates()}
    for row in rows:
        if row.based_on_key and row.based_on_key not in names:
            origin = store.latest_row(g.account.id, row.based_on_key, with_data=False)
            names[row.based_on_key] = origin.name if origin else row.based_on_key
    return names


def _task_anchor(task_key: str) -> str:
    # Keys may contain "."; CSS selectors (htmx targets) need it escaped.
    return "#task-" + task_key.replace(".", "\\.")


def _page(row, template: wf.Template, stage_key: str, *, block: str | None = "workbench", status: int = 200,
          headers: dict | None = None, edit_key: str | None = None, edit_form=None, add_form=None,
          form_error: str | None = None, notices=(), task=None):
    ctx = dict(row=row, tpl=template, stage=template.stage(stage_key), edit_key=edit_key, edit_form=edit_form,
               add_form=add_form or _blank_task_form(stage_key), form_error=form_error, notices=notices, task=task,
               roles=ROLE_LABELS)
    if not (htmx and block in ("task", "add_form")):  # one form alone needs none of the page around it
        history = store.history(g.account.id, template.key)
        ctx.update(uncovered=wf.uncovered_clauses(template), history=history,
                   versions=store.version_count(g.account.id, row.key),
                   clients=store.clients_by_version(g.account.id, row.key),
                   editors=_users(r.created_by_id for r, _ in history), origins=_origin_names([row]))
    return render("library/edit.html", block, **ctx), status, headers or {}


@bp.get("/<key>")
@account_required(*ACCOUNT_MEMBERS)
def edit(key):
    row, template = _own_or_404(key)
    stage = request.args.get("stage", "")
    return _page(row, template, stage if template.has_stage(stage) else template.stages[0].key)


@bp.get("/<key>/tasks/<task_key>")
@account_required(*ACCOUNT_MEMBERS)
def task_row(key, task_key):
    """One task as shown in the editor (the inline form's Cancel); without htmx, the editor at that task."""
    row, template = _own_or_404(key)
    task, stage_key = _task_or_404(template, task_key)
    if not htmx:
        return redirect(url_for(".edit", key=key, stage=stage_key) + f"#task-{task_key}")
    return _page(row, template, stage_key, block="task", task=task)


@bp.get("/<key>/tasks/<task_key>/edit")
@account_required(*ACCOUNT_MEMBERS)
def edit_task(key, task_key):
    row, template = _own_or_404(key)
    task, stage_key = _task_or_404(template, task_key)
    return _page(row, template, stage_key, block="task", task=task, edit_key=task_key,
                 edit_form=TaskForm.for_task(task))


def _saved(old: wf.Template, new: wf.Template, stage_key: str, message: str, anchor: str = ""):
    """Store the new version and show the editor again, with a warning if clauses lost their last task."""
    try:
        row = store.save_version(g.account.id, new, current_user)
    except Refusal as err:
        return _conflict(old, stage_key, err)
    db.session.commit()
    notices = [("success", f"{message} Saved as version {new.version}.")]
    before = set(wf.uncovered_clauses(old))
    lost = [c for c in wf.uncovered_clauses(new) if c not in before]
    if lost:
        many = len(lost) > 1
        notices.append(("warning", f"No task serves clause{'s' if many else ''} {', '.join(lost)} any more. "
                                   f"The certification body will look for {'them' if many else 'it'}: "
                                   "add a task or tag an existing one."))
    if htmx:
        return _page(row, new, stage_key, notices=notices)
    for category, text in notices:
        flash(text, category)
    return redirect(url_for(".edit", key=new.key, stage=stage_key) + anchor, 303)


def _unchanged(row, template: wf.Template, stage_key: str, message: str, anchor: str = ""):
    if htmx:
        return _page(row, template, stage_key, notices=[("info", message)])
    flash(message, "info")
    return redirect(url_for(".edit", key=template.key, stage=stage_key) + anchor, 303)


def _conflict(template: wf.Template, stage_key: str, err: Refusal):
    db.session.rollback()
    row, latest = _own_or_404(template.key)
    stage_key = stage_key if latest.has_stage(stage_key) else latest.stages[0].key
    return _page(row, latest, stage_key, status=err.status, notices=[("error", str(err))],
                 headers={"HX-Retarget": "#workbench", "HX-Reswap": "outerHTML"} if htmx else None)


def _refused(row, template: wf.Template, stage_key: str, block: str, target: str, **forms):
    """Bad input: nothing saved; the form comes back with the message and what was typed."""
    db.session.rollback()
    headers = {"HX-Retarget": target, "HX-Reswap": "outerHTML"} if htmx else None
    return _page(row, template, stage_key, block=block, status=422, headers=headers, **forms)


@bp.post("/<key>/tasks")
@account_required(*ACCOUNT_MEMBERS)
def add_task(key):
    row, template = _own_or_404(key)
    form = NewTaskForm(prefix="new")
    stage_key = form.stage.data
    if not template.has_stage(stage_key):
        abort(404)
    error = None
    fields = form.read(template)
    task_key = form.key.data
    elsewhere = template.stage_of_task(task_key) if task_key else None
    if elsewhere:
        form.key.errors = [*form.key.errors, f"This template already has a task with the reference “{task_key}” "
                                             f"(in {template.stage(elsewhere).label}). Choose another reference "
                                             "or leave it empty."]
    elif fields is not None:
        # A derived key never reuses one from an earlier version: a running client may still have that task.
        task_key = task_key or wf.derive_key(fields["title"], store.task_keys_ever_used(g.account.id, key)
                                             | {t.key for _, t in template.iter_tasks()})
        try:
            new = wf.add_task(template, stage_key, {"key": task_key, **fields})
        except wf.TemplateError as err:
            error = str(err)
        else:
            return _saved(template, new, stage_key, f"“{fields['title']}” added to {template.stage(stage_key).label}.",
                          f"#task-{task_key}")
    return _refused(row, template, stage_key, "add_form", "#add-task", add_form=form, form_error=error)


@bp.post("/<key>/tasks/<task_key>")
@account_required(*ACCOUNT_MEMBERS)
def update_task(key, task_key):
    row, template = _own_or_404(key)
    task, stage_key = _task_or_404(template, task_key)
    form = TaskForm()
    error = None
    fields = form.read(template)
    if fields is not None:
        try:
            new = wf.update_task(template, task_key, **fields)
        except wf.TemplateError as err:
            error = str(err)
        else:
            if new is template:
                return _unchanged(row, template, stage_key, f"“{task.title}” is unchanged.", f"#task-{task_key}")
            return _saved(template, new, stage_key, f"“{fields['title']}” updated.", f"#task-{task_key}")
    return _refused(row, template, stage_key, "task", _task_anchor(task_key), task=task, edit_key=task_key,
                    edit_form=form, form_error=error)


@bp.post("/<key>/tasks/<task_key>/required")
@account_required(*ACCOUNT_MEMBERS)
def set_required(key, task_key):
    row, template = _own_or_404(key)
    task, stage_key = _task_or_404(template, task_key)
    required = request.form.get("required") == "1"
    new = wf.update_task(template, task_key, required=required)
    if new is template:
        return _unchanged(row, template, stage_key, f"“{task.title}” is already {'required' if required else 'optional'}.",
                          f"#task-{task_key}")
    return _saved(template, new, stage_key,
                  f"“{task.title}” is now {'required to pass the gate' if required else 'optional'}.",
                  f"#task-{task_key}")


@bp.post("/<key>/tasks/<task_key>/remove")
@account_required(*ACCOUNT_MEMBERS)
def remove_task(key, task_key):
    row, template = _own_or_404(key)
    task, stage_key = _task_or_404(template, task_key)
    return _saved(template, wf.remove_task(template, task_key), stage_key, f"“{task.title}” removed.")
