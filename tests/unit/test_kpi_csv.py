from datetime import date

import pytest

from workflows.kpi import KpiError, parse_measurements_csv, parse_number, parse_period

TODAY = date(2026, 4, 15)


def parse(text, frequency="monthly", **kw):
    return parse_measurements_csv(text, frequency, TODAY, **kw)


def rows(result):
    return [(r.row, r.period.key, r.value, r.note) for r in result.rows]


def errors(result):
    return [(e.row, e.message) for e in result.errors]


def test_semicolons_decimal_commas_and_dotted_dates():
    result = parse("Datum;Wert;Bemerkung\n31.01.2026;87,5;Umfrage Januar\n28.02.2026;91,25;\n2026-03-31;88;\n".encode("utf-8"))
    assert result.ok and result.separator == ";"
    assert rows(result) == [(2, "2026-01", 87.5, "Umfrage Januar"), (3, "2026-02", 91.25, ""), (4, "2026-03", 88.0, "")]


def test_commas_with_decimal_points_and_period_keys():
    result = parse("period,value,note\n2026-01,87.5,\"survey, January\"\n2026-02,90,\n")
    assert result.ok and result.separator == ","
    assert rows(result) == [(2, "2026-01", 87.5, "survey, January"), (3, "2026-02", 90.0, "")]


def test_no_header_two_or_three_columns_and_a_bom():
    result = parse("\ufeff2026-01;87,5\n2026-02;90;fine\n")
    assert rows(result) == [(1, "2026-01", 87.5, ""), (2, "2026-02", 90.0, "fine")]


def test_windows_1252_files_are_read():
    result = parse("Periode;Valeur;Commentaire\n2026-01;87,5;Enquête\n".encode("cp1252"))
    assert rows(result) == [(2, "2026-01", 87.5, "Enquête")]


def test_a_date_maps_to_the_kpis_frequency():
    assert rows(parse("date;value\n15.02.2026;3\n", "quarterly")) == [(2, "2026-Q1", 3.0, "")]
    assert rows(parse("date;value\n2026-04-01;3\n", "weekly")) == [(2, "2026-W14", 3.0, "")]
    assert rows(parse("date;value\n2025-06-30;3\n", "yearly")) == [(2, "2025", 3.0, "")]


@pytest.mark.parametrize(
    "text, value",
    [("87,5", 87.5), ("87.5", 87.5), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("1 234,5", 1234.5), ("87 %", 87.0),
     ("-3", -3.0), (",5", 0.5), ("12", 12.0)],
)
def test_numbers_in_either_locale(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "12a", "1,2,3", "", "inf", "nan", "--1"])
def test_text_is_not_a_number(text):
    with pytest.raises(KpiError):
        parse_number(text)


def test_row_level_errors_keep_the_valid_rows():
    text = (
        "period;value;note\n"
        "2026-01;87,5;\n"        # 2 ok
        "2026-02;high;\n"        # 3 text in a number field
        "2026-03;88;a;b\n"       # 4 wrong columns
        "2026-13;80;\n"          # 5 not a period
        "31.02.2026;80;\n"       # 6 not a date
        "2026-Q1;80;\n"          # 7 wrong frequency
        "2026-05;80;\n"          # 8 future
        "2026-03;;\n"            # 9 empty value
        "2026-04;90;\n"          # 10 ok (the current month)
    )
    result = parse(text)
    assert rows(result) == [(2, "2026-01", 87.5, ""), (10, "2026-04", 90.0, "")]
    assert errors(result) == [
        (3, "'high' is not a number"),
        (4, "expected 3 columns, as in the header, found 4"),
        (5, "2026 has no month 13"),
        (6, "'31.02.2026' is not a date"),
        (7, "2026-Q1 is a quarterly period; this KPI is measured monthly"),
        (8, "2026-05 is in the future"),
        (9, "the value is empty"),
    ]


def test_duplicate_periods_within_the_file_are_both_refused():
    result = parse("period;value\n2026-01;80\n31.01.2026;85\n2026-02;90\n")
    assert rows(result) == [(4, "2026-02", 90.0, "")]
    assert errors(result) == [(2, "2026-01 appears again on row 3"), (3, "2026-01 appears again on row 2")]


def test_wrong_columns_without_a_header():
    result = parse("2026-01\n2026-02;1;2;3\n")
    assert errors(result) == [
        (1, "expected 2 or 3 columns (period, value, note), found 1"),
        (2, "expected 2 or 3 columns (period, value, note), found 4"),
    ]


def test_a_header_without_period_or_value_is_one_clear_error():
    result = parse("period;amount\n2026-01;3\n")
    assert rows(result) == []
    assert errors(result) == [
        (None, "The header needs a period column and a value column (for example: period;value;note), found: period, amount")
    ]


def test_a_short_row_may_leave_out_the_trailing_note():
    assert rows(parse("period;value;note\n2026-01;3\n")) == [(2, "2026-01", 3.0, "")]


@pytest.mark.parametrize("data", [b"", "", "\n\n  \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_one_clear_error(data):
    result = parse(data)
    assert rows(result) == [] and errors(result) == [(None, "The file is empty: it needs a period and a value on each line")]


def test_a_20_mb_file_is_refused_with_one_error():
    data = b"period;value\n" + b"2026-01;1\n" * 2_000_000
    assert len(data) > 20_000_000
    result = parse(data)
    assert rows(result) == []
    assert errors(result) == [(None, "The file is 20.0 MB; files of up to 1 MB can be imported")]


def test_too_many_rows():
    text = "period;value\n" + "".join(f"{parse_period('2000-01').key};1\n" for _ in range(5001))
    assert errors(parse(text)) == [(None, "The file has 5001 rows; at most 5000 can be imported at once")]


def test_a_long_note_is_a_row_error():
    assert errors(parse("period;value;note\n2026-01;3;" + "x" * 501 + "\n")) == [(2, "the note is longer than 500 characters")]
