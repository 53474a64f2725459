"""The gap-analysis checklist (data) and its rules: ratings, outcomes, scores, the every-item-rated check."""
import pytest

from workflows import GapAnalysisError, load_template
from workflows import gap_analysis as gap
from workflows import target_stage as ts

# Every numbered requirement of ISO 9001:2015, written out here (not read from the data) so that a
# requirement dropped from the checklist fails this test: the 28 clauses 4.1–10.3 and their subclauses.
ISO9001_REQUIREMENTS = [
    "4.1", "4.2", "4.3", "4.4", "4.4.1", "4.4.2",
    "5.1", "5.1.1", "5.1.2", "5.2", "5.2.1", "5.2.2", "5.3",
    "6.1", "6.1.1", "6.1.2", "6.2", "6.2.1", "6.2.2", "6.3",
    "7.1", "7.1.1", "7.1.2", "7.1.3", "7.1.4", "7.1.5", "7.1.5.1", "7.1.5.2", "7.1.6", "7.2", "7.3", "7.4",
    "7.5", "7.5.1", "7.5.2", "7.5.3", "7.5.3.1", "7.5.3.2",
    "8.1", "8.2", "8.2.1", "8.2.2", "8.2.3", "8.2.3.1", "8.2.3.2", "8.2.4",
    "8.3", "8.3.1", "8.3.2", "8.3.3", "8.3.4", "8.3.5", "8.3.6",
    "8.4", "8.4.1", "8.4.2", "8.4.3",
    "8.5", "8.5.1", "8.5.2", "8.5.3", "8.5.4", "8.5.5", "8.5.6", "8.6", "8.7", "8.7.1", "8.7.2",
    "9.1", "9.1.1", "9.1.2", "9.1.3", "9.2", "9.2.1", "9.2.2", "9.3", "9.3.1", "9.3.2", "9.3.3",
    "10.1", "10.2", "10.2.1", "10.2.2", "10.3",
]
HEADINGS = ["4.4", "5.1", "5.2", "6.1", "6.2", "7.1", "7.1.5", "7.5", "7.5.3", "8.2", "8.2.3", "8.3", "8.4",
            "8.5", "8.7", "9.1", "9.2", "9.3", "10.2"]
MAY_BE_EXCLUDED = ["7.1.5.2", "8.3.1", "8.3.2", "8.3.3", "8.3.4", "8.3.5", "8.3.6", "8.5.3", "8.5.5"]


@pytest.fixture(scope="module")
def checklist():
    return gap.load_checklist()


def test_the_checklist_covers_every_numbered_requirement(checklist):
    assert len(ISO9001_REQUIREMENTS) == 84
    assert [r.clause for r in checklist.requirements] == ISO9001_REQUIREMENTS
    assert len([c for c in ISO9001_REQUIREMENTS if c.count(".") == 1]) == 28


def test_headings_have_no_questions_and_every_other_requirement_one_to_three(checklist):
    assert [r.clause for r in checklist.requirements if not r.rated] == HEADINGS
    assert len(checklist.items()) == 65
    assert all(1 <= len(r.questions) <= 3 and r.title for r in checklist.items())
    assert checklist.find("7.1.5.2").title == "Measurement traceability"
    assert checklist.item("7.1.5") is None and checklist.item("9.9") is None


def test_only_the_exclusions_the_standard_allows(checklist):
    assert [r.clause for r in checklist.requirements if r.not_applicable] == MAY_BE_EXCLUDED
    assert checklist.find("7.1.5.1").not_applicable is False


def test_the_titles_agree_with_the_template_where_it_has_the_clause(checklist):
    template = load_template("iso9001-2015", 1)
    for r in checklist.requirements:
        clause = template.clause(r.clause)
        if clause is not None and r.title != "General":
            assert clause.title == r.title, r.clause


def test_clause_groups_4_to_10(checklist):
    assert [(g.number, g.title) for g in checklist.groups][:2] == [("4", "Context of the organization"),
                                                                  ("5", "Leadership")]
    assert [len(checklist.items(g.number)) for g in checklist.groups] == [5, 5, 5, 14, 24, 8, 4]


