import pytest

from workflows.kpi import KpiError, TargetSetting, check_target_change, check_thresholds, parse_period, target_for, target_steps

P = parse_period


def setting(key, target, seq, reason=""):
    return TargetSetting(P(key), check_thresholds("higher", target, target - 5, target - 15), reason, seq)


HISTORY = [setting("2026-06", 95, 2, "raised after the new scheduling tool"), setting("2026-01", 90, 1)]


def test_target_for_returns_the_one_in_force():
    assert target_for(HISTORY, P("2026-03")).target == 90
    assert target_for(HISTORY, P("2026-05")).target == 90
    assert target_for(HISTORY, P("2026-06")).target == 95
    assert target_for(HISTORY, P("2027-01")).target == 95


def test_a_period_before_the_first_target_uses_the_first():
    assert target_for(HISTORY, P("2025-07")).target == 90


def test_no_history_no_target():
    assert target_for([], P("2026-01")) is None


def test_a_later_change_for_the_same_period_wins_and_the_earlier_stays():
    history = HISTORY + [setting("2026-06", 97, 3, "customer contract")]
    assert target_for(history, P("2026-07")).target == 97
    assert len(history) == 3


def test_target_steps_per_period():
    periods = [P(k) for k in ("2026-04", "2026-05", "2026-06", "2026-07")]
    assert [s.target for s in target_steps(HISTORY, periods)] == [90, 90, 95, 95]


def test_a_change_needs_a_reason_except_the_first_target():
    assert check_target_change([], P("2026-01"), "", frequency="monthly") == ""
    with pytest.raises(KpiError, match="Say why the target changes") as err:
        check_target_change(HISTORY, P("2026-09"), "   ", frequency="monthly")
    assert err.value.status == 422
    assert check_target_change(HISTORY, P("2026-09"), " new contract ", frequency="monthly") == "new contract"


def test_a_change_must_be_of_the_kpis_frequency_and_reason_short():
    with pytest.raises(KpiError, match="not a monthly period"):
        check_target_change(HISTORY, P("2026-Q3"), "x", frequency="monthly")
    with pytest.raises(KpiError, match="too long"):
        check_target_change(HISTORY, P("2026-09"), "x" * 501, frequency="monthly")


def test_the_first_target_applies_from_the_beginning_and_a_backdated_change_ends_it():
    # KPI added in May with 95; history imported from January; then "97 from April".
    history = [setting("2026-05", 95, 1), setting("2026-04", 97, 2, "new contract")]
    assert [target_for(history, P(k)).target for k in ("2026-01", "2026-03", "2026-04", "2026-05", "2026-09")] == [
        95, 95, 97, 97, 97]
