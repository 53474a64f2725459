"""The table of due-date sources: one entry each, keys that fit, wording that formats, steps mapped to kinds."""
from datetime import date, timedelta

from app.models import WORK_KINDS, WorkItem
from workflows import digests
from workflows import due_dates as dd
from workflows import reminders as r

FIELDS = dict(client="Acme", title="Stage 2 audit", when="in 7 days", days=3)
WED = date(2026, 12, 9)


def test_one_entry_per_source_each_a_work_item_kind_that_fits():
    kinds = [s.item_kind for s in dd.SOURCES]
    assert kinds == ["task", "document_review", "record_due", "effectiveness_check", "internal_audit",
                     "management_review", "external_audit", "cb_response", "stage_2_repeat"]
    assert all(len(k) <= dd.ITEM_KIND_MAX == WorkItem.__table__.c.kind.type.length for k in kinds)
    # The model's kinds (and its check constraint) are the approvals plus every source, nothing else.
    assert WORK_KINDS == ("gate_review", "document_approval", *kinds)
    constraint = next(c for c in WorkItem.__table__.constraints if c.name and c.name.endswith("kind_valid"))
    assert sorted(k.strip(" '") for k in str(constraint.sqltext).split("(")[1].rstrip(")").split(",")) == \
        sorted(WORK_KINDS)


def test_each_source_has_a_due_and_an_overdue_kind_among_the_reminder_kinds():
    assert [k.key for k in dd.MESSAGE_KINDS] == [f"{s.item_kind}_{w}" for s in dd.SOURCES for w in ("due", "overdue")]
    for s in dd.SOURCES:
        for k in (s.due, s.overdue):
            assert r.kind(k.key) is k and k in r.PREFERENCE_KINDS and not k.mandatory and not k.is_digest
            assert len(k.key) <= 40
            subject, line = r.wording(k.key, **FIELDS)
            assert subject.startswith("Acme: ") and "Acme" in line
    assert len({k.label for k in r.PREFERENCE_KINDS}) == len(r.PREFERENCE_KINDS)
    # A task's messages read as they always did.
    assert r.wording("task_due", **FIELDS) == ("Acme: “Stage 2 audit” is due in 7 days",
                                               "Your task “Stage 2 audit” at Acme is due in 7 days.")
    assert r.wording("external_audit_overdue", **FIELDS)[0] == "Acme: Stage 2 audit not recorded as held"
    assert r.wording("cb_response_due", **FIELDS)[0] == \
        "Acme: response to the certification body due in 7 days: Stage 2 audit"


def test_who_each_source_is_for():
    by = dd.SOURCE_BY_KIND
    assert (by["task"].recipients, by["task"].unnamed) == ((dd.ASSIGNEE,), None)
    assert (by["document_review"].recipients, by["document_review"].unnamed) == ((dd.ASSIGNEE,), dd.CONSULTANTS)
    assert (by["internal_audit"].recipients, by["internal_audit"].unnamed) == ((dd.ASSIGNEE,), dd.CONSULTANTS)
    assert by["effectiveness_check"].recipients == (dd.CONSULTANTS,)
    assert by["management_review"].recipients == (dd.TOP_MANAGEMENT, dd.CONSULTANTS)
    assert by["external_audit"].recipients == by["cb_response"].recipients == (dd.CONSULTANTS, dd.CLIENT_ADMINS)
    assert [s.item_kind for s in dd.SOURCES if s.escalates] == ["task"]


def test_the_ladder_maps_to_each_sources_messages_and_only_tasks_escalate():
    steps = r.due_steps(WED - timedelta(days=15), WED)
    assert [(s.kind, s.window) for s in steps] == [("task_overdue", "o3"), ("task_escalated", "e1")]
    audit = dd.SOURCE_BY_KIND["internal_audit"]
    assert [audit.message_kind(s.kind) for s in steps] == ["internal_audit_overdue", None]
    assert [dd.SOURCE_BY_KIND["task"].message_kind(s.kind) for s in steps] == ["task_overdue", "task_escalated"]
    [soon] = r.due_steps(WED + timedelta(days=7), WED)
    assert dd.SOURCE_BY_KIND["cb_response"].message_kind(soon.kind) == "cb_response_due"


def test_the_horizon_reaches_as_far_as_the_first_reminder_can():
    assert dd.HORIZON_DAYS == r.MAX_LEAD_DAYS


def test_the_morning_brief_counts_the_other_overdue_deadlines_like_tasks():
    [row] = r.brief_rows([r.BriefClient("Acme", "acme", overdue_dates=2)])
    assert row.reasons == ("2 other deadlines overdue",) and row.score == 120
    [one] = r.brief_rows([r.BriefClient("Acme", "acme", overdue_tasks=1, overdue_dates=1)])
    assert one.reasons == ("1 overdue task", "1 other deadline overdue")
    assert r.brief_rows([r.BriefClient("Quiet", "quiet")]) == []


def test_the_weekly_digest_names_the_other_overdue_deadlines_apart_from_tasks():
    week = digests.WeekAtClient("Acme", "Implementation", 40, False, 1, overdue=(("Write the policy", WED),),
                                other_overdue=(("IA-001 Purchasing", WED), ("Surveillance audit 1", WED)))
    sections = dict(digests.weekly_sections(week))
    assert sections["1 overdue task"] == ["Write the policy (due 9 Dec)"]
    assert sections["2 other deadlines overdue"] == ["IA-001 Purchasing (due 9 Dec)", "Surveillance audit 1 (due 9 Dec)"]


def test_an_item_is_overdue_from_the_day_after_its_date_and_one_with_no_date_never():
    dates = [WED - timedelta(days=1), WED, WED + timedelta(days=1), None, date(2020, 1, 1)]
    assert dd.overdue_count(dates, WED) == 2
    assert dd.overdue_count([], WED) == 0
    assert dd.overdue_count(iter(dates), WED + timedelta(days=1)) == 3  # any iterable, read once
