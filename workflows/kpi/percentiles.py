"""Where one client stands among others on one KPI, the KPI's direction taken into account.

A client's percentile is the share of the *other* clients it does better than, a tie counting half:
the best of 47 is at the 100th percentile, the worst at the 0th, and on a lower-is-better KPI
(complaints per 100 jobs) the lowest value is the best. With nobody to compare with, there is none.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Mapping

from .thresholds import HIGHER, check_direction


def from_counts(below: int, ties: int, above: int, direction: str) -> int | None:
    """The percentile (0–100, rounded) of a value with `below` other values under it, `ties` others equal to it
    and `above` over it: what every percentile here comes down to."""
    check_direction(direction)
    others = below + ties + above
    if not others:
        return None
    beaten = below if direction == HIGHER else above
    return round(100 * (beaten + ties / 2) / others)


def percentile_of(value: float, others: list[float], direction: str) -> int | None:
    """The percentile of `value` among `others` (which do not include it)."""
    below = sum(1 for o in others if o < value)
    ties = sum(1 for o in others if o == value)
    return from_counts(below, ties, len(others) - below - ties, direction)


def percentiles(values: Mapping[Hashable, float], direction: str) -> dict[Hashable, int | None]:
    """Every client's percentile among the others of `values` (client → latest value); n log n, for
    a consultancy's thousands of clients."""
    check_direction(direction)
    ordered = sorted(values.values())
    found: dict[Hashable, int | None] = {}
    for key, v in values.items():
        below, up_to = bisect_left(ordered, v), bisect_right(ordered, v)
        found[key] = from_counts(below, up_to - below - 1, len(ordered) - up_to, direction)
    return found


def ordinal(n: int) -> str:
    """30 → "30th", 1 → "1st", 12 → "12th": how a percentile is said."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
