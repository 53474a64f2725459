"""Demo KPIs and quality objectives: for one demo client, 6–8 KPIs from the library with 6–12 months of
measurements (imported from the client's spreadsheet, customer satisfaction's latest month typed in) — mostly on track, one amber, often one red, one month
skipped, one target raised mid-year with its reason — and 2–4 objectives linked to them, one of them vague.

Everything goes through the workspace operations, replayed on past dates (like the tasks in app.demo),
and is drawn from a seeded random generator, so every run builds the same data.
"""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone

from workflows import kpi as wk

from . import clock
from .extensions import db
from .workspace import operations as ops

# Monthly KPIs a small service business typically starts with; customer satisfaction first (9.1.2).
MONTHLY = ["on_time_delivery", "sla_met", "first_response_time", "complaints_per_100_jobs",
           "complaints_resolved_on_time", "right_first_time", "corrective_actions_on_time", "process_cycle_time",
           "rework_rate", "utilisation", "budget_adherence"]

# Complete 6.2.2 plans: (KPI, title, what, resources, responsible, how results are evaluated).
PLANS = {
    "csat": ("Raise customer satisfaction to 92 % by year end",
             "Call every customer who scores below 4 within two days and fix the cause with them",
             "Account managers' time (2 h a week), the survey tool", "Head of customer service",
             "Monthly CSAT reviewed in the management meeting; the trend in the management review"),
    "on_time_delivery": ("Deliver 96 % of jobs on the agreed date",
                         "Plan every job in the shared schedule and confirm dates with the customer the day before",
                         "Scheduling board, one planner half-time", "Operations manager",
                         "On-time rate each month against the target; late jobs analysed for their cause"),
    "complaints_per_100_jobs": ("Halve complaints within twelve months",
                                "Log every complaint, find its root cause and close it with a corrective action",
                                "Complaints log, 1 h a week of the quality lead", "Quality lead",
                                "Complaints per 100 jobs monthly; causes reviewed quarterly"),
    "right_first_time": ("Get 92 % of work right first time",
                         "Use the checklist for every job and review every rework in the team meeting",
                         "Job checklists, 30 minutes a week for the review", "Team leaders",
                         "Right-first-time rate monthly; the top three causes of rework each quarter"),
}
VAGUE = ("Improve quality", "Do better", "", "", "")  # no resources, no one responsible, no date, no evaluation


def _at(day, rng: random.Random) -> datetime:
    """A working-hours moment on `day`, never in the future."""
    when = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), timezone.utc)
    return min(when, clock.now() - timedelta(hours=1))


def _value(kpi, setting: wk.Thresholds, share: float, rng: random.Random) -> float:
    """A value `share` of the way from the target (0) to the red line (1), a little noisy."""
    share += rng.uniform(-0.08, 0.08)
    value = setting.target - share * (setting.target - setting.red)
    if kpi.minimum is not None:
        value = max(kpi.minimum, value)
    if kpi.maximum is not None:
        value = min(kpi.maximum, value)
    return round(value) if kpi.unit == "count" else round(value, 1)


def _shares(profile: str, months: int, amber_share: float, rng: random.Random) -> list[float]:
    """How far from target each month is, oldest first, for a KPI that is good, amber, red or improving."""
    if profile == "red":  # fine for months, then two or three bad ones
        bad = rng.randint(2, 3)
        return [rng.uniform(-0.3, 0.2) for _ in range(months - bad)] + [rng.uniform(1.15, 1.5) for _ in range(bad)]
    if profile == "amber":
        return [rng.uniform(amber_share + 0.1, min(0.9, amber_share + 0.45)) for _ in range(months)]
    if profile == "improving":
        return [1.1 - 1.3 * i / (months - 1) for i in range(months)]
    return [rng.uniform(-0.45, 0.1) for _ in range(months)]


