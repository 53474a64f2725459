from datetime import date

import pytest

from workflows.kpi import (
    AT_RISK,
    IMPROVING,
    MISSING,
    OFF_TRACK,
    ON_TRACK,
    STEADY,
    WORSENING,
    KpiError,
    TargetSetting,
    check_thresholds,
    kpi_position,
    parse_period,
    period_status,
    trend,
)

P = parse_period


def setting(key, target, amber, red, direction="higher", seq=0, reason=""):
    return TargetSetting(P(key), check_thresholds(direction, target, amber, red), reason, seq)


HIGHER = [setting("2026-01", 90, 85, 75)]
LOWER = [setting("2026-01", 4, 6, 8, "lower")]


@pytest.mark.parametrize(
    "value, status", [(95, ON_TRACK), (90, ON_TRACK), (85, ON_TRACK), (84.9, AT_RISK), (75, AT_RISK), (74.9, OFF_TRACK)]
)
def test_status_higher_is_better(value, status):
    assert period_status(P("2026-03"), value, HIGHER, date(2026, 4, 1)) == status


@pytest.mark.parametrize("value, status", [(2, ON_TRACK), (6, ON_TRACK), (6.5, AT_RISK), (8, AT_RISK), (8.1, OFF_TRACK)])
def test_status_lower_is_better(value, status):
    assert period_status(P("2026-03"), value, LOWER, date(2026, 4, 1)) == status


def test_no_value_is_missing_only_after_the_period_and_its_grace():
    march = P("2026-03")
    assert period_status(march, None, HIGHER, date(2026, 3, 20)) is None  # still running
    assert period_status(march, None, HIGHER, date(2026, 4, 10), grace_days=10) is None  # grace: due 10 April
    assert period_status(march, None, HIGHER, date(2026, 4, 11), grace_days=10) == MISSING
    assert period_status(march, None, HIGHER, date(2026, 4, 1), grace_days=0) == MISSING


def test_status_uses_the_target_in_force_for_each_period():
    history = HIGHER + [setting("2026-06", 95, 92, 85, seq=1)]
    today = date(2026, 8, 1)
    assert period_status(P("2026-05"), 90, history, today) == ON_TRACK
    assert period_status(P("2026-06"), 90, history, today) == AT_RISK


def test_no_target_no_status():
    assert period_status(P("2026-03"), 50, [], date(2026, 4, 1)) is None


def test_thresholds_must_sit_on_the_right_side_of_the_target():
    with pytest.raises(KpiError, match="Higher is better") as err:
        check_thresholds("higher", 90, 95, 75)
    assert err.value.status == 422
    with pytest.raises(KpiError, match="Lower is better"):
        check_thresholds("lower", 4, 3, 8)
    with pytest.raises(KpiError, match="must be a number"):
        check_thresholds("higher", float("nan"), 1, 0)
    # Amber may equal the target: then anything short of the target is at risk.
    assert check_thresholds("higher", 90, 90, 80).status_of(89.9) == AT_RISK


@pytest.mark.parametrize(
    "values, direction, expected",
    [
        ([80, 85, 90], "higher", IMPROVING),
        ([80, 80, 90], "higher", IMPROVING),
        ([90, 85, 80], "higher", WORSENING),
        ([90, 85, 80], "lower", IMPROVING),
        ([3, 4, 6], "lower", WORSENING),
        ([80, 70, 90], "higher", IMPROVING),  # the line through the three rises
        ([93, 94, 61.5], "higher", WORSENING),  # a fall in the last period is not "steady"
        ([90, 95, 90.5], "higher", STEADY),  # under 1 % apart: noise
        ([85, 85, 85], "higher", STEADY),
        ([0, 1, 0], "lower", STEADY),
        ([70, 80, 85, 85, 85], "higher", STEADY),  # only the last three count
        ([80, 90], "higher", None),  # too few periods
        ([80, None, 90], "higher", None),  # a missing period breaks the window
    ],
)
def test_trend_over_the_last_three_periods(values, direction, expected):
    assert trend(values, direction) == expected


def test_position_lists_every_period_and_finds_the_latest_due_one():
    values = {P("2026-01"): 92.0, P("2026-02"): 80.0, P("2026-04"): 70.0}
    pos = kpi_position("monthly", "higher", values, HIGHER, date(2026, 5, 20), grace_days=10)
    assert [r.period.key for r in pos.periods] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert [r.status for r in pos.periods] == [ON_TRACK, AT_RISK, MISSING, OFF_TRACK, None]
    assert pos.missing == (P("2026-03"),)
    assert pos.latest.period == P("2026-04") and pos.status == OFF_TRACK and pos.is_red
    assert pos.next_due == P("2026-05") and pos.next_due_date == date(2026, 6, 10)
    assert pos.trend is None  # March is missing: no three-period trend


def test_position_latest_is_missing_when_the_last_period_passed_its_grace():
    values = {P("2026-01"): 92.0}
    pos = kpi_position("monthly", "higher", values, HIGHER, date(2026, 3, 15), grace_days=10)
    assert pos.status == MISSING and pos.is_red
    assert pos.latest.period == P("2026-02") and pos.latest_value.period == P("2026-01")
    assert pos.next_due == P("2026-03")


def test_position_within_grace_keeps_the_previous_status():
    values = {P("2026-01"): 92.0, P("2026-02"): 91.0, P("2026-03"): 92.5}
    pos = kpi_position("monthly", "higher", values, HIGHER, date(2026, 4, 5), grace_days=10)
    assert pos.status == ON_TRACK and not pos.is_red
    assert pos.next_due == P("2026-04")  # March is in; April is next
    assert pos.trend == STEADY


def test_a_new_kpi_without_values_starts_at_its_first_period():
    pos = kpi_position("quarterly", "higher", {}, HIGHER, date(2026, 5, 1), first_period=P("2026-Q2"))
    assert [r.period.key for r in pos.periods] == ["2026-Q2"]
    assert pos.latest is None and pos.status is None and not pos.is_red
    assert pos.next_due == P("2026-Q2")
