"""Where a client stands among the consultancy's clients on one KPI: the share of the others it beats, ties
counting half, with the KPI's direction deciding what beating means; and how far a client is behind plan."""
from datetime import date, datetime, timezone

import pytest

import workflows as wf
from workflows import kpi as wk


def test_higher_is_better_best_is_100th_worst_is_0th():
    values = {"a": 98.0, "b": 91.0, "c": 85.0, "d": 70.0, "e": 60.0}
    assert wk.percentiles(values, "higher") == {"a": 100, "b": 75, "c": 50, "d": 25, "e": 0}


def test_lower_is_better_turns_the_ranking_round():
    complaints = {"a": 0.5, "b": 1.0, "c": 2.0, "d": 4.0, "e": 6.0}
    assert wk.percentiles(complaints, "lower") == {"a": 100, "b": 75, "c": 50, "d": 25, "e": 0}


def test_ties_count_half_and_the_client_itself_not_at_all():
    values = {"a": 90.0, "b": 90.0, "c": 80.0}
    # a beats c (1) and ties b (½) out of 2 others: 75th; c beats nobody: 0th.
    assert wk.percentiles(values, "higher") == {"a": 75, "b": 75, "c": 0}
    assert wk.percentiles({"a": 5.0, "b": 5.0, "c": 5.0, "d": 5.0}, "lower") == {k: 50 for k in "abcd"}


def test_the_sorted_computation_agrees_with_the_definition():
    values = {i: float((i * 37) % 11) for i in range(40)}  # many ties
    for direction in ("higher", "lower"):
        fast = wk.percentiles(values, direction)
        for key, v in values.items():
            others = [o for k, o in values.items() if k != key]
            assert fast[key] == wk.percentile_of(v, others, direction)


def test_thirty_percent_of_47_clients():
    # 14 of the 46 others below it, none equal: round(100 * 14 / 46) = 30.
    values = {i: float(i) for i in range(47)}
    assert wk.percentiles(values, "higher")[14] == 30
    assert wk.ordinal(30) == "30th"


def test_alone_there_is_no_percentile():
    assert wk.percentiles({"only": 3.0}, "higher") == {"only": None}
    assert wk.percentile_of(3.0, [], "lower") is None
    assert wk.percentiles({}, "higher") == {}


def test_an_unknown_direction_is_refused():
    with pytest.raises(wk.KpiError):
        wk.percentiles({"a": 1.0, "b": 2.0}, "sideways")


@pytest.mark.parametrize("n, said", [(0, "0th"), (1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                     (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"), (100, "100th")])
def test_ordinals(n, said):
    assert wk.ordinal(n) == said


def test_days_behind_plan():
    today = date(2026, 12, 2)
    assert wf.days_behind_plan(date(2026, 11, 22), today) == 10
    assert wf.days_behind_plan(date(2026, 12, 2), today) == 0  # the planned end itself is still on plan
    assert wf.days_behind_plan(date(2027, 1, 1), today) == 0
    assert wf.days_behind_plan(datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc), today) == 3
    assert wf.days_behind_plan(None, today) == 0
    assert wf.days_behind_plan(date(2026, 1, 1), today, finished=True) == 0
