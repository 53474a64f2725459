"""The standard KPI library, shipped as data in ``data/<key>/v<N>.toml``
beside this module (the same layout and format as the certification
templates), and the checks every definition must pass.

A consultancy copies the library and edits its copy; a client takes KPIs from
that copy or defines its own. Either way a definition is checked here, so a
threshold on the wrong side of its target or a clause the template does not
know never reaches a client.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import KpiError
from ..template import load_template
from ..template.model import is_valid_key
from .periods import check_frequency
from .thresholds import Thresholds, check_direction, check_thresholds

DEFAULT_LIBRARY = "small-service"
AREAS: tuple[str, ...] = ("customer", "delivery", "people", "suppliers", "improvement")
AREA_LABELS: dict[str, str] = {
    "customer": "Customer",
    "delivery": "Service delivery",
    "people": "People",
    "suppliers": "Suppliers",
    "improvement": "Improvement",
}

_REQUIRED = {"key", "name", "area", "numerator", "unit", "direction", "frequency", "target", "amber", "red", "clauses"}
_OPTIONAL = {"denominator", "minimum", "maximum", "never_zero_target", "note"}


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    name: str
    area: str
    numerator: str
    denominator: str
    unit: str
    direction: str
    frequency: str
    target: float
    amber: float
    red: float
    clauses: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    never_zero_target: bool = False
    note: str = ""

    @property
    def formula(self) -> str:
        """The formula in words: "numerator ÷ denominator" (or the numerator alone)."""
        return f"{self.numerator} ÷ {self.denominator}" if self.denominator else self.numerator

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.direction, self.target, self.amber, self.red)


@dataclass(frozen=True)
class KpiLibrary:
    key: str
    version: int
    name: str
    template: str
    definitions: tuple[KpiDefinition, ...]

    def get(self, key: str) -> KpiDefinition:
        for definition in self.definitions:
            if definition.key == key:
                return definition
        raise KpiError(f"The KPI library has no KPI {key!r}")

    def keys(self) -> list[str]:
        return [d.key for d in self.definitions]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Longest texts a definition may carry (the columns of a consultancy's library hold as much).
NAME_MAX, UNIT_MAX, FORMULA_MAX, NOTE_MAX = 200, 40, 300, 1000
_LENGTHS = {"name": NAME_MAX, "unit": UNIT_MAX, "numerator": FORMULA_MAX, "denominator": FORMULA_MAX,
            "note": NOTE_MAX}


def check_definition(entry: Mapping[str, Any], clauses: Iterable[str] | None = None
                     ) -> tuple[KpiDefinition | None, dict[str, list[str]]]:
    """A definition from its fields (every required one present), or None with the problems by field:
    the one set of rules for the shipped library, a consultancy's edits and its own KPIs.
    `clauses` are the clause numbers a definition may cite (None: any)."""
    found: dict[str, list[str]] = {}

    def problem(name: str, message: str) -> None:
        found.setdefault(name, []).append(message)

    if not is_valid_key(entry["key"]):
        problem("key", "its key must be lowercase letters, digits, '.', '_' or '-'")
    for name in ("name", "numerator", "unit"):
        if not isinstance(entry[name], str) or not entry[name].strip():
            problem(name, f"{name} must be a non-empty string")
    for name, limit in _LENGTHS.items():
        if isinstance(entry.get(name), str) and len(entry[name].strip()) > limit:
            problem(name, f"{name} must be at most {limit} characters")
    for name in ("target", "amber", "red", "minimum", "maximum"):
        if entry.get(name) is not None and not _number(entry[name]):
            problem(name, f"{name} must be a number")
    if entry["area"] not in AREAS:
        problem("area", f"area must be one of {', '.join(AREAS)}")
    refs = entry["clauses"]
    if not isinstance(refs, (list, tuple)) or not refs or not all(isinstance(c, str) for c in refs):
        problem("clauses", "clauses must be a non-empty list of clause numbers")
    elif clauses is not None:
        known = set(clauses)
        for c in refs:
            if c not in known:
                problem("clauses", f"clause {c} is not in the template")
    for check in (check_direction, check_frequency):
        name = check.__name__.removeprefix("check_")
        try:
            check(entry[name])
        except KpiError as exc:
            problem(name, str(exc))
    minimum, maximum = entry.get("minimum"), entry.get("maximum")
    if not found and minimum is not None and maximum is not None and minimum >= maximum:
        problem("maximum", "the highest possible value must be above the lowest")
    if not found:
        try:
            check_thresholds(entry["direction"], entry["target"], entry["amber"], entry["red"], minimum=minimum,
                             maximum=maximum, never_zero_target=bool(entry.get("never_zero_target", False)))
        except KpiError as exc:
            problem("target", str(exc))
    if found:
        return None, found
    return KpiDefinition(
        key=entry["key"],
        name=entry["name"].strip(),
        area=entry["area"],
        numerator=entry["numerator"].strip(),
        denominator=str(entry.get("denominator") or "").strip(),
        unit=entry["unit"].strip(),
        direction=entry["direction"],
        frequency=entry["frequency"],
        target=float(entry["target"]),
        amber=float(entry["amber"]),
        red=float(entry["red"]),
        clauses=tuple(refs),
        minimum=float(minimum) if minimum is not None else None,
        maximum=float(maximum) if maximum is not None else None,
        never_zero_target=bool(entry.get("never_zero_target", False)),
        note=str(entry.get("note") or "").strip(),
    ), {}


def _read_definition(entry: Any, where: str, clauses: set[str] | None, problems: list[str]) -> KpiDefinition | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: expected a table")
        return None
    missing = sorted(_REQUIRED - set(entry))
    unknown = sorted(set(entry) - _REQUIRED - _OPTIONAL)
    problems.extend(f"{where}: {'missing' if name in missing else 'unknown field'} {name!r}"
                    for name in [*missing, *unknown])
    if missing or unknown:
        return None
    definition, found = check_definition(entry, clauses)
    problems.extend(f"KPI {entry['key']!r}: {message}" for messages in found.values() for message in messages)
    return definition


def read_kpi_library(data: Mapping[str, Any], clauses: Iterable[str] | None = None) -> KpiLibrary:
    """A library from its dict form, checked; `clauses` are the clause numbers
    definitions may cite (the template's, when the library names one)."""
    problems: list[str] = []
    for name in ("key", "name", "template"):
        if not isinstance(data.get(name), str):
            problems.append(f"missing {name!r}")
    if not isinstance(data.get("version"), int) or isinstance(data.get("version"), bool):
        problems.append("missing 'version' (an integer)")
    entries = data.get("kpis")
    if not isinstance(entries, list) or not entries:
        problems.append("no [[kpis]] entries")
        entries = []
    known = set(clauses) if clauses is not None else None
    definitions = []
    for n, entry in enumerate(entries, start=1):
        definition = _read_definition(entry, f"kpis[{n}]", known, problems)
        if definition is not None:
            definitions.append(definition)
    seen: set[str] = set()
    for definition in definitions:
        if definition.key in seen:
            problems.append(f"KPI {definition.key!r} is defined twice")
        seen.add(definition.key)
    if problems:
        raise KpiError("The KPI library is invalid: " + "; ".join(problems))
    return KpiLibrary(data["key"], data["version"], data["name"], data["template"], tuple(definitions))


@cache
def load_kpi_library(key: str = DEFAULT_LIBRARY, version: int = 1) -> KpiLibrary:
    """A shipped library, checked against the latest version of the template it names."""
    if not is_valid_key(key):
        raise KpiError(f"Invalid KPI library key {key!r}")
    path = resources.files(__package__).joinpath("data", key, f"v{version}.toml")
    if not path.is_file():
        raise KpiError(f"No KPI library {key!r} version {version}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    template_key = data.get("template")
    clauses = [c.number for c in load_template(template_key).clauses] if isinstance(template_key, str) else None
    library = read_kpi_library(data, clauses)
    if (library.key, library.version) != (key, version):
        raise KpiError(f"data/{key}/v{version}.toml declares {library.key} v{library.version}")
    return library
