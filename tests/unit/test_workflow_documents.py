"""Document control rules (workflows/documents.py): lifecycle, immutability, approvers, review dates, records."""
import datetime as dt

import pytest

from workflows import TransitionError
from workflows import documents as wd


def refused(fn, *args) -> TransitionError:
    with pytest.raises(TransitionError) as info:
        fn(*args)
    return info.value


@pytest.mark.parametrize("current,new", [("draft", "in_review"), ("in_review", "draft"), ("in_review", "approved"),
                                         ("draft", "approved"), ("draft", "obsolete"), ("approved", "obsolete")])
def test_the_lifecycle_moves(current, new):
    assert wd.check_version_transition(current, new, 2) is True


def test_staying_put_changes_nothing():
    assert wd.check_version_transition("approved", "approved", 1) is False


@pytest.mark.parametrize("new", ["draft", "in_review"])
def test_an_approved_version_is_immutable_and_a_new_draft_is_offered(new):
    err = refused(wd.check_version_transition, "approved", new, 3)
    assert err.status == 409 and "start a new draft" in str(err) and "Version 3" in str(err)


@pytest.mark.parametrize("ended", ["superseded", "obsolete"])
def test_ended_versions_never_change(ended):
    assert refused(wd.check_version_transition, ended, "draft", 1).status == 409


def test_superseding_is_never_chosen_and_unknown_statuses_are_bad_input():
    assert refused(wd.check_version_transition, "approved", "superseded", 1).status == 422
    assert refused(wd.check_version_transition, "draft", "final", 1).status == 422


def test_only_a_draft_can_be_edited():
    wd.check_version_edit("draft", 1)
    assert "send it back to draft" in str(refused(wd.check_version_edit, "in_review", 1))
    err = refused(wd.check_version_edit, "approved", 4)
    assert err.status == 409 and "new draft" in str(err)


def test_a_new_version_needs_content_a_reason_and_no_other_draft():
    wd.check_new_version("Text", False, "Why", False)
    wd.check_new_version("", True, "Why", False)
    assert refused(wd.check_new_version, "  ", False, "Why", False).status == 422
    assert "change reason" in str(refused(wd.check_new_version, "Text", False, " ", False))
    assert refused(wd.check_new_version, "Text", False, "Why", True).status == 409


def test_policy_objectives_scope_and_review_outputs_are_approved_by_top_management():
    for key in ("quality_policy", "quality_objectives", "qms_scope", "management_review_minutes"):
        assert wd.default_approver_role(key) == "top_management"
    assert wd.default_approver_role("service_delivery_playbook") == "consultant"
    err = refused(wd.check_approval, "top_management", False, "Quality policy")
    assert err.status == 403 and "top management, not by the consultant" in str(err)
    wd.check_approval("top_management", True, "Quality policy")
    assert "Only a consultant" in str(refused(wd.check_approval, "consultant", False, "Playbook"))


def test_the_top_management_approver_cannot_be_changed_away():
    wd.check_register_entry("quality_policy", "QP-01", "Quality policy", "document", "top_management", "internal")
    err = refused(wd.check_register_entry, "quality_policy", "QP-01", "Quality policy", "document", "consultant",
                  "internal")
    assert err.status == 422 and "top management" in str(err)
    assert refused(wd.check_register_entry, "x", "", "T", "document", "consultant", "internal").status == 422
    assert refused(wd.check_register_entry, "x", "X-1", "T", "memo", "consultant", "internal").status == 422
    assert refused(wd.check_register_entry, "x", "X-1", "T", "record", "consultant", "abroad").status == 422


@pytest.mark.parametrize("statuses,summary", [
    ([], "draft"), (["draft"], "draft"), (["in_review"], "in_review"), (["superseded", "approved"], "approved"),
    (["approved", "draft"], "approved"), (["superseded", "obsolete"], "obsolete"),
    (["obsolete", "draft"], "draft"),
])
def test_the_register_status_counts_the_effective_version_as_approved(statuses, summary):
    assert wd.summary_status(statuses) == summary


