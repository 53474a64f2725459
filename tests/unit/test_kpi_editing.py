"""Editing a consultancy's copy of the KPI library: definitions from forms, checked by the same rules as the
shipped library, and what differs from the standard."""
import pytest

import workflows as wf
from workflows import kpi as wk

LIBRARY = wk.load_kpi_library()
CLAUSES = [c.number for c in wf.load_template(LIBRARY.template).clauses]


def typed(key="csat", **changes):
    return {**wk.form_values(LIBRARY.get(key)), **changes}


def test_the_form_of_a_definition_gives_the_definition_back():
    for d in LIBRARY.definitions:
        back, errors = wk.definition_from_form(wk.form_values(d), d.key, CLAUSES,
                                               never_zero_target=d.never_zero_target)
        assert errors == {}
        assert back == d


def test_numbers_are_read_as_people_type_them():
    d, errors = wk.definition_from_form(typed(target="92,5", amber="88 %", red="1 0"), "csat", CLAUSES)
    assert errors == {}
    assert (d.target, d.amber, d.red) == (92.5, 88.0, 10.0)


def test_clauses_in_any_separator_repeats_dropped():
    assert wk.clause_list("9.1.2, 8.2.1; 9.3 9.1.2") == ["9.1.2", "8.2.1", "9.3"]


@pytest.mark.parametrize("changes, field, message", [
    ({"amber": "95"}, "target",
     "Higher is better, so the target must be at least the amber threshold, and amber at least red."),
    ({"direction": "lower"}, "target",
     "Lower is better, so the target must be at most the amber threshold, and amber at most red."),
    ({"red": "-5"}, "target", "The red threshold -5 is below the lowest possible value 0."),
    ({"minimum": "100", "maximum": "0"}, "maximum", "The highest possible value must be above the lowest."),
    ({"target": "lots"}, "target", "Enter a number for the suggested target ('lots' is not a number)."),
    ({"amber": ""}, "amber", "Enter a number for the amber threshold (the value is empty)."),
    ({"name": "  "}, "name", "Give the KPI a name, e.g. “Invoices sent within 5 days”."),
    ({"name": "x" * 201}, "name", "Name must be at most 200 characters."),
    ({"unit": "u" * 41}, "unit", "Unit must be at most 40 characters."),
    ({"denominator": "d" * 301}, "denominator", "What it is out of must be at most 300 characters."),
    ({"note": "n" * 1001}, "note", "Note must be at most 1000 characters."),
    ({"clauses": ""}, "clauses", "Name at least one clause the KPI serves, e.g. 9.1.1."),
    ({"clauses": "9.1.2, 11.4"}, "clauses", "Clause 11.4 is not in the template."),
    ({"area": "finance"}, "area", "Area must be one of customer, delivery, people, suppliers, improvement."),
    ({"direction": "sideways"}, "direction", "Unknown direction 'sideways': choose higher or lower."),
    ({"frequency": "daily"}, "frequency", "Unknown frequency 'daily': choose one of weekly, monthly, quarterly, yearly."),
])
def test_each_fault_is_named_on_its_field(changes, field, message):
    d, errors = wk.definition_from_form(typed(**changes), "csat", CLAUSES)
    assert d is None
    assert errors[field] == [message]


def test_every_fault_at_once_and_the_thresholds_once_they_are_numbers():
    d, errors = wk.definition_from_form(typed(name="", target="x", unit="u" * 41, clauses="99"), "csat", CLAUSES)
    assert d is None
    assert sorted(errors) == ["clauses", "name", "target", "unit"]


def test_a_zero_target_is_refused_where_an_empty_log_means_nobody_looks():
    d, errors = wk.definition_from_form(typed("nonconformities_raised", target="0", amber="0", red="0"),
                                        "nonconformities_raised", CLAUSES, never_zero_target=True)
    assert errors == {"target": ["This KPI never has a zero target: an empty log means nobody is looking."]}


def test_a_name_another_definition_has_is_refused_whatever_the_case():
    d, errors = wk.definition_from_form(typed(name="net promoter SCORE"), "csat", CLAUSES,
                                        taken_names=["Net Promoter Score"])
    assert errors == {"name": ["Your library already has a KPI called “net promoter SCORE”."]}


def test_what_differs_from_the_standard():
    standard = LIBRARY.get("csat")
    mine, _ = wk.definition_from_form(typed(name="Client happiness", target="92.5", frequency="quarterly",
                                            clauses="9.1.2, 9.3"), "csat", CLAUSES)
    assert [(d.label, d.standard, d.yours) for d in wk.differences(standard, mine)] == [
        ("Name", "Customer satisfaction (CSAT)", "Client happiness"),
        ("Measured", "Monthly", "Quarterly"),
        ("Suggested target", "90", "92.5"),
        ("Clauses", "9.1.2", "9.1.2, 9.3"),
    ]
    assert wk.differences(standard, standard) == []


def test_a_key_of_its_own_never_takes_a_used_one():
    assert wk.new_key("Invoices sent within 5 days", LIBRARY.keys()) == "invoices_sent_within_5_days"
    assert wk.new_key("CSAT", LIBRARY.keys()) == "csat_2"
