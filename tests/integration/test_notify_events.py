"""Events told at once, each one entry in the list of kinds: a comment on my task (to its assignee), a document
waiting for my approval (to the client's reviewers), a finding raised at my client (to its admins) — written
in the change's transaction, mailed after its commit, per each person's preferences."""
from __future__ import annotations

import re

from sqlalchemy import select

import tenants
from app.models import Document, NotificationPreference, Task, User
from app.workspace import operations as ops
from test_notifications import notices, parts, subject


def _task_of(db, w, assignee=None):
    with tenants.tenant_scope(db.session, w.client.schema_name):
        task = db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)).first()
        if assignee is not None:
            ops.assign_task(task, db.session.get(User, assignee.id), ops.Actor(None, "setup"))
            ops.save(w.client)
        return task.id, task.title


def test_a_comment_on_my_task_tells_me_but_not_the_one_who_wrote_it(http, factory, db, mailbox):
    w = factory.world()
    task_id, title = _task_of(db, w, assignee=w.staff)
    mailbox.deliver()
    mailbox.messages.clear()
    http.login(w.consultant.email)
    form = f"/c/{w.client.slug}/tasks/{task_id}"
    resp = http.submit(f"{form}/comments", {"body": "Please attach\nthe signed policy."}, form_url=form)
    assert resp.status_code == 302
    line = (f"{w.consultant.name} commented on your task “{title}” at {w.client.name}: "
            "Please attach the signed policy.")
    assert notices(db, w.staff.id)[-1] == ("task_comment", line)
    mail = mailbox.last_to(w.staff.email)
    assert subject(mail) == f"{w.client.name}: {w.consultant.name} commented on “{title}”"
    assert f"/c/{w.client.slug}/tasks/{task_id}#comment-" in parts(mail)[0]
    http.logout()
    http.login(w.staff.email)
    before = len(notices(db, w.staff.id))
    assert http.submit(f"{form}/comments", {"body": "Done."}, form_url=form).status_code == 302
    assert len(notices(db, w.staff.id)) == before  # not told of their own comment


def test_a_document_put_in_review_waits_for_the_reviewers_approval(http, factory, db, mailbox):
    w = factory.world()
    db.session.add(NotificationPreference(user_id=w.consultant.id, kind="document_waiting", delivery="off"))
    db.session.commit()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        doc = db.session.scalars(select(Document).where(Document.stage == "initial_audit",
                                                        Document.status == "draft")).first()
        doc_id, title = doc.id, doc.title
    db.session.rollback()
    http.login(w.staff.email)
    resp = http.submit(f"/c/{w.client.slug}/documents/{doc_id}/status", {"status": "in_review"},
                       form_url=f"/c/{w.client.slug}/documents")
    assert resp.status_code in (302, 303)
    line = f"{w.staff.name} put “{title}” of {w.client.name} in review: it waits for your approval."
    assert notices(db, w.consultant.id) == [("document_waiting", line)]
    assert mailbox.to(w.consultant.email) == []  # turned off: in the app only
    assert notices(db, w.other_consultant.id) == []  # not assigned to this client


def test_a_finding_raised_tells_the_client_admins(http, factory, db, mailbox):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": "No supplier evaluation", "severity": "minor",
                                                        "stage": "initial_audit", "clause": "8.4.1"},
                       form_url=f"/c/{w.client.slug}/findings")
    assert resp.status_code == 303
    [(kind, line)] = notices(db, w.client_admin.id)
    assert kind == "finding_raised"
    assert line == (f"{w.consultant.name} raised a minor finding at {w.client.name}: "
                    "“No supplier evaluation” (clause 8.4.1).")
    mail = mailbox.last_to(w.client_admin.email)
    assert subject(mail) == f"{w.client.name}: minor finding raised: No supplier evaluation"
    assert re.search(rf"/c/{w.client.slug}/findings/\d+\b", parts(mail)[0])  # the finding's own record
    assert notices(db, w.staff.id) == []