def test_review_dates_follow_the_policy():
    policy = wd.ReviewPolicy()
    approved = dt.date(2026, 1, 31)
    assert wd.review_due("quality_policy", "document", approved, policy) == dt.date(2027, 1, 31)
    assert wd.review_due("service_delivery_playbook", "document", approved, policy) == dt.date(2029, 1, 31)
    assert wd.review_due("kpi_reports", "record", approved, policy) is None
    assert wd.review_due("quality_policy", "document", None, policy) is None
    assert wd.add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert wd.review_due("quality_policy", "document", approved, wd.check_review_policy(6, 24)) == dt.date(2026, 7, 31)
    assert refused(wd.check_review_policy, 0, 12).status == 422


def test_due_and_overdue_reviews():
    today = dt.date(2026, 12, 2)
    assert wd.review_state(dt.date(2026, 12, 1), today) == "overdue"
    assert wd.review_state(dt.date(2026, 12, 20), today) == "due"
    assert wd.review_state(dt.date(2027, 6, 1), today) is None
    assert wd.review_state(None, today) is None
    wd.check_review(True, "document")
    assert refused(wd.check_review, False, "document").status == 409
    assert refused(wd.check_review, True, "record").status == 409


def test_records_are_dated_and_not_in_the_future():
    today = dt.date(2026, 12, 2)
    wd.check_record_entry("record", today, today)
    assert refused(wd.check_record_entry, "record", None, today).status == 422
    assert refused(wd.check_record_entry, "record", dt.date(2026, 12, 3), today).status == 422
    assert refused(wd.check_record_entry, "document", today, today).status == 409


def test_acknowledgement_once_per_effective_version_and_who_has_not():
    wd.check_acknowledgement("approved", True, 2, False)
    assert refused(wd.check_acknowledgement, "approved", False, 2, False).status == 409
    assert refused(wd.check_acknowledgement, "draft", True, 2, False).status == 409
    assert "already" in str(refused(wd.check_acknowledgement, "approved", True, 2, True))
    assert wd.not_acknowledged({1: "Ann", 2: "Bo", 3: "Cy"}, [2]) == ["Ann", "Cy"]


def test_a_record_kept_at_a_frequency_is_due_each_period_from_when_it_became_expected():
    d = dt.date
    assert wd.period_end(d(2026, 12, 3), "monthly") == d(2026, 12, 31)
    assert wd.period_end(d(2027, 2, 10), "monthly") == d(2027, 2, 28)
    assert wd.period_end(d(2028, 2, 10), "monthly") == d(2028, 2, 29)
    assert wd.period_end(d(2026, 11, 3), "quarterly") == d(2026, 12, 31)
    assert wd.period_end(d(2026, 4, 1), "quarterly") == d(2026, 6, 30)
    assert wd.period_end(d(2026, 4, 1), "yearly") == d(2026, 12, 31)
    since = d(2026, 12, 3)
    assert wd.record_due("monthly", None, since) == d(2026, 12, 31)  # first due by the end of its month
    assert wd.record_due("monthly", d(2026, 12, 2), since) == d(2027, 1, 31)  # December's done: January's next
    assert wd.record_due("monthly", d(2026, 10, 15), since) == d(2026, 12, 31)  # older instances don't make it late
    assert wd.record_due("monthly", d(2027, 1, 31), since) == d(2027, 2, 28)
    assert wd.record_due("quarterly", d(2027, 2, 1), since) == d(2027, 6, 30)
    assert wd.record_due("yearly", d(2027, 12, 31), since) == d(2028, 12, 31)
    assert wd.record_due(None, d(2027, 1, 1), since) is None


def test_only_records_are_kept_at_a_frequency_from_the_list():
    assert wd.check_record_frequency("record", "") is None
    assert wd.check_record_frequency("record", "quarterly") == "quarterly"
    with pytest.raises(TransitionError, match="from the list") as err:
        wd.check_record_frequency("record", "weekly")
    assert err.value.status == 422
    with pytest.raises(TransitionError, match="Only a record is kept at a frequency"):
        wd.check_record_frequency("document", "monthly")
