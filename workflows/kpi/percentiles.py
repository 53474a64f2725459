"""Where one client stands among others on one KPI, the KPI's direction taken into account.

A client's percentile is the share of the *other* clients it does better than, a tie counting half:
the best of 47 is at the 100th percentile, the worst at the 0th, and on a lower-is-better KPI
(complaints per 100 jobs) the lowest value is the best. With nobody to compare with, there is none.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Mapping

from .thresholds import HIGHER, check_direction


def percentile_of(value: float, others: list[float], direction: str) -> int | None:
    """The percentile (0–100, rounded) of `value` among `others` (which do not include it)."""
    check_direction(direction)
    if not others:
        return None
    better = direction == HIGHER
    beaten = sum(1 for o in others if (value > o if better else value < o))
    ties = sum(1 for o in others if o == value)
    return round(100 * (beaten + ties / 2) / len(others))


def percentiles(values: Mapping[Hashable, float], direction: str) -> dict[Hashable, int | None]:
    """Every client's percentile among the others of `values` (client → latest value); n log n, for
    a consultancy's thousands of clients."""
    check_direction(direction)
    ordered = sorted(values.values())
    others = len(ordered) - 1
    found: dict[Hashable, int | None] = {}
    for key, v in values.items():
        below, up_to = bisect_left(ordered, v), bisect_right(ordered, v)
        ties = up_to - below - 1  # not itself
        beaten = below if direction == HIGHER else len(ordered) - up_to
        found[key] = round(100 * (beaten + ties / 2) / others) if others else None
    return found


def ordinal(n: int) -> str:
    """30 → "30th", 1 → "1st", 12 → "12th": how a percentile is said."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
