"""Reading measurements from a CSV file, as spreadsheets in different locales
write them: ``,`` or ``;`` between fields, decimal comma or point, periods as
keys (``2026-03``) or dates (``31.03.2026``, ``2026-03-31``; a date stands for
the period of the KPI's frequency that contains it).

Nothing is stored here: the result holds the rows that can be imported and
every row-level error with its row number (the file's line, header included),
so the app can show a preview and import only what the user confirms.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date

from ..errors import KpiError
from .periods import Period, parse_period, period_containing

MAX_BYTES = 1_000_000  # years of monthly values fit in a few kilobytes
MAX_ROWS = 5_000
MAX_NOTE = 500

_HEADER_NAMES = {
    "period": {"period", "month", "quarter", "week", "year", "date", "periode", "période", "datum", "zeitraum", "monat"},
    "value": {"value", "result", "measurement", "actual", "wert", "valeur", "ergebnis", "waarde", "valor"},
    "note": {"note", "notes", "comment", "comments", "remark", "bemerkung", "kommentar", "commentaire"},
}
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")


@dataclass(frozen=True)
class ImportRow:
    row: int
    period: Period
    value: float
    note: str


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the file as a whole
    message: str


@dataclass(frozen=True)
class ImportResult:
    rows: tuple[ImportRow, ...]
    errors: tuple[RowError, ...]
    separator: str = ","

    @property
    def ok(self) -> bool:
        return not self.errors


def _file_error(message: str) -> ImportResult:
    return ImportResult((), (RowError(None, message),))


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel in western Europe saves "CSV" as Windows-1252.
        return data.decode("cp1252", errors="replace")


def _sniff_separator(lines: list[str]) -> str:
    # The first lines decide; on a tie ";" wins, since decimal commas come with it.
    sample = "\n".join(lines[:5])
    return max((";", "\t", ","), key=sample.count) if any(s in sample for s in ";\t,") else ","


def parse_number(text: str) -> float:
    """A number as people type it: "87.5", "87,5", "1 234,5", "1.234,5",
    "1,234.5", "87 %". Raises KpiError for anything else."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text or "").removesuffix("%")
    if "," in cleaned and "." in cleaned:
        # Both present: the last one is the decimal separator, the other groups thousands.
        thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
        cleaned = cleaned.replace(thousands, "")
    if not _NUMBER.match(cleaned):
        raise KpiError(f"{text.strip()!r} is not a number" if text.strip() else "the value is empty")
    value = float(cleaned.replace(",", "."))
    if not math.isfinite(value):
        raise KpiError(f"{text.strip()!r} is not a number")
    return value


def parse_period_cell(text: str, frequency: str) -> Period:
    """A period key of the KPI's frequency, or a date in it (dd.mm.yyyy or yyyy-mm-dd)."""
    cell = (text or "").strip()
    for pattern, order in ((_DOTTED_DATE, (3, 2, 1)), (_ISO_DATE, (1, 2, 3))):
        m = pattern.match(cell)
        if m:
            try:
                day = date(*(int(m.group(i)) for i in order))
            except ValueError:
                raise KpiError(f"{cell!r} is not a date") from None
            return period_containing(day, frequency)
    if not cell:
        raise KpiError("the period is empty")
    return parse_period(cell, frequency)


def _header_columns(cells: list[str]) -> dict[str, int] | None:
    """Column positions when `cells` is a header row; None when it is data."""
    names = [c.strip().lower() for c in cells]
    found = {}
    for position, name in enumerate(names):
        for column, aliases in _HEADER_NAMES.items():
            if name in aliases and column not in found:
                found[column] = position
    if found:
        return found
    return None


def _fits(cells: list[str], columns: dict[str, int], width: int | None) -> bool:
    if width is None:
        return len(cells) in (2, 3)
    # Spreadsheets drop trailing empty cells: a row may stop before an empty note.
    return len(cells) == width or max(columns["period"], columns["value"]) < len(cells) < width


def parse_measurements_csv(data: bytes | str, frequency: str, today: date, *, max_bytes: int = MAX_BYTES) -> ImportResult:
    """Valid rows and row errors; a file that cannot be read at all (empty,
    too large, no period and value columns) gives one error with row None."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        return _file_error(f"The file is {size / 1_000_000:.1f} MB; files of up to {max_bytes / 1_000_000:g} MB can be imported")
    text = _decode(data)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return _file_error("The file is empty: it needs a period and a value on each line")
    separator = _sniff_separator(lines)
    table = list(csv.reader(io.StringIO(text), delimiter=separator))
    numbered = [(n, [c.strip() for c in cells]) for n, cells in enumerate(table, start=1) if any(c.strip() for c in cells)]
    columns = _header_columns(numbered[0][1])
    if columns is not None:
        if "period" not in columns or "value" not in columns:
            return _file_error(
                "The header needs a period column and a value column (for example: period;value;note), "
                f"found: {', '.join(numbered[0][1])}"
            )
        width = len(numbered[0][1])
        numbered = numbered[1:]
    else:
        columns = {"period": 0, "value": 1, "note": 2}
        width = None
    if len(numbered) > MAX_ROWS:
        return _file_error(f"The file has {len(numbered)} rows; at most {MAX_ROWS} can be imported at once")
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for n, cells in numbered:
        if not _fits(cells, columns, width):
            expected = f"{width} columns, as in the header" if width else "2 or 3 columns (period, value, note)"
            errors.append(RowError(n, f"expected {expected}, found {len(cells)}"))
            continue
        problems = []
        try:
            period = parse_period_cell(cells[columns["period"]], frequency)
            if period.is_future(today):
                problems.append(f"{period.key} is in the future")
        except KpiError as exc:
            problems.append(str(exc))
        try:
            value = parse_number(cells[columns["value"]])
        except (KpiError, IndexError) as exc:
            problems.append(str(exc) if isinstance(exc, KpiError) else "the value is missing")
        note = cells[columns["note"]] if "note" in columns and columns["note"] < len(cells) else ""
        if len(note) > MAX_NOTE:
            problems.append(f"the note is longer than {MAX_NOTE} characters")
        if problems:
            errors.append(RowError(n, "; ".join(problems)))
        else:
            rows.append(ImportRow(n, period, value, note))
    return _without_duplicates(rows, errors, separator)


def _without_duplicates(rows: list[ImportRow], errors: list[RowError], separator: str) -> ImportResult:
    # Two values for one period: neither is imported, since the file does not say which is right.
    by_period: dict[Period, list[int]] = {}
    for r in rows:
        by_period.setdefault(r.period, []).append(r.row)
    kept = []
    for r in rows:
        numbers = by_period[r.period]
        if len(numbers) > 1:
            others = ", ".join(str(x) for x in numbers if x != r.row)
            errors.append(RowError(r.row, f"{r.period.key} appears again on row {others}"))
        else:
            kept.append(r)
    errors.sort(key=lambda e: e.row or 0)
    return ImportResult(tuple(kept), tuple(errors), separator)