def seed_kpis(client_index: int, owner_id: int, manager: ops.Actor, staff: ops.Actor, seed: int) -> None:
    """KPIs, measurements, a target change and objectives for the demo client bound in the current scope."""
    rng = random.Random(seed)
    library = wk.load_kpi_library()
    months = rng.randint(6, 12)
    today = clock.today()
    last = wk.period_containing(today, wk.MONTHLY).previous()
    periods = [last]
    while len(periods) < months:
        periods.insert(0, periods[0].previous())
    last_due = last.due_date(ops.kpis.GRACE_DAYS) < today
    started = ops.settings().start_on
    keys = ["csat", *rng.sample(MONTHLY, rng.randint(5, 7))]
    kpis = []
    with clock.frozen_at(_at(periods[0].start, rng)):
        for key in keys:
            kpi = ops.add_from_library(key, owner_id, {owner_id}, manager)
            kpis.append(kpi)
    db.session.flush()
    # roles: the first KPIs after CSAT get the red month (two clients in three), the amber run, the target raise
    profiles = ["good", "red" if client_index % 3 != 2 else "good", "amber", "good", "improving"]
    profiles += ["good"] * (len(kpis) - len(profiles))
    raised, skipped = kpis[3], kpis[-1]
    raise_at = periods[months // 2]
    for kpi, profile in zip(kpis, profiles):
        first = library.get(kpi.library_key).thresholds
        setting = first
        shares = _shares(profile, months, (first.target - first.amber) / (first.target - first.red), rng)
        values = {}
        for period, share in zip(periods, shares):
            if kpi is raised and period == raise_at:
                setting = _raise(kpi, first, period, rng, manager)
            if kpi is skipped and period == periods[months // 2 - 1]:
                continue  # a month nobody entered: shown as missing
            if kpi is kpis[2] and client_index % 4 == 1 and period == periods[-2]:
                continue  # … and, for some clients, a recent one too
            values[period] = _value(kpi, setting, share, rng)
        # The history came from the client's spreadsheet, imported once the last month it holds was over (and
        # the client was on ISOpath); CSAT's latest month was typed in. Last month's other values are only
        # entered while it is not yet due, as a real client would.
        typed = kpi is kpis[0] and last in values
        held = [p for p in values if not (typed and p == last) and (p != last or last_due)]
        imported_on = max(held[-1].end + timedelta(days=rng.randint(2, 5)), started + timedelta(days=1))
        with clock.frozen_at(_at(imported_on, rng)):
            ops.import_measurements(kpi, "period;value\n" + "\n".join(f"{p.key};{values[p]:g}" for p in held),
                                    False, manager)
        if typed:
            with clock.frozen_at(_at(last.end + timedelta(days=1), rng)):
                ops.record_measurement(kpi, last.key, f"{values[last]:g}", "", staff)
    _objectives(kpis, rng, manager, periods[0].start, today)


def _raise(kpi, first: wk.Thresholds, period: wk.Period, rng: random.Random, actor: ops.Actor) -> wk.Thresholds:
    """Raise the target half a step from `period` on, the reason recorded, as consultants do once a
    target has been met for months."""
    step = (first.target - first.amber) / 2 or (first.target - first.red) / 4
    raised = [first.target + step, first.amber + step, first.red + step]
    if kpi.maximum is not None and max(raised) > kpi.maximum or kpi.minimum is not None and min(raised) < kpi.minimum:
        raised = [first.target, first.amber, first.red]
        step = 0
    raised = [round(v, 1) for v in raised]
    with clock.frozen_at(_at(period.start + timedelta(days=rng.randint(0, 3)), rng)):
        ops.change_target(kpi, period.key, *(f"{v:g}" for v in raised),
                          "Met for six months running: raised in the management review to keep improving"
                          if step else "Confirmed in the management review", actor)
    return wk.Thresholds(first.direction, *raised)


def _objectives(kpis, rng: random.Random, actor: ops.Actor, start, today) -> None:
    by_key = {k.library_key: k for k in kpis}
    planned = [key for key in PLANS if key in by_key]
    count = min(len(planned), rng.randint(1, 3))
    with clock.frozen_at(_at(start + timedelta(days=rng.randint(3, 10)), rng)):
        for key in planned[:count]:
            title, what, resources, responsible, evaluation = PLANS[key]
            due = (today + timedelta(days=rng.randint(60, 240))).isoformat()  # set months ago, due ahead
            ops.save_objective(None, ops.ObjectiveForm(title, what, resources, responsible, due, evaluation,
                                                       (by_key[key].id,)), actor)
        title, what, resources, responsible, evaluation = VAGUE
        vague_kpi = kpis[1] if len(kpis) > 1 else kpis[0]
        ops.save_objective(None, ops.ObjectiveForm(title, what, resources, responsible, "", evaluation,
                                                   (vague_kpi.id,)), actor)
