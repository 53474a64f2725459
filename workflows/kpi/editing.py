"""Editing a consultancy's copy of the KPI library: a definition from what a
consultant typed, the form's values for a definition, and what differs from
the standard library.

The checks themselves are `library.check_definition`'s, the same ones the
shipped library passes, so an edited definition can never be one the standard
library would refuse (a red threshold on the wrong side of the target, a clause
the template does not know).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import KpiError
from ..template.edit import derive_key
from .csv_import import parse_number
from .library import AREA_LABELS, KpiDefinition, check_definition
from .periods import FREQUENCY_LABELS
from .thresholds import DIRECTION_LABELS

# What the edit form shows, in its order; minimum/maximum are optional bounds of possible values.
FORM_FIELDS: tuple[str, ...] = ("name", "area", "numerator", "denominator", "unit", "direction", "frequency",
                                "target", "amber", "red", "minimum", "maximum", "clauses", "note")
FIELD_LABELS: dict[str, str] = {
    "name": "Name", "area": "Area", "numerator": "What is counted", "denominator": "Out of", "unit": "Unit",
    "direction": "Direction", "frequency": "Measured", "target": "Suggested target", "amber": "Amber threshold",
    "red": "Red threshold", "minimum": "Lowest possible value", "maximum": "Highest possible value",
    "clauses": "Clauses", "note": "Note for the consultant",
}
_CLAUSE_SPLIT = re.compile(r"[\s,;]+")
_NUMBERS = ("target", "amber", "red", "minimum", "maximum")
_OPTIONAL_NUMBERS = ("minimum", "maximum")
# check_definition speaks of fields by their data names; the form of what a consultant sees.
_EMPTY = {
    "name": "Give the KPI a name, e.g. “Invoices sent within 5 days”.",
    "numerator": "Say what is counted or measured.",
    "unit": "Give the unit, e.g. %, days, count.",
    "clauses": "Name at least one clause the KPI serves, e.g. 9.1.1.",
}
_PLAIN = {"numerator": "what is counted", "denominator": "what it is out of"}


@dataclass(frozen=True)
class Difference:
    field: str
    label: str
    standard: str
    yours: str


def _sentence(message: str) -> str:
    for name, plain in _PLAIN.items():
        message = message.replace(f"{name} must", f"{plain} must")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def clause_list(text: str) -> list[str]:
    """"9.1.2, 8.2.1; 9.3" -> ["9.1.2", "8.2.1", "9.3"], in the order typed, repeats dropped."""
    return list(dict.fromkeys(r.strip(".") for r in _CLAUSE_SPLIT.split(text or "") if r.strip(".")))


def definition_from_form(form: Mapping[str, str], key: str, clauses: Iterable[str] | None, *,
                         never_zero_target: bool = False, taken_names: Iterable[str] = ()
                         ) -> tuple[KpiDefinition | None, dict[str, list[str]]]:
    """The definition a form describes, or None with every problem on its field (numbers are read as people
    type them: "87,5", "1 234.5", "90 %"). `taken_names`: other definitions' names, which this one may not
    take (a client holds each KPI name once)."""
    errors: dict[str, list[str]] = {}
    entry: dict = {"key": key, "never_zero_target": never_zero_target}
    for name in FORM_FIELDS:
        text = str(form.get(name) or "").strip()
        if name in _NUMBERS:
            if not text and name in _OPTIONAL_NUMBERS:
                entry[name] = None
                continue
            try:
                entry[name] = parse_number(text)
            except KpiError as err:
                errors.setdefault(name, []).append(f"Enter a number for the {FIELD_LABELS[name].lower()} ({err}).")
                entry[name] = None
        elif name == "clauses":
            entry[name] = clause_list(text)
        else:
            entry[name] = text
    for name, message in _EMPTY.items():
        if not entry[name]:
            errors.setdefault(name, []).append(message)
    if entry["name"] and entry["name"].lower() in {n.lower() for n in taken_names}:
        errors.setdefault("name", []).append(f"Your library already has a KPI called “{entry['name']}”.")
    unreadable = any(entry[name] is None for name in ("target", "amber", "red"))
    if unreadable:  # the other fields are still checked; the thresholds only once all three are numbers
        entry.update(target=0.0, amber=0.0, red=0.0, never_zero_target=False)
    definition, found = check_definition(entry, clauses)
    if unreadable:
        found.pop("target", None)
    for name, messages in found.items():
        if name not in errors:  # the form's own message for a field says it better
            errors[name] = [_sentence(m) for m in messages]
    return (definition if not errors else None), errors


def form_values(definition: KpiDefinition) -> dict[str, str]:
    """The edit form filled in with a definition, numbers as they were written."""
    values = {name: getattr(definition, name) for name in FORM_FIELDS}
    for name in _NUMBERS:
        values[name] = "" if values[name] is None else f"{values[name]:g}"
    values["clauses"] = ", ".join(definition.clauses)
    return values


def new_key(name: str, taken: Iterable[str]) -> str:
    """A key for a consultancy's own definition, never one the standard library or the consultancy uses."""
    return derive_key(name, taken)


def _shown(name: str, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    if name == "clauses":
        return ", ".join(value)
    labels = {"direction": DIRECTION_LABELS, "frequency": FREQUENCY_LABELS, "area": AREA_LABELS}.get(name, {})
    return labels.get(value, str(value))


def differences(standard: KpiDefinition, yours: KpiDefinition) -> list[Difference]:
    """What the consultancy changed in its copy of a standard definition, field by field."""
    out = []
    for name in FORM_FIELDS:
        before, after = getattr(standard, name), getattr(yours, name)
        if before != after:
            out.append(Difference(name, FIELD_LABELS[name], _shown(name, before), _shown(name, after)))
    return out
