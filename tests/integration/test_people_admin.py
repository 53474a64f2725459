"""Administering people through HTTP: a client's People page and the consultancy's team page — roles, removal,
revoking and resending invitations — with the mail over the real loopback SMTP server."""
from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import select

import tenants
from app import clock
from app.models import AccountMember, ActivityEntry, ClientConsultant, ClientMember, Invitation, Task
from app.workspace import operations as ops
from conftest import PASSWORD, HttpClient, Mailbox, deliver_queued_mail, free_port, make_config, unique


def _people(w):
    return f"/c/{w.client.slug}/people"


def _mailed(mailbox, email):
    """The invitation link (path) and the expiry written in the newest mail to `email`."""
    message = mailbox.last_to(email)
    body = message.get_payload(decode=True).decode()
    return mailbox.link_in(message, "/invite/"), re.search(r"until (.+ UTC):", body).group(1)


def _shown_expiry(page: str, email: str) -> str:
    row = re.search(re.escape(email) + r".*?data-expires>([^<]+)<", page, re.S)
    assert row, f"{email} is not among the pending invitations"
    return row.group(1)


def _activity(db, client) -> list[str]:
    with tenants.tenant_scope(db.session, client.schema_name):
        return list(db.session.scalars(select(ActivityEntry.summary).order_by(ActivityEntry.id)))


# --- client People: roles and removal -----------------------------------------------------------

def test_a_client_admin_changes_a_members_role_and_the_log_says_so(http, factory, db):
    w = factory.world()
    http.login(w.client_admin.email)
    resp = http.submit(f"{_people(w)}/{w.staff.id}/role", {"role": "auditor"}, form_url=_people(w))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(ClientMember, (w.client.id, w.staff.id)).role == "auditor"
    assert f"{w.staff.name}: Staff → Auditor (read-only)" in _activity(db, w.client)
    page = http.get(_people(w)).get_data(as_text=True)
    assert "is now Auditor (read-only)" in page


def test_nobody_changes_their_own_role_or_removes_themselves(http, factory, db):
    w = factory.world()
    http.login(w.client_admin.email)
    for url, data in ((f"{_people(w)}/{w.client_admin.id}/role", {"role": "staff"}),
                      (f"{_people(w)}/{w.client_admin.id}/remove", {})):
        resp = http.submit(url, data, form_url=_people(w))
        assert resp.status_code == 409 and b"yourself" in resp.data
    db.session.expire_all()
    assert db.session.get(ClientMember, (w.client.id, w.client_admin.id)).role == "client_admin"


def test_removing_a_member_unassigns_their_open_tasks_and_keeps_their_name_on_their_work(http, factory, db):
    w = factory.world()
    staff = ops.Actor.of(w.staff)
    with tenants.tenant_scope(db.session, w.client.schema_name):
        open_task, done_task = db.session.scalars(select(Task).where(Task.stage == "initial_audit")
                                                  .order_by(Task.position).limit(2)).all()
        ops.assign_task(open_task, w.staff, staff)
        ops.assign_task(done_task, w.staff, staff)
        ops.set_task_status(done_task, "done", None, staff)
        ops.add_comment(open_task, "The org chart is in the shared drive.", staff)
        ids, open_title = (open_task.id, done_task.id), open_task.title
        ops.save(w.client)

    http.login(w.consultant.email)
    confirm = http.get(f"{_people(w)}/{w.staff.id}/remove").get_data(as_text=True)
    assert "1 open task assigned to them will become unassigned" in confirm and open_title in confirm
    assert "keeps their name" in confirm
    resp = http.submit(f"{_people(w)}/{w.staff.id}/remove", {})
    assert resp.status_code == 302
    assert "1 open task now unassigned" in http.get(_people(w)).get_data(as_text=True)

    db.session.expire_all()
    assert db.session.get(ClientMember, (w.client.id, w.staff.id)) is None
    with tenants.tenant_scope(db.session, w.client.schema_name):
        assert db.session.get(Task, ids[0]).assignee_id is None  # open: nobody waits on someone gone
        assert db.session.get(Task, ids[1]).assignee_id == w.staff.id  # finished work stays theirs
    # History still shows their name: the task's comment, the activity log.
    task_page = http.get(f"/c/{w.client.slug}/tasks/{ids[0]}").get_data(as_text=True)
    assert w.staff.name in task_page and "The org chart is in the shared drive." in task_page
    activity = http.get(f"/c/{w.client.slug}/activity").get_data(as_text=True)
    assert activity.count(w.staff.name) >= 3 and "no longer has access" in activity
    http.logout()
    http.login(w.staff.email)
    assert http.get(f"/c/{w.client.slug}/").status_code == 404