def test_checklist_data_faults_are_all_named():
    with pytest.raises(GapAnalysisError) as err:
        gap.parse_checklist({"groups": [{"number": "4", "title": "Context"}], "requirements": [
            {"clause": "4.2", "title": "B", "questions": ["q"]},
            {"clause": "4.1", "title": "A", "questions": []},
            {"clause": "4.2", "title": "", "questions": ["a", "b", "c", "d"], "not_applicable": True},
            {"clause": "5.1", "title": "C", "questions": ["q"]},
            {"clause": "x", "title": "D"},
        ]})
    assert str(err.value) == (
        "4.2 is listed twice; 5.1 belongs to no clause group; “x” is not a clause number; "
        "requirements are not in the standard's order; 4.1 needs one to three questions (0 given); "
        "4.2 has no title; 4.2 needs one to three questions (4 given); "
        "4.2 may be not applicable, so it needs questions and a hint for the reason")


@pytest.mark.parametrize("rating,outcome", [("conforming", "documented"), ("partly", "needs_documenting"),
                                            ("not_conforming", "missing")])
def test_each_rating_sorts_into_its_outcome_by_default(checklist, rating, outcome):
    assert gap.check_rating(checklist, "7.1.6", rating) == gap.Rating("7.1.6", rating, outcome, "")


def test_the_consultant_may_sort_a_gap_into_redesign(checklist):
    assert gap.check_rating(checklist, "8.5.1", "partly", "redesign").outcome == "redesign"
    assert gap.check_rating(checklist, "8.5.1", "not_conforming", "redesign").outcome == "redesign"


@pytest.mark.parametrize("rating,outcome,message", [
    ("conforming", "missing", "An item rated conforming sorts into “Complies and documented”."),
    ("partly", "missing", "An item rated partly sorts into “Complies, needs documenting” or “Must be redesigned”."),
    ("not_conforming", "documented", "An item rated not conforming sorts into “Missing” or “Must be redesigned”."),
])
def test_an_outcome_that_does_not_follow_from_the_rating_is_refused(checklist, rating, outcome, message):
    with pytest.raises(GapAnalysisError) as err:
        gap.check_rating(checklist, "8.5.1", rating, outcome)
    assert (str(err.value), err.value.status, err.value.field) == (message, 422, "outcome")


def test_not_applicable_only_where_the_standard_allows_it(checklist):
    with pytest.raises(GapAnalysisError) as err:
        gap.check_rating(checklist, "7.1.5.1", "not_applicable", justification="We measure nothing at all here.")
    assert err.value.field == "rating" and err.value.status == 422
    assert str(err.value).startswith("7.1.5.1 General cannot be not applicable: ISO 9001 allows excluding only")
    ok = gap.check_rating(checklist, "8.3.2", "not_applicable", "missing", "  We clean to the client's spec only.  ")
    assert ok == gap.Rating("8.3.2", "not_applicable", None, "We clean to the client's spec only.")


@pytest.mark.parametrize("justification", [None, "", "n/a", "x" * 19])
def test_not_applicable_needs_a_real_justification(checklist, justification):
    with pytest.raises(GapAnalysisError) as err:
        gap.check_rating(checklist, "7.1.5.2", "not_applicable", justification=justification)
    assert err.value.field == "justification"
    assert str(err.value).startswith("Say why 7.1.5.2 does not apply, in at least 20 characters: Say why no contract")


def test_a_justification_is_kept_only_for_not_applicable(checklist):
    assert gap.check_rating(checklist, "8.3.1", "partly", justification="we design a little").justification == ""


def test_bad_ratings_and_clauses(checklist):
    for clause in ("7.1.5", "4.4", "11.1", "", "7.1.5.3"):
        with pytest.raises(GapAnalysisError) as err:
            gap.check_rating(checklist, clause, "conforming")
        assert err.value.status == 404
    with pytest.raises(GapAnalysisError) as err:
        gap.check_rating(checklist, "4.1", "excellent")
    assert (str(err.value), err.value.field) == ("Choose a rating.", "rating")
    with pytest.raises(GapAnalysisError) as err:
        gap.check_rating(checklist, "4.1", "partly", notes="n" * 5_001)
    assert str(err.value) == "Notes can be at most 5,000 characters long (5,001 given)."
    with pytest.raises(GapAnalysisError) as err:
        gap.check_rating(checklist, "8.3.1", "not_applicable", justification="j" * 2_001)
    assert err.value.field == "justification" and "2,001 given" in str(err.value)


