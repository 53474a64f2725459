import copy
import tomllib
from importlib import resources

import pytest

from workflows import kpi, load_template
from workflows.kpi import KpiError, check_thresholds, load_kpi_library, read_kpi_library

ISSUE_16_KPIS = {
    "csat", "nps", "survey_response_rate", "on_time_delivery", "sla_met", "first_response_time",
    "complaints_per_100_jobs", "complaints_resolved_on_time", "right_first_time", "nonconformities_raised",
    "corrective_actions_on_time", "corrective_action_effectiveness", "stale_items", "training_completion",
    "competence_coverage", "supplier_performance", "process_cycle_time", "rework_rate", "utilisation",
    "budget_adherence", "objectives_on_track", "audit_programme_adherence", "customer_retention",
}


@pytest.fixture
def raw():
    path = resources.files("workflows.kpi").joinpath("data", "small-service", "v1.toml")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def clauses():
    return [c.number for c in load_template().clauses]


def test_the_shipped_library_holds_the_23_kpis_of_the_issue():
    library = load_kpi_library()
    assert (library.key, library.version, library.template) == ("small-service", 1, "iso9001-2015")
    assert set(library.keys()) == ISSUE_16_KPIS
    assert len(library.definitions) == 23
    assert load_kpi_library() is library  # cached


def test_every_definition_is_complete_and_consistent():
    known = set(clauses())
    for d in load_kpi_library().definitions:
        assert d.name and d.numerator and d.unit, d.key
        assert d.direction in kpi.DIRECTIONS and d.frequency in kpi.FREQUENCIES and d.area in kpi.AREAS
        assert d.clauses and set(d.clauses) <= known, d.key
        # Thresholds on the right side of the target, for the KPI's direction.
        assert check_thresholds(d.direction, d.target, d.amber, d.red) == d.thresholds


def test_all_four_frequencies_are_used():
    assert {d.frequency for d in load_kpi_library().definitions} == set(kpi.FREQUENCIES)


def test_formula_in_words():
    library = load_kpi_library()
    assert library.get("csat").formula == "Survey responses scoring 4 or 5 out of 5 ÷ All survey responses"
    assert library.get("stale_items").formula.startswith("Open nonconformities")  # a count: no denominator


def test_nonconformities_raised_never_has_a_zero_target():
    ncs = load_kpi_library().get("nonconformities_raised")
    assert ncs.target > 0 and ncs.never_zero_target and ncs.direction == "higher"
    # Zero nonconformities in a month is what turns it red: nobody was looking.
    assert ncs.thresholds.status_of(0) == kpi.OFF_TRACK


def test_unknown_key():
    with pytest.raises(KpiError, match="no KPI 'ebitda'"):
        load_kpi_library().get("ebitda")
    with pytest.raises(KpiError, match="No KPI library"):
        load_kpi_library("nope")
    with pytest.raises(KpiError, match="Invalid"):
        load_kpi_library("../etc")


def _broken(raw, **changes):
    data = copy.deepcopy(raw)
    data["kpis"][0].update(changes)
    return data


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"clauses": ["9.9"]}, "KPI 'csat': clause 9.9 is not in the template"),
        ({"amber": 95}, "higher is better, so the target must be at least the amber threshold"),
        ({"direction": "lower"}, "lower is better, so the target must be at most the amber threshold"),
        ({"direction": "sideways"}, "Unknown direction 'sideways'"),
        ({"frequency": "daily"}, "Unknown frequency 'daily'"),
        ({"target": 120}, "the target 120 is above the highest possible value 100"),
        ({"target": "90"}, "target must be a number"),
        ({"area": "finance"}, "area must be one of"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"clauses": []}, "clauses must be a non-empty list"),
    ],
)
def test_the_loader_names_each_fault(raw, changes, message):
    with pytest.raises(KpiError, match="The KPI library is invalid") as err:
        read_kpi_library(_broken(raw, **changes), clauses())
    assert message.lower() in str(err.value).lower()


def test_a_zero_target_for_nonconformities_is_refused(raw):
    data = copy.deepcopy(raw)
    entry = next(e for e in data["kpis"] if e["key"] == "nonconformities_raised")
    entry.update(target=0, amber=0, red=0)
    with pytest.raises(KpiError, match="never has a zero target"):
        read_kpi_library(data, clauses())


def test_missing_fields_and_duplicates(raw):
    data = copy.deepcopy(raw)
    del data["kpis"][0]["unit"]
    data["kpis"].append(copy.deepcopy(data["kpis"][1]))
    with pytest.raises(KpiError) as err:
        read_kpi_library(data, clauses())
    assert "kpis[1]: missing 'unit'" in str(err.value)
    assert "KPI 'nps' is defined twice" in str(err.value)


def test_without_a_clause_list_any_clause_passes(raw):
    assert read_kpi_library(_broken(raw, clauses=["9.9"])).get("csat").clauses == ("9.9",)
