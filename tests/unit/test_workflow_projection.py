from datetime import date, timedelta

import pytest

from workflows import project_certification

TODAY = date(2026, 6, 1)


def weekly(count_per_week: int, weeks: int = 6) -> list[date]:
    """`count_per_week` completions in each of the last `weeks` weeks."""
    return [TODAY - timedelta(days=7 * w + d) for w in range(weeks) for d in range(count_per_week)]


def test_no_pace_yet_says_so_and_what_would_meet_the_target():
    p = project_certification(40, [TODAY - timedelta(weeks=10)], TODAY, TODAY + timedelta(weeks=10))
    assert (p.status, p.pace, p.projected_on, p.needed_per_week) == ("no_pace", 0.0, None, 4)
    assert p.verdict == "no pace yet: nothing was completed in the last 6 weeks"
    assert p.remedy == "complete 4 required items a week"


def test_a_plan_started_days_ago_measures_its_one_week_and_says_so_in_words():
    p = project_certification(40, [], TODAY, TODAY + timedelta(weeks=10), started_on=TODAY - timedelta(days=3))
    assert (p.status, p.weeks_measured) == ("no_pace", 1)
    assert p.verdict == "no pace yet: nothing was completed in the last week"
    p = project_certification(40, [], TODAY, TODAY + timedelta(weeks=10), started_on=TODAY - timedelta(days=15))
    assert p.verdict == "no pace yet: nothing was completed in the last 2 weeks"


def test_ahead_of_plan():
    p = project_certification(20, weekly(5), TODAY, TODAY + timedelta(weeks=10))
    assert p.status == "on_track" and p.pace == 5
    assert p.projected_on == TODAY + timedelta(weeks=4) and p.weeks_ahead == 6
    assert p.verdict == "on track, about 6 weeks ahead" and p.remedy == "complete 2 required items a week"


def test_late_at_the_current_pace_names_the_gap_and_the_pace_that_closes_it():
    p = project_certification(32, weekly(2), TODAY, TODAY + timedelta(weeks=10))
    assert p.status == "late" and p.pace == 2
    assert p.projected_on == TODAY + timedelta(weeks=16) and p.weeks_late == 6
    assert p.verdict == "about 6 weeks late at the current pace"
    assert p.remedy == "complete 4 required items a week"


def test_done_when_nothing_is_left():
    p = project_certification(0, weekly(3), TODAY, TODAY + timedelta(weeks=2))
    assert (p.status, p.projected_on, p.needed_per_week, p.remedy) == ("done", None, None, None)
    assert p.verdict == "every item is in place"


def test_a_new_client_is_measured_since_its_start_and_a_passed_target_needs_everything_now():
    started = TODAY - timedelta(weeks=2)
    p = project_certification(10, [TODAY - timedelta(days=1)] * 4, TODAY, TODAY + timedelta(weeks=5), started)
    assert p.weeks_measured == 2 and p.pace == 2 and p.status == "on_track"
    overdue = project_certification(10, weekly(1), TODAY, TODAY - timedelta(days=3))
    assert overdue.status == "late" and overdue.needed_per_week == 10
    with pytest.raises(ValueError):
        project_certification(-1, [], TODAY, TODAY)


def test_far_behind_is_said_in_months():
    p = project_certification(85, [TODAY - timedelta(days=3)], TODAY, TODAY + timedelta(weeks=36))
    assert p.status == "late" and p.weeks_late == 510 - 36  # 85 items at one every 6 weeks
    assert p.verdict == "about 9 years late at the current pace"
    p = project_certification(40, weekly(1), TODAY, TODAY + timedelta(weeks=4))
    assert p.weeks_late == 36 and p.verdict == "about 8 months late at the current pace"