def test_bad_input_to_the_people_forms_is_refused_clearly(http, factory, db):
    w = factory.world()
    other = factory.world()
    http.login(w.owner.email)
    resp = http.submit(f"{_people(w)}/{w.staff.id}/role", {"role": "owner"}, form_url=_people(w))
    assert resp.status_code == 422 and b"Choose one of the roles" in resp.data
    resp = http.submit(f"{_people(w)}/{w.staff.id}/role", {"role": "staff\x00"}, form_url=_people(w))
    assert resp.status_code == 422 and b"NUL" in resp.data
    # Someone of another client, by id: the same 404 as nobody at all.
    for url in (f"{_people(w)}/{other.staff.id}/role", f"{_people(w)}/{other.staff.id}/remove",
                f"{_people(w)}/99999999/remove"):
        assert http.submit(url, {"role": "auditor"}, form_url=_people(w)).status_code == 404
    assert http.get(f"{_people(w)}/{other.staff.id}/remove").status_code == 404
    db.session.expire_all()
    assert db.session.get(ClientMember, (w.client.id, w.staff.id)).role == "staff"
    assert db.session.get(ClientMember, (other.client.id, other.staff.id)).role == "staff"


# --- invitations --------------------------------------------------------------------------------

def test_inviting_an_address_again_renews_its_pending_invitation_instead_of_adding_one(http, factory, db, mailbox):
    w = factory.world()
    http.login(w.client_admin.email)
    email = f"{unique('twice')}@client.example"
    assert http.submit(_people(w), {"email": email, "role": "staff"}).status_code == 302
    first, _ = _mailed(mailbox, email)
    resp = http.submit(_people(w), {"email": email.upper(), "role": "auditor"})
    assert resp.status_code == 302
    assert "already had an invitation waiting" in http.get(_people(w)).get_data(as_text=True)
    rows = db.session.scalars(select(Invitation).where(Invitation.email == email)).all()
    assert len(rows) == 1 and rows[0].role == "auditor"
    assert len(mailbox.to(email)) == 2
    second, _ = _mailed(mailbox, email)
    http.logout()
    assert http.get(first).status_code == 404 and http.get(second).status_code == 200


def test_a_revoked_invitations_link_is_dead(http, factory, db, mailbox):
    w = factory.world()
    http.login(w.consultant.email)
    email = f"{unique('revoked')}@client.example"
    http.submit(_people(w), {"email": email, "role": "staff"})
    link, _ = _mailed(mailbox, email)
    inv_id = db.session.scalar(select(Invitation.id).where(Invitation.email == email))
    resp = http.submit(f"{_people(w)}/invitations/{inv_id}/revoke", {}, form_url=_people(w))
    assert resp.status_code == 302
    page = http.get(_people(w)).get_data(as_text=True)
    assert "is revoked" in page and f'id="invitation-{inv_id}"' not in page
    assert f"Invitation of {email} (Staff) revoked" in _activity(db, w.client)
    http.logout()
    resp = http.get(link)
    assert resp.status_code == 404 and b"not valid" in resp.data


def test_resending_kills_the_old_link_and_mails_the_expiry_the_page_shows(http, factory, db, mailbox):
    w = factory.world()
    http.login(w.owner.email)
    email = f"{unique('resent')}@client.example"
    http.submit(_people(w), {"email": email, "role": "staff"})
    old_link, old_expiry = _mailed(mailbox, email)
    assert _shown_expiry(http.get(_people(w)).get_data(as_text=True), email) == old_expiry
    inv = db.session.scalar(select(Invitation).where(Invitation.email == email))
    inv.expires_at = clock.now() - timedelta(hours=1)  # it lapsed: shown as expired, with Resend
    db.session.commit()
    page = http.get(_people(w)).get_data(as_text=True)
    assert re.search(r'id="invitation-%d".*?Expired.*?Resend' % inv.id, page, re.S)

    with clock.frozen_at(clock.now() + timedelta(days=1)):  # a day later: a new expiry, a day later too
        resp = http.submit(f"{_people(w)}/invitations/{inv.id}/resend", {}, form_url=_people(w))
    assert resp.status_code == 302
    assert len(mailbox.to(email)) == 2
    new_link, new_expiry = _mailed(mailbox, email)
    page = http.get(_people(w)).get_data(as_text=True)
    assert _shown_expiry(page, email) == new_expiry != old_expiry
    assert "Expired" not in page
    db.session.expire_all()
    assert db.session.get(Invitation, inv.id).expires_at > clock.now() + timedelta(days=6)
    http.logout()
    assert http.get(old_link).status_code == 404 and http.get(new_link).status_code == 200


