from datetime import date

import pytest

from workflows import kpi
from workflows.kpi import MONTHLY, QUARTERLY, WEEKLY, YEARLY, KpiError, Period, parse_period, period_containing, periods_between


@pytest.mark.parametrize(
    "key, frequency, year, index",
    [("2026-03", MONTHLY, 2026, 3), ("2026-Q1", QUARTERLY, 2026, 1), ("2026-W14", WEEKLY, 2026, 14), ("2026", YEARLY, 2026, 1)],
)
def test_keys_parse_and_format_round_trip(key, frequency, year, index):
    period = parse_period(key)
    assert period == Period(frequency, year, index)
    assert period.key == key == str(period)
    assert parse_period(key.lower()) == period


@pytest.mark.parametrize("key", ["2026-13", "2026-00", "2026-Q5", "2026-W54", "2025-W53", "26-03", "March", "", "2026-3"])
def test_bad_keys_are_refused_with_the_accepted_forms(key):
    with pytest.raises(KpiError) as err:
        parse_period(key)
    assert err.value.status == 422


def test_a_key_of_another_frequency_is_refused_when_one_is_asked_for():
    with pytest.raises(KpiError, match="2026-03 is a monthly period; this KPI is measured quarterly"):
        parse_period("2026-03", QUARTERLY)


def test_labels():
    assert [parse_period(k).label for k in ("2026-03", "2026-Q1", "2026-W14", "2026")] == [
        "Mar 2026", "Q1 2026", "Week 14, 2026", "2026"
    ]


def test_week_53_exists_only_in_long_iso_years():
    assert [y for y in range(2015, 2033) if kpi.weeks_in_year(y) == 53] == [2015, 2020, 2026, 2032]
    assert parse_period("2026-W53").end == date(2027, 1, 3)
    assert parse_period("2026-W53").next() == parse_period("2027-W01")
    assert parse_period("2026-W01").previous() == parse_period("2025-W52")
    assert parse_period("2027-W01").previous() == parse_period("2026-W53")


@pytest.mark.parametrize(
    "day, frequency, key",
    [
        (date(2026, 3, 31), MONTHLY, "2026-03"),
        (date(2026, 3, 31), QUARTERLY, "2026-Q1"),
        (date(2026, 4, 1), QUARTERLY, "2026-Q2"),
        (date(2026, 12, 31), YEARLY, "2026"),
        (date(2026, 4, 1), WEEKLY, "2026-W14"),
        # ISO weeks cross calendar years both ways.
        (date(2027, 1, 1), WEEKLY, "2026-W53"),
        (date(2024, 12, 30), WEEKLY, "2025-W01"),
    ],
)
def test_period_containing_a_date(day, frequency, key):
    assert period_containing(day, frequency).key == key


def test_start_and_end_dates():
    assert (parse_period("2026-02").start, parse_period("2026-02").end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("2028-02").end == date(2028, 2, 29)
    assert (parse_period("2026-Q4").start, parse_period("2026-Q4").end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert (parse_period("2026-W14").start, parse_period("2026-W14").end) == (date(2026, 3, 30), date(2026, 4, 5))
    assert parse_period("2026").end == date(2026, 12, 31)


def test_next_rolls_over_years():
    assert parse_period("2026-12").next().key == "2027-01"
    assert parse_period("2026-Q4").next().key == "2027-Q1"
    assert parse_period("2026-W52").next().key == "2026-W53"
    assert parse_period("2026").next().key == "2027"


def test_sequences_have_no_gaps_and_no_duplicates():
    months = periods_between(parse_period("2025-11"), parse_period("2026-02"))
    assert [p.key for p in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    weeks = periods_between(parse_period("2026-W52"), parse_period("2027-W02"))
    assert [p.key for p in weeks] == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    all_weeks = periods_between(parse_period("2020-W01"), parse_period("2026-W53"))
    assert len(all_weeks) == len(set(all_weeks)) == sum(kpi.weeks_in_year(y) for y in range(2020, 2027))
    # Consecutive weeks touch: each starts the day after the previous ends.
    assert all((b.start - a.end).days == 1 for a, b in zip(all_weeks, all_weeks[1:]))
    assert periods_between(parse_period("2026-Q3"), parse_period("2026-Q1")) == []
    assert periods_between(parse_period("2026-Q1"), parse_period("2026-Q1")) == [parse_period("2026-Q1")]


def test_sequences_refuse_mixed_frequencies_and_absurd_spans():
    with pytest.raises(KpiError, match="different frequencies"):
        periods_between(parse_period("2026-01"), parse_period("2026-Q2"))
    with pytest.raises(KpiError, match="more than"):
        periods_between(parse_period("1990-01"), parse_period("2990-01"))


def test_is_future_and_is_over_relative_to_a_date():
    march = parse_period("2026-03")
    assert march.is_future(date(2026, 2, 28)) and not march.is_future(date(2026, 3, 1))
    assert not march.is_over(date(2026, 3, 31)) and march.is_over(date(2026, 4, 1))
    assert march.due_date(10) == date(2026, 4, 10)


def test_unknown_frequency():
    with pytest.raises(KpiError, match="Unknown frequency 'daily'"):
        period_containing(date(2026, 1, 1), "daily")
