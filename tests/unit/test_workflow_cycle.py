"""The three-year certification cycle: expiry, surveillance windows, late and missed audits, preparation."""
from datetime import date

import pytest

from workflows import cycle as wc


def test_expiry_is_the_day_before_the_third_anniversary():
    assert wc.certificate_expiry(date(2026, 3, 15)) == date(2029, 3, 14)


def test_a_decision_on_29_february_expires_the_day_before_the_anniversary_that_year_has():
    # 2031 has no 29 February: the anniversary is 28 February, the certificate lapses after the 27th.
    assert wc.certificate_expiry(date(2028, 2, 29)) == date(2031, 2, 27)
    assert wc.add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert wc.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert wc.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_the_cycle_of_a_fresh_certificate():
    c = wc.cycle(date(2026, 3, 15), today=date(2026, 4, 1))
    assert c.expires_on == date(2029, 3, 14)
    assert [(a.kind, a.due_by, a.earliest, a.status) for a in c.audits] == [
        ("surveillance_1", date(2027, 3, 15), None, "due"),
        ("surveillance_2", date(2028, 12, 14), date(2028, 1, 1), "due"),
        ("recertification", date(2028, 12, 14), None, "due"),
    ]
    assert c.status == "valid"
    assert c.next_audit.kind == "surveillance_1"


def test_surveillance_2_falls_in_the_calendar_year_after_surveillance_1_as_held():
    c = wc.cycle(date(2026, 3, 15), today=date(2027, 3, 1), held={"surveillance_1": date(2027, 2, 20)})
    s1, s2, _ = c.audits
    assert (s1.status, s1.held_on) == ("held", date(2027, 2, 20))
    assert (s2.earliest, s2.due_by) == (date(2028, 1, 1), date(2028, 12, 14))
    # A surveillance 1 held in the same year as the decision moves surveillance 2 a year earlier.
    early = wc.cycle(date(2026, 1, 10), today=date(2026, 12, 1), held={"surveillance_1": date(2026, 11, 30)})
    assert (early.audits[1].earliest, early.audits[1].due_by) == (date(2027, 1, 1), date(2027, 12, 31))


def test_a_surveillance_audit_held_late_puts_the_certificate_at_risk():
    c = wc.cycle(date(2026, 3, 15), today=date(2027, 5, 1), held={"surveillance_1": date(2027, 4, 2)})
    assert c.audits[0].status == "held_late"
    assert c.status == "at_risk"


def test_a_missed_surveillance_audit_is_overdue():
    c = wc.cycle(date(2026, 3, 15), today=date(2027, 3, 16))
    assert c.audits[0].status == "overdue"
    assert c.status == "at_risk"
    planned = wc.cycle(date(2026, 3, 15), today=date(2027, 3, 1), planned={"surveillance_1": date(2027, 3, 10)})
    assert planned.audits[0].status == "planned"
    assert planned.status == "valid"


def test_an_expired_certificate():
    c = wc.cycle(date(2026, 3, 15), today=date(2029, 3, 15),
                 held={"surveillance_1": date(2027, 3, 1), "surveillance_2": date(2028, 3, 1)})
    assert c.status == "expired"
    renewed = wc.cycle(date(2026, 3, 15), today=date(2029, 3, 15),
                       held={"surveillance_1": date(2027, 3, 1), "surveillance_2": date(2028, 3, 1),
                             "recertification": date(2028, 12, 1)})
    assert renewed.status == "valid"
    assert renewed.next_audit is None


def test_internal_audit_and_management_review_are_proposed_before_each_external_audit():
    c = wc.cycle(date(2026, 3, 15), today=date(2026, 4, 1), planned={"surveillance_1": date(2027, 2, 24)})
    s1 = c.audits[0]
    assert (s1.internal_audit_by, s1.management_review_by) == (date(2026, 12, 30), date(2027, 1, 27))
    steps = wc.preparation(s1)
    assert [(p.clause, p.due_on) for p in steps] == [
        ("9.2", date(2026, 12, 30)), ("10.2", date(2027, 1, 20)), ("9.3", date(2027, 1, 27)),
        ("4.3", date(2027, 2, 10)), ("10.2", date(2027, 2, 17)),
    ]
    assert steps[0].title == "Run the internal audit before the surveillance audit 1"


def test_response_deadlines_follow_the_bodys_rules():
    assert wc.response_deadline(date(2026, 6, 1), "major") == date(2026, 8, 30)
    assert wc.response_deadline(date(2026, 6, 1), "minor") == date(2026, 7, 1)
    strict = wc.ResponseRules(major_days=60, minor_days=14)
    assert wc.response_deadline(date(2026, 6, 1), "minor", strict) == date(2026, 6, 15)
    with pytest.raises(wc.CycleError):
        wc.response_deadline(date(2026, 6, 1), "observation")


def test_audit_dates_typed_are_checked():
    today = date(2026, 12, 1)
    with pytest.raises(wc.CycleError) as err:
        wc.check_audit_dates("stage_2", None, date(2026, 12, 2), today)
    assert err.value.status == 422
    with pytest.raises(wc.CycleError) as err:
        wc.check_audit_dates("surveillance_1", date(2027, 1, 1), None, today)
    assert err.value.status == 409
    with pytest.raises(wc.CycleError) as err:
        wc.check_audit_dates("surveillance_1", date(2026, 3, 1), None, today, decided_on=date(2026, 3, 15))
    assert err.value.status == 422
    with pytest.raises(wc.CycleError) as err:
        wc.check_audit_dates("stage_3", None, None, today)
    assert err.value.status == 404
    wc.check_audit_dates("stage_1", date(2026, 12, 20), None, today)
    wc.check_audit_dates("surveillance_1", date(2027, 3, 1), None, today, decided_on=date(2026, 3, 15))


def test_countdown_words():
    today = date(2026, 12, 1)
    assert [wc.countdown(d, today) for d in (date(2026, 12, 13), date(2026, 12, 2), today, date(2026, 11, 30),
                                              date(2026, 11, 28))] == [
        "in 12 days", "tomorrow", "today", "1 day overdue", "3 days overdue"]