def test_an_accepted_invitation_is_no_longer_pending(http, factory, mailbox):
    w = factory.world()
    http.login(w.client_admin.email)
    email = f"{unique('accepts')}@client.example"
    http.submit(_people(w), {"email": email, "role": "staff"})
    link, _ = _mailed(mailbox, email)
    assert "Pending invitations" in http.get(_people(w)).get_data(as_text=True)
    http.logout()
    resp = http.submit(link, {"name": "Ada Accepted", "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status_code == 302
    http.logout()
    http.login(w.client_admin.email)
    page = http.get(_people(w)).get_data(as_text=True)
    assert "Pending invitations" not in page and "Ada Accepted" in page


# --- the team ----------------------------------------------------------------------------------

def test_the_last_owner_can_be_neither_demoted_nor_removed(http, factory, db):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.submit(f"/team/{w.owner.id}/role", {"role": "consultant"}, form_url="/team")
    assert resp.status_code == 409 and b"the only owner" in resp.data
    resp = http.submit(f"/team/{w.owner.id}/remove", {}, form_url="/team")
    assert resp.status_code == 409 and b"remove yourself" in resp.data
    # With a second owner, the first may step down; the second is then the last.
    assert http.submit(f"/team/{w.consultant.id}/role", {"role": "owner"}, form_url="/team").status_code == 302
    assert http.submit(f"/team/{w.owner.id}/role", {"role": "consultant"}, form_url="/team").status_code == 302
    http.logout()
    http.login(w.consultant.email)
    resp = http.submit(f"/team/{w.consultant.id}/role", {"role": "consultant"}, form_url="/team")
    assert resp.status_code == 409 and b"Make someone else an owner first" in resp.data
    db.session.expire_all()
    assert db.session.get(AccountMember, (w.account.id, w.consultant.id)).role == "owner"
    assert db.session.get(AccountMember, (w.account.id, w.owner.id)).role == "consultant"


def _consultants(db, client) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(ClientConsultant.user_id).where(ClientConsultant.client_id == client.id)))


def test_removing_a_consultant_hands_each_of_their_clients_over_first(http, factory, db):
    w = factory.world()
    outsider = factory.world()
    second = factory.client(w.account, [w.consultant, w.owner])
    http.login(w.owner.email)
    form = http.get(f"/team/{w.consultant.id}/remove").get_data(as_text=True)
    assert w.client.name in form and second.name in form and "always keeps a consultant" in form

    url = f"/team/{w.consultant.id}/remove"
    for data in ({}, {f"takeover-{w.client.id}": str(w.other_consultant.id)},  # one of the two left open
                 {"takeover_all": str(outsider.consultant.id)}, {"takeover_all": str(w.consultant.id)},
                 {"takeover_all": "not-a-number"}):
        resp = http.submit(url, data, form_url="/team")
        assert resp.status_code == 422, data
        assert db.session.get(AccountMember, (w.account.id, w.consultant.id)) is not None
    assert b"Choose who takes over" in http.submit(url, {}, form_url="/team").data

    resp = http.submit(url, {"takeover_all": str(w.other_consultant.id), f"takeover-{second.id}": str(w.owner.id)},
                       form_url="/team")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(AccountMember, (w.account.id, w.consultant.id)) is None
    assert _consultants(db, w.client) == {w.other_consultant.id}
    assert _consultants(db, second) == {w.owner.id}  # already there: no second row
    assert f"{w.other_consultant.name} takes over from {w.consultant.name}, who left the consultancy" in \
        _activity(db, w.client)
    http.logout()
    http.login(w.consultant.email)
    assert http.get(f"/c/{w.client.slug}/").status_code == 404
    assert http.get("/team").status_code == 404


