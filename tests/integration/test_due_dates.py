"""Every source of due dates (workflows/due_dates.py) in "My work" and the reminder sweep: each item is a row for
exactly the people its source names, gone in the commit that finishes it; each due-soon and overdue message is
sent once, to the right page, unless its person turned it off; nobody of another client or consultancy sees it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, select

import tenants
from app import clock
from app.models import (ClientMember, ClientSummary, CorrectiveAction, Document, ExternalAudit, Finding, InternalAudit,
                        ManagementReview, NotificationPreference, RemindersSent, User, WorkItem)
from app.notify.sweep import sweep_reminders
from app.workspace import operations as ops
from workflows import due_dates
from workflows import reminders as rules
from test_my_work import index, listed, nav_count
from test_notifications import parts, subject

WED = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)  # a Wednesday
TODAY = WED.date()
SETUP = ops.Actor(None, "setup")
NEW_KINDS = ("document_review", "record_due", "effectiveness_check", "internal_audit", "management_review", "external_audit",
             "cb_response", "stage_2_repeat")


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def due_rows(db, client) -> set[tuple]:
    """(kind, ref_id, user_id) of the client's rows of the new sources (the setup's own tasks left out)."""
    return {r for r in index(db, client) if r[0] in NEW_KINDS}


def seed(db, w, top):
    """One item of every source, at WED; returns their ids."""
    ids = {}
    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        docs = db.session.scalars(select(Document).where(Document.kind == "document").order_by(Document.id)
                                  .limit(3)).all()
        docs[0].review_due_on, docs[0].owner_id = day(7), w.staff.id  # the owner reviews it
        docs[1].review_due_on, docs[1].owner_id = day(-3), None  # nobody owns it: the consultants see it
        docs[2].review_due_on = day(90)  # beyond the horizon: not work yet
        ids["doc_owned"], ids["doc_unowned"], ids["doc_later"] = docs[0].id, docs[1].id, docs[2].id
        # The body's minor from a stage 2 held 25 days ago: 30 days to answer, 5 left.
        with clock.frozen_at(WED - timedelta(days=25)):
            ops.save_audit("stage_2", ops.AuditForm(held_on=day(-25).isoformat(), result="minor"), SETUP)
            cb = ops.raise_finding("certification_audit", "", "Trends not analysed", "9.1.3", "", SETUP,
                                   source="cb_stage_2", kind="system_nonconformity", grade="minor")
        internal = ops.raise_finding("implementation", "", "Calibration records missing", "7.1.5", "", SETUP,
                                     source="internal_audit", kind="system_nonconformity", grade="minor")
        staff, consultant = db.session.get(User, w.staff.id), db.session.get(User, w.consultant.id)
        # Each action is a task too, due beyond the reminders' reach here (its own ladder is the task's).
        by_staff = ops.add_action(internal, "Recalibrate the gauges", staff, day(20).isoformat(), SETUP)
        by_consultant = ops.add_action(internal, "Retrain the team", consultant, day(20).isoformat(), SETUP)
        by_staff.verify_on = by_consultant.verify_on = day(1)
        db.session.add(InternalAudit(reference="IA-901", title="Purchasing", planned_on=day(-15),
                                     auditor_id=w.auditor.id, auditor_name="Auditor", created_by_name="setup"))
        db.session.add(ManagementReview(status="closed", opened_on=day(-300), opened_by_name="x", participants=[],
                                        data_cutoff_on=day(-300), inputs_complete=True, closed_on=day(-300),
                                        next_review_on=day(7)))
        db.session.add(ExternalAudit(kind="surveillance_1", planned_on=day(0)))
        db.session.flush()
        ids.update(cb=cb.id, finding=internal.id, check_staff=by_staff.id, check_consultant=by_consultant.id,
                   audit=db.session.scalar(select(InternalAudit.id).where(InternalAudit.reference == "IA-901")),
                   review=db.session.scalar(select(ManagementReview.id)),
                   surveillance=db.session.scalar(select(ExternalAudit.id).where(ExternalAudit.kind == "surveillance_1")))
        ops.save(w.client)
    return ids


def world_with_top(factory):
    w = factory.world()
    return w, factory.member(w.client, "top_management")


def expected_rows(w, top, ids) -> set[tuple]:
    consultant, admin = w.consultant.id, w.client_admin.id
    return {
        ("document_review", ids["doc_owned"], w.staff.id),
        ("document_review", ids["doc_unowned"], consultant),
        # The consultant owns one action: its effectiveness is checked by someone else (nobody else here).
        ("effectiveness_check", ids["check_staff"], consultant),
        ("internal_audit", ids["audit"], w.auditor.id),
        ("management_review", ids["review"], top.id), ("management_review", ids["review"], consultant),
        ("external_audit", ids["surveillance"], consultant), ("external_audit", ids["surveillance"], admin),
        ("cb_response", ids["cb"], consultant), ("cb_response", ids["cb"], admin),
    }


def test_each_source_is_a_row_for_its_people_and_gone_in_the_commit_that_finishes_it(factory, db):
    w, top = world_with_top(factory)
    ids = seed(db, w, top)
    assert due_rows(db, w.client) == expected_rows(w, top, ids)
    # Past their date at WED: the unowned document's review (3 days) and the internal audit (15 days), each once
    # however many people it waits for; the portfolio counts them as overdue work.
    assert db.session.get(ClientSummary, w.client.id).overdue_items == 2
    db.session.rollback()
    rows = {(r.kind, r.ref_id): r for r in db.session.scalars(select(WorkItem).where(WorkItem.client_id == w.client.id))}
    assert rows[("cb_response", ids["cb"])].due_on == day(5)
    assert rows[("effectiveness_check", ids["check_staff"])].parent_id == ids["finding"]
    assert rows[("internal_audit", ids["audit"])].title == "IA-901 Purchasing"
    assert rows[("external_audit", ids["surveillance"])].title == "Surveillance audit 1"

    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        db.session.get(Document, ids["doc_owned"]).review_due_on = day(365)  # reviewed: next due in a year
        audit = db.session.get(InternalAudit, ids["audit"])
        audit.status, audit.completed_on = "completed", day(0)
        db.session.get(ExternalAudit, ids["surveillance"]).held_on = day(0)
        ops.save_cb_response(db.session.get(Finding, ids["cb"]), "BSI-1", day(0).isoformat(), "", "", SETUP)
        finding, action = db.session.get(Finding, ids["finding"]), db.session.get(CorrectiveAction, ids["check_staff"])
        ops.complete_action(finding, action, SETUP)
        ops.verify_action(finding, action, day(1).isoformat(), "Sample of 10 gauges", "All in tolerance", "effective",
                          "All fine",
                          ops.Actor(w.consultant.id, "Consultant"))
        ops.save(w.client)
    assert due_rows(db, w.client) == {("document_review", ids["doc_unowned"], w.consultant.id),
                                      ("management_review", ids["review"], top.id),
                                      ("management_review", ids["review"], w.consultant.id)}
    summary = db.session.get(ClientSummary, w.client.id)
    db.session.refresh(summary)
    assert summary.overdue_items == 1  # the audit held; the unowned review still three days late

    # A new review opened: the next one is being held, open for input (waiting, no due date).
    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        review = ManagementReview(status="open", opened_on=day(0), opened_by_name="x", participants=[],
                                  data_cutoff_on=day(0))
        db.session.add(review)
        db.session.flush()
        opened = review.id
        ops.save(w.client)
    assert due_rows(db, w.client) == {("document_review", ids["doc_unowned"], w.consultant.id),
                                      ("management_review", opened, top.id),
                                      ("management_review", opened, w.consultant.id)}
    row = db.session.scalar(select(WorkItem).where(WorkItem.kind == "management_review", WorkItem.user_id == top.id))
    assert row.due_on is None and row.waiting_since == datetime(2026, 12, 9, tzinfo=timezone.utc)


def test_who_left_the_client_is_not_named_and_a_closed_findings_check_waits_for_nobody(factory, db):
    w, top = world_with_top(factory)
    ids = seed(db, w, top)
    for person in (w.staff, w.auditor):  # the document's owner and the audit's auditor leave the client
        db.session.execute(delete(ClientMember).where(ClientMember.client_id == w.client.id,
                                                      ClientMember.user_id == person.id))
    db.session.commit()
    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        finding = db.session.get(Finding, ids["finding"])
        finding.status, finding.closing_note = "closed", "Superseded by the new calibration procedure"
        ops.save(w.client)
    rows = due_rows(db, w.client)
    assert ("document_review", ids["doc_owned"], w.consultant.id) in rows
    assert ("internal_audit", ids["audit"], w.consultant.id) in rows
    assert {r for r in rows if r[2] in (w.staff.id, w.auditor.id) or r[0] == "effectiveness_check"} == set()


def test_the_next_review_task_reminds_its_assignee_once_not_twice(factory, db):
    w, top = world_with_top(factory)
    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        review = ops.open_review(day(0).isoformat(), "async", "", [db.session.get(User, top.id)], SETUP)
        for state in ops.input_states(review):
            ops.save_input(review, state.key, "", True, SETUP)
        ops.close_review(review, "The system is effective.", day(30).isoformat(), "top_management",
                         ops.Actor(top.id, "Director"))
        ops.save(w.client)
        rid = review.id
    rows = index(db, w.client)
    assert {r for r in rows if r[0] == "management_review"} == {("management_review", rid, w.consultant.id)}
    assert any(r[0] == "task" and r[2] == top.id for r in rows)  # "Hold the next management review", a task


SWEPT = [k.key for k in due_dates.MESSAGE_KINDS if not k.key.startswith("task_")]  # the setup's events left out


def keys_of(db, client_id) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(RemindersSent.key).where(RemindersSent.client_id == client_id,
                                                                  RemindersSent.kind.in_(SWEPT))))


def test_the_sweep_sends_each_due_soon_and_overdue_message_once_to_its_page(factory, db, mailbox, app, http):
    w, top = world_with_top(factory)
    ids = seed(db, w, top)
    # The client admin turns one of the new kinds off on the preferences page, which offers every one of them.
    http.login(w.client_admin.email)
    page = http.get("/settings/notifications").get_data(as_text=True)
    assert all(k.label in page for k in due_dates.MESSAGE_KINDS)
    base = {k.key: "immediately" for k in rules.PREFERENCE_KINDS}
    assert http.submit("/settings/notifications", {**base, "external_audit_due": "off", "time_zone": ""}).status_code == 303
    http.logout()
    db.session.rollback()
    assert db.session.get(NotificationPreference, (w.client_admin.id, "external_audit_due")).delivery == "off"
    mailbox.deliver()
    mailbox.messages.clear()
    c, consultant, admin = w.client.id, w.consultant.id, w.client_admin.id
    with clock.frozen_at(WED):
        result = sweep_reminders()
    expected = {
        f"document_review_due:c{c}/document_review/{ids['doc_owned']}:d7:{w.staff.id}",
        f"document_review_overdue:c{c}/document_review/{ids['doc_unowned']}:o1:{consultant}",
        f"effectiveness_check_due:c{c}/effectiveness_check/{ids['check_staff']}:d1:{consultant}",
        # 15 days overdue: weekly overdue, but only tasks escalate to the client admins.
        f"internal_audit_overdue:c{c}/internal_audit/{ids['audit']}:o3:{w.auditor.id}",
        f"management_review_due:c{c}/management_review/{ids['review']}:d7:{top.id}",
        f"management_review_due:c{c}/management_review/{ids['review']}:d7:{consultant}",
        f"external_audit_due:c{c}/external_audit/{ids['surveillance']}:d1:{consultant}",  # the admin said off
        f"cb_response_due:c{c}/cb_response/{ids['cb']}:d7:{consultant}",
        f"cb_response_due:c{c}/cb_response/{ids['cb']}:d7:{admin}",
    }
    # The admin's surveillance reminder is left out by their preference (the sweep's count of skipped messages
    # spans every client in the database, so this client's keys say it).
    assert keys_of(db, c) == expected and result["skipped_by_preference"] >= 1
    with clock.frozen_at(WED):
        mailbox.deliver()
    slug = w.client.slug
    [review_mail] = mailbox.to(w.staff.email)
    assert subject(review_mail).endswith("” is due for review in 7 days")
    assert f"/c/{slug}/documents/{ids['doc_owned']}" in parts(review_mail)[0]
    [audit_mail] = mailbox.to(w.auditor.email)
    assert subject(audit_mail) == f"{w.client.name}: internal audit “IA-901 Purchasing” is overdue"
    assert f"/c/{slug}/audits/{ids['audit']}" in parts(audit_mail)[0]
    [top_mail] = mailbox.to(top.email)
    assert subject(top_mail) == f"{w.client.name}: the management review is due in 7 days"
    assert f"/c/{slug}/management-reviews/{ids['review']}" in parts(top_mail)[0]
    [admin_mail] = mailbox.to(w.client_admin.email)
    assert subject(admin_mail).startswith(f"{w.client.name}: response to the certification body due in 5 days")
    assert f"/c/{slug}/findings/{ids['cb']}" in parts(admin_mail)[0]
    consultant_mail = {subject(m): parts(m)[0] for m in mailbox.to(w.consultant.email)}
    # The morning brief counts their overdue document review with the client's other reasons.
    brief = consultant_mail.pop("Your morning brief: 1 clients need you")
    assert "1 other deadline overdue" in brief
    assert len(consultant_mail) == 5
    check = next(text for s, text in consultant_mail.items() if "effectiveness check due tomorrow" in s)
    assert f"/c/{slug}/findings/{ids['finding']}#action-{ids['check_staff']}" in check
    surveillance = consultant_mail[f"{w.client.name}: Surveillance audit 1 is today"]
    assert f"/c/{slug}/certification#calendar" in surveillance

    with clock.frozen_at(WED + timedelta(hours=1)):  # the second sweep: nothing new
        again = sweep_reminders()
        mailbox.deliver()
    assert keys_of(db, c) == expected and again["claimed"] == 0
    assert len(mailbox.to(w.consultant.email)) == 6 and len(mailbox.to(w.client_admin.email)) == 1


def test_my_work_lists_each_source_in_its_group_for_its_people_only(factory, db, http):
    w, top = world_with_top(factory)
    ids = seed(db, w, top)
    slug = w.client.slug
    stranger_firm = factory.world()  # another consultancy, its own client
    other_client = factory.client(w.account, [w.consultant])
    outsider = factory.member(other_client, "client_admin")

    http.login(w.consultant.email)
    with clock.frozen_at(WED):
        mine = listed(http)
        body = http.get("/my-work").get_data(as_text=True)
        count = nav_count(http)
    assert {(k, ref) for k, s, ref in mine if k in NEW_KINDS and s == slug} == \
        {(k, ref) for k, ref, uid in expected_rows(w, top, ids) if uid == w.consultant.id}
    assert count == len(mine)
    for kind, label in (("document_review", "Document reviews"), ("effectiveness_check", "Effectiveness checks"),
                        ("management_review", "Management reviews"), ("external_audit", "Certification audits"),
                        ("cb_response", "Certification body deadlines")):
        assert f'id="{kind}-title">{label}' in body
    assert f'href="/c/{slug}/findings/{ids["finding"]}#action-{ids["check_staff"]}"' in body
    assert f'href="/c/{slug}/certification#calendar"' in body
    assert f'href="/c/{slug}/documents/{ids["doc_unowned"]}"' in body
    http.logout()

    http.login(w.auditor.email)
    assert {(k, ref) for k, s, ref in listed(http) if k in NEW_KINDS} == {("internal_audit", ids["audit"])}
    assert f'href="/c/{slug}/audits/{ids["audit"]}"' in http.get("/my-work").get_data(as_text=True)
    http.logout()

    # Nobody of another client, another consultancy or unassigned sees any of them.
    for person in (outsider, stranger_firm.consultant, stranger_firm.client_admin, w.other_consultant):
        http.login(person.email)
        assert {row for row in listed(http) if row[1] == slug} == set()
        http.logout()


def test_the_weekly_digest_names_the_other_deadlines_of_the_client(factory, db, mailbox, app):
    w, top = world_with_top(factory)
    ids = seed(db, w, top)
    mailbox.deliver()
    mailbox.messages.clear()
    monday = WED + timedelta(days=5)  # 14 December, 10:00 UTC: the client admin's weekly digest is due
    with clock.frozen_at(monday):
        sweep_reminders()
        mailbox.deliver()
    [digest] = [m for m in mailbox.to(w.client_admin.email) if subject(m).endswith("your week in ISOpath")]
    plain = parts(digest)[0]
    assert "4 other deadlines overdue" in plain
    for title in ("IA-901 Purchasing (due 24 Nov)", "Surveillance audit 1 (due 9 Dec)",
                  f"Action #{ids['check_staff']} on finding #{ids['finding']}: Recalibrate the gauges (due 10 Dec)"):
        assert title in plain
    assert "3 items due this week" in plain and "Hold the next management review (due 16 Dec)" in plain
    assert f"Finding #{ids['cb']}: Trends not analysed (due 14 Dec)" in plain


def test_the_day_the_body_repeats_stage_2_is_a_deadline_until_its_majors_are_verified(factory, db):
    w = factory.world()
    held = date(2026, 7, 20)  # six months on (the default rule): 20 Jan 2027, 42 days after WED
    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        with clock.frozen_at(datetime(2026, 7, 20, 9, 0, tzinfo=timezone.utc)):
            ops.save_audit("stage_2", ops.AuditForm(held_on=held.isoformat(), result="major"), SETUP)
            major = ops.raise_finding("certification_audit", "", "No internal audit of sales", "9.2", "", SETUP,
                                      source="cb_stage_2", kind="system_nonconformity", grade="major")
        ops.save(w.client)
        major_id = major.id
        stage_2 = db.session.scalar(select(ExternalAudit.id).where(ExternalAudit.kind == "stage_2"))
    db.session.rollback()
    rows = db.session.scalars(select(WorkItem).where(WorkItem.client_id == w.client.id,
                                                     WorkItem.kind == "stage_2_repeat")).all()
    assert {(r.ref_id, r.user_id, r.due_on, r.title) for r in rows} == {
        (stage_2, uid, date(2027, 1, 20), "1 stage 2 major to be verified by the body")
        for uid in (w.consultant.id, w.client_admin.id)}

    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        ops.save_cb_response(db.session.get(Finding, major_id), "BSI-9", day(-2).isoformat(), day(-1).isoformat(),
                             "follow_up_visit", SETUP)
        ops.save(w.client)
    assert not {r for r in index(db, w.client) if r[0] == "stage_2_repeat"}


def test_a_record_kept_monthly_is_due_each_month_for_its_owner_set_through_the_register(factory, db, http):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        doc = db.session.scalars(select(Document).where(Document.kind == "record").order_by(Document.id)).first()
        doc_id, entry = doc.id, {"identifier": doc.identifier or "", "title": doc.title, "kind": "record",
                                 "owner_id": str(w.staff.id), "approver_role": doc.approver_role,
                                 "origin": doc.origin, "retention": "6 years"}
    db.session.rollback()
    page_url, register = f"/c/{w.client.slug}/documents/{doc_id}", f"/c/{w.client.slug}/documents/{doc_id}/register"
    http.login(w.consultant.email)
    with clock.frozen_at(WED):
        # A rhythm not in the list, or on a document: refused with the reason, what was typed kept.
        refused = http.submit(register, {**entry, "record_frequency": "weekly", "retention": "7 years"},
                              form_url=page_url)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "Choose how often the record is kept from the list." in body
        assert 'value="7 years"' in body
        assert index(db, w.client) & {("record_due", doc_id, w.staff.id)} == set()

        assert http.submit(register, {**entry, "record_frequency": "monthly"}, form_url=page_url).status_code == 303
        page = http.get(page_url).get_data(as_text=True)
        assert "Every month: the next instance is due by 31 Dec 2026." in page
    db.session.rollback()
    row = db.session.get(WorkItem, (w.client.id, "record_due", doc_id, w.staff.id))
    assert (row.due_on, row.title) == (date(2026, 12, 31), entry["title"])
    assert {r for r in index(db, w.client) if r[0] == "record_due"} == {("record_due", doc_id, w.staff.id)}

    # December's instance added: January's is next.
    with clock.frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        ops.add_record_entry(db.session.get(Document, doc_id), date(2026, 12, 8), "December's report", SETUP)
        ops.save(w.client)
    db.session.rollback()
    assert db.session.get(WorkItem, (w.client.id, "record_due", doc_id, w.staff.id)).due_on == date(2027, 1, 31)

    # No set rhythm any more: nothing is due.
    with clock.frozen_at(WED):
        assert http.submit(register, {**entry, "record_frequency": ""}, form_url=page_url).status_code == 303
    assert {r for r in index(db, w.client) if r[0] == "record_due"} == set()


def test_the_overview_lists_late_dated_work_once_each_with_its_page_and_only_its_own(factory, db, http):
    import re

    w, top = world_with_top(factory)
    ids = seed(db, w, top)
    other = factory.world()
    seed(db, other, factory.member(other.client, "top_management"))  # late work of another client, not shown
    with tenants.tenant_scope(db.session, w.client.schema_name):
        title = db.session.get(Document, ids["doc_unowned"]).title
    slug = w.client.slug
    http.login(w.consultant.email)
    with clock.frozen_at(WED):
        page = http.get(f"/c/{slug}/").get_data(as_text=True)
    section = re.search(r'<ul class="plain feed" id="overdue-work">(.*?)</ul>', page, re.S).group(1)
    late = [row for row in re.findall(r'<li data-kind="([a-z_0-9]+)"><a href="([^"]+)">([^<]+)</a>\s*'
                                      r'<div class="small"><span class="badge bad">due ([^<]+)</span> '
                                      r'<span class="muted">([^<]+)</span>', section) if row[0] != "task"]
    # Longest late first; the review waits for two consultants' lists but is listed once.
    assert late == [("internal_audit", f"/c/{slug}/audits/{ids['audit']}", "IA-901 Purchasing",
                     day(-15).strftime("%d %b %Y"), "Internal audit · Internal audit"),
                    ("document_review", f"/c/{slug}/documents/{ids['doc_unowned']}", title,
                     day(-3).strftime("%d %b %Y"), f"Document review · {stage_label_of(db, w, ids['doc_unowned'])}")]
    with clock.frozen_at(WED + timedelta(days=30)):  # a month on: the rest has fallen due too
        kinds = [k for k in re.findall(r'<li data-kind="([a-z_0-9]+)">', http.get(f"/c/{slug}/").get_data(as_text=True))
                 if k != "task"]
    # By date (the list keeps the eight longest late, tasks among them): the audit, the unowned review, the
    # surveillance audit, the effectiveness check, the body's deadline, then the owned review and the next
    # management review a week after WED.
    order = ["internal_audit", "document_review", "external_audit", "effectiveness_check", "cb_response"]
    assert len(kinds) >= 3 and kinds == order[:len(kinds)], kinds


def stage_label_of(db, w, doc_id) -> str:
    from workflows.stages import stage_label

    with tenants.tenant_scope(db.session, w.client.schema_name):
        return stage_label(db.session.get(Document, doc_id).stage)
