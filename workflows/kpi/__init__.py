"""KPIs and quality objectives (ISO 9001 6.2, 9.1): the standard library,
measurement periods, target history, status and trend, objectives and CSV
import — plain Python, like the rest of `workflows`.

- `periods`: period keys (2026-03, 2026-Q1, 2026-W14, 2026) and sequences;
- `thresholds`: directions, a target with its amber/red thresholds, statuses;
- `library`: the standard library shipped in ``data/`` and its checks;
- `editing`: a consultancy's edits of its copy: definitions from forms, differences from the standard;
- `targets`: target history (never overwritten) and the setting in force;
- `status`: per-period status, trend, a KPI's current position;
- `objectives`: the 6.2.2 plan check and an objective's status;
- `csv_import`: measurements from a CSV file, with row-level errors;
- `percentiles`: where a client stands among the consultancy's clients on one KPI.

Import from here (``from workflows import kpi``).
"""

from ..errors import KpiError
from .csv_import import ImportResult, ImportRow, RowError, parse_measurements_csv, parse_number, parse_period_cell
from .editing import (
    FIELD_LABELS,
    FORM_FIELDS,
    Difference,
    clause_list,
    definition_from_form,
    differences,
    form_values,
    new_key,
)
from .library import (
    AREA_LABELS,
    AREAS,
    DEFAULT_LIBRARY,
    KpiDefinition,
    FORMULA_MAX,
    KpiLibrary,
    NAME_MAX,
    NOTE_MAX,
    UNIT_MAX,
    check_definition,
    load_kpi_library,
    read_kpi_library,
)
from .objectives import (
    NOT_MEASURED,
    OBJECTIVE_STATUS_LABELS,
    PLAN_PARTS,
    Objective,
    PlanGap,
    check_objective,
    objective_status,
)
from .periods import (
    FREQUENCIES,
    FREQUENCY_LABELS,
    MONTHLY,
    QUARTERLY,
    WEEKLY,
    YEARLY,
    Period,
    check_frequency,
    parse_period,
    period_containing,
    periods_between,
    weeks_in_year,
)
from .percentiles import from_counts, ordinal, percentile_of, percentiles
from .status import (
    DEFAULT_GRACE_DAYS,
    IMPROVING,
    STEADY,
    TREND_LABELS,
    WORSENING,
    KpiPosition,
    PeriodResult,
    kpi_position,
    period_status,
    trend,
)
from .targets import MAX_REASON, TargetSetting, check_target_change, target_for, target_steps
from .thresholds import (
    AT_RISK,
    DIRECTION_LABELS,
    DIRECTIONS,
    HIGHER,
    LOWER,
    MISSING,
    OFF_TRACK,
    ON_TRACK,
    RED_STATUSES,
    STATUS_LABELS,
    STATUSES,
    Thresholds,
    check_direction,
    check_thresholds,
)

__all__ = [name for name in dir() if not name.startswith("_")]