def test_team_invitations_are_revoked_and_resent(http, factory, db, mailbox):
    w = factory.world()
    http.login(w.owner.email)
    email = f"{unique('joiner')}@consult.example"
    http.submit("/team", {"email": email, "role": "consultant"})
    first, expiry = _mailed(mailbox, email)
    assert _shown_expiry(http.get("/team").get_data(as_text=True), email) == expiry
    inv_id = db.session.scalar(select(Invitation.id).where(Invitation.email == email))
    assert http.submit(f"/team/invitations/{inv_id}/resend", {}, form_url="/team").status_code == 302
    second, expiry = _mailed(mailbox, email)
    assert second != first and _shown_expiry(http.get("/team").get_data(as_text=True), email) == expiry
    assert http.submit(f"/team/invitations/{inv_id}/revoke", {}, form_url="/team").status_code == 302
    assert db.session.get(Invitation, inv_id) is None
    http.logout()
    assert http.get(first).status_code == 404 and http.get(second).status_code == 404


def test_team_role_bad_input(http, factory, db):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.submit(f"/team/{w.consultant.id}/role", {"role": "client_admin"}, form_url="/team")
    assert resp.status_code == 422 and b"Choose one of the roles" in resp.data
    resp = http.submit(f"/team/{w.consultant.id}/role", {"role": "own\x00er"}, form_url="/team")
    assert resp.status_code == 422 and b"NUL" in resp.data
    assert db.session.get(AccountMember, (w.account.id, w.consultant.id)).role == "consultant"


def test_team_routes_of_another_consultancy_are_404_for_everyone_outside_it(http, factory, db):
    w = factory.world()
    other = factory.world()
    inv_id = _team_invitation(db, w)
    routes = [("POST", f"/team/{w.consultant.id}/role", {"role": "owner"}),
              ("GET", f"/team/{w.consultant.id}/remove", None),
              ("POST", f"/team/{w.consultant.id}/remove", {"takeover_all": str(w.other_consultant.id)}),
              ("POST", f"/team/invitations/{inv_id}/resend", {}),
              ("POST", f"/team/invitations/{inv_id}/revoke", {})]
    for who in (other.owner, other.consultant, w.staff, w.client_admin):
        http.login(who.email)
        for method, url, data in routes:
            resp = http.get(url) if method == "GET" else http.submit(url, data, form_url="/")
            assert resp.status_code == 404, f"{who.email}: {method} {url} -> {resp.status_code}"
            assert w.consultant.email not in resp.get_data(as_text=True)
        http.logout()
    # The consultancy's own consultant sees the team but changes nothing in it.
    http.login(w.consultant.email)
    for method, url, data in routes:
        resp = http.get(url) if method == "GET" else http.submit(url, data, form_url="/")
        assert resp.status_code == 403, f"consultant: {method} {url} -> {resp.status_code}"
    db.session.expire_all()
    assert db.session.get(AccountMember, (w.account.id, w.consultant.id)).role == "consultant"
    assert db.session.get(Invitation, inv_id) is not None


def _team_invitation(db, w) -> int:
    from flask import current_app

    from app.accounts import invite

    with current_app.test_request_context():
        issued = invite(w.owner, w.account, f"{unique('pending')}@consult.example", "consultant")
        db.session.commit()
        return issued.invitation.id


# --- mail leaves after the commit, from the worker ------------------------------------------------

@pytest.fixture()
def slow_smtp():
    """A loopback SMTP server that takes SLOW seconds to accept each mail."""
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(SLOW)
            box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, box
    finally:
        controller.stop()


SLOW = 3.0


def test_a_slow_mail_server_does_not_hold_up_the_page(app, service_urls, slow_smtp, factory, db):
    from app import create_app
    from app.mail import mail_queue

    port, box = slow_smtp
    deliver_queued_mail(app)  # what earlier tests queued goes to the usual server, not this slow one
    slow_app = create_app(make_config(service_urls, port))
    w = factory.world()
    http = HttpClient(slow_app.test_client())
    http.login(w.client_admin.email)
    token = http.csrf(_people(w))
    email = f"{unique('patient')}@client.example"
    started = time.monotonic()
    resp = http.client.post(_people(w), data={"email": email, "role": "staff", "csrf_token": token})
    answered = time.monotonic() - started
    assert resp.status_code == 302 and answered < SLOW - 1, f"the page took {answered:.1f} s"
    # Committed before any mail left: another connection sees the invitation while the mail still waits.
    assert db.session.scalar(select(Invitation.id).where(Invitation.email == email)) is not None
    assert box.messages == []
    with slow_app.app_context():
        assert [job.args[0] for job in mail_queue().jobs] == [email]
    started = time.monotonic()
    deliver_queued_mail(slow_app)  # the worker's part
    assert time.monotonic() - started >= SLOW - 0.5
    assert [m["To"] for m in box.messages] == [email]