def test_scores_per_clause_group_and_overall(checklist):
    ratings = {"4.1": "conforming", "4.2": "partly", "4.3": "not_conforming", "4.4.1": "partly",
               "8.3.1": "not_applicable", "8.3.2": "not_applicable", "8.1": "conforming",
               "10.1": "partly", "10.2.1": "partly", "10.2.2": "not_conforming", "10.3": "conforming",
               "99.1": "conforming", "5.1.1": "unheard-of"}
    groups, overall = gap.scores(checklist, ratings)
    by_number = {s.number: s for s in groups}
    four = by_number["4"]
    assert (four.items, four.rated, four.conforming, four.partly, four.not_conforming, four.not_applicable) == \
        (5, 4, 1, 2, 1, 0)
    assert four.percent == 50  # (1 + ½ + ½) / 4
    assert by_number["5"].rated == 0 and by_number["5"].percent is None
    assert (by_number["8"].rated, by_number["8"].applicable, by_number["8"].percent) == (3, 1, 100)
    assert (by_number["10"].items, by_number["10"].percent) == (4, 50)  # (1 + ½ + ½ + 0) / 4
    assert (overall.items, overall.rated, overall.applicable) == (65, 11, 9)
    assert overall.percent == 56  # (3 + 4 × ½) / 9 = 55.6 %
    assert not overall.complete


def test_scores_round_half_a_per_cent_up():
    assert gap.Score("", "", 4, 4, 0, 1, 3, 0).percent == 13  # 12.5 %
    assert gap.Score("", "", 3, 3, 2, 0, 1, 0).percent == 67  # 66.67 %
    assert gap.Score("", "", 3, 3, 1, 0, 2, 0).percent == 33  # 33.33 %
    assert gap.Score("", "", 2, 2, 0, 0, 0, 2).percent is None  # nothing applicable


def test_every_item_rated(checklist):
    ratings = {i.clause: "conforming" for i in checklist.items()}
    assert gap.all_rated(checklist, ratings) and gap.unrated(checklist, ratings) == ()
    del ratings["7.1.5.2"], ratings["4.1"]
    ratings["4.4"] = "conforming"  # a heading counts for nothing
    assert gap.unrated(checklist, ratings) == ("4.1", "7.1.5.2")
    assert not gap.all_rated(checklist, ratings)
    assert gap.scores(checklist, ratings)[1].complete is False


def test_clauses_per_outcome_in_the_standards_order(checklist):
    listed = gap.by_outcome(checklist, {"9.2.1": "missing", "4.2": "missing", "7.5.2": "needs_documenting",
                                        "8.3.1": None, "4.4": "missing"})
    assert listed == {"documented": (), "needs_documenting": ("7.5.2",), "redesign": (), "missing": ("4.2", "9.2.1")}


def test_a_gap_is_remedied_where_a_finding_on_its_clause_is_targeted():
    """One rule for both (workflows/target_stage.py): the gap page, a gap's task and its finding agree."""
    template = load_template("iso9001-2015", 1)

    def remedy(clause, raised="initial_audit"):
        return ts.target_stage_for(template, raised, [clause])

    assert remedy("9.2.2") == "internal_audit"
    assert remedy("5.2.1") == "system_design"  # the policy is written in system design…
    assert remedy("5.2.2") == "implementation"  # …and communicated in implementation
    assert remedy("8.5.2") == "implementation"  # operations are built where they are run
    assert remedy("5.2.1", "implementation") == "implementation"  # never a stage already passed


def test_the_nearest_clause_a_template_knows():
    known = ["7.1.5", "7.1", "8.2.3", "4.1"]
    assert gap.nearest_clause("7.1.5.2", known) == "7.1.5"
    assert gap.nearest_clause("8.2.3.1", known) == "8.2.3"
    assert gap.nearest_clause("4.1", known) == "4.1"
    assert gap.nearest_clause("6.1.2", known) is None
