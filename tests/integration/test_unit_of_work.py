"""One unit of work per request or job, side effects after the commit, and one clock for everything."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

import tenants
from app import clock
from app.accounts import invite_and_notify
from app.models import Attachment, ClientSummary, Invitation, Task
from app.transaction import after_commit
from app.workspace import operations as ops


def test_after_commit_runs_once_the_change_is_committed(db):
    ran = []
    after_commit(ran.append, "sent")
    assert ran == []  # nothing before the commit
    db.session.commit()
    assert ran == ["sent"]
    db.session.commit()
    assert ran == ["sent"]  # and only once


def test_a_rolled_back_change_runs_nothing(db):
    ran = []
    after_commit(ran.append, "never")
    db.session.rollback()
    db.session.commit()
    assert ran == []


def test_a_rolled_back_invitation_sends_no_mail(db, factory, mailbox, app):
    w = factory.world()
    email = "rolled-back@tests.example"
    with app.test_request_context():
        invite_and_notify(w.owner, w.account, email, "staff", client=w.client)
        db.session.rollback()
    assert db.session.scalar(select(Invitation).where(Invitation.email == email)) is None
    db.session.commit()
    assert mailbox.to(email) == []


def test_a_committed_invitation_is_mailed_after_the_commit(db, factory, mailbox, app):
    w = factory.world()
    email = "committed@tests.example"
    with app.test_request_context():
        invite_and_notify(w.owner, w.account, email, "staff", client=w.client)
        assert mailbox.to(email) == []  # not inside the transaction
        db.session.commit()
    message = mailbox.last_to(email)
    assert w.client.name in message["Subject"]
    assert len(mailbox.to(email)) == 1


def test_frozen_clock_is_timezone_aware_and_shared():
    moment = datetime(2027, 3, 31, 23, 30, tzinfo=timezone.utc)
    with clock.frozen_at(moment):
        assert clock.now() == moment
        assert clock.today() == date(2027, 3, 31)
        assert clock.today("Europe/Berlin") == date(2027, 4, 1)  # already tomorrow there
    assert clock.now().tzinfo is not None and clock.now() != moment
    with pytest.raises(ValueError):
        with clock.frozen_at(datetime(2027, 1, 1)):
            pass


def test_the_summary_reads_overdue_work_from_the_one_clock(db, factory):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        latest_due = db.session.scalar(select(Task.due_on).order_by(Task.due_on.desc()).limit(1))
        open_tasks = db.session.scalar(select(Task.id).where(Task.status.in_(("todo", "in_progress"))).limit(1))
        assert open_tasks is not None
        total_open = len(db.session.scalars(select(Task.id).where(Task.status.in_(("todo", "in_progress")))).all())
        with clock.frozen_at(datetime.combine(latest_due + timedelta(days=1), datetime.min.time(), timezone.utc)):
            ops.save(w.client)
    assert db.session.get(ClientSummary, w.client.id).overdue_tasks == total_open
    with tenants.tenant_scope(db.session, w.client.schema_name):
        ops.save(w.client)  # today: the plan starts today, nothing is late yet
    db.session.expire_all()
    assert db.session.get(ClientSummary, w.client.id).overdue_tasks == 0


def test_an_evidence_file_goes_only_when_its_removal_is_committed(db, factory, tmp_path):
    w = factory.world()
    root = str(tmp_path)
    actor = ops.Actor(None, "test")
    with tenants.tenant_scope(db.session, w.client.schema_name):
        task = db.session.scalars(select(Task).where(Task.stage == "initial_audit")).first()
        att = ops.add_attachment(task, FileStorage(io.BytesIO(b"evidence"), "minutes.txt", content_type="text/plain"),
                                 actor, root, w.client.schema_name, 10_000)
        ops.save(w.client)
        path = ops.attachment_path(db.session.get(Attachment, att.id), root, w.client.schema_name)
        assert path.exists()
        ops.delete_attachment(db.session.get(Attachment, att.id), actor, root, w.client.schema_name)
        db.session.rollback()
        assert path.exists() and db.session.get(Attachment, att.id) is not None  # nothing was removed
        ops.delete_attachment(db.session.get(Attachment, att.id), actor, root, w.client.schema_name)
        assert path.exists()  # not before the commit
        ops.save(w.client)
        assert not path.exists() and db.session.get(Attachment, att.id) is None
