"""What a task search asks for: the synonym table of the standard's wording, and LIKE patterns with literal
`%`, `_` and backslash."""
import re

from workflows.search import MAX_PARTS, like_pattern, search_parts, synonym_groups


def _as_regex(pattern: str) -> re.Pattern:
    """The LIKE pattern as PostgreSQL reads it with ESCAPE '\\': a test of the escaping itself."""
    out, chars = [], iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars)))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S)


def test_a_supplier_is_an_external_provider_and_the_other_way_round():
    assert search_parts("supplier") == [("supplier", "external provider", "externally provided", "vendor",
                                         "subcontractor", "outsourced", "outsourcing", "purchasing")]
    assert "supplier" in search_parts("External provider")[0]
    assert search_parts("suppliers")[0][0] == "suppliers" and "external provider" in search_parts("suppliers")[0]


def test_phrases_are_found_longest_first_and_other_words_must_all_match():
    assert search_parts("customer complaint handling") == [
        ("customer complaint", "complaint", "customer feedback", "customer satisfaction"), ("handl",)]
    assert search_parts("Root cause, analysis!") == [("root cause", "corrective action", "capa"), ("analysi",)]
    assert search_parts("  ") == [] and search_parts("") == []


def test_other_words_match_their_word_family():
    assert search_parts("supplier evaluation")[1] == ("evalu",)  # finds "Evaluate external providers"
    assert search_parts("policies audits") == [("polic",), ("audit",)]
    assert search_parts("use") == [("use",)] and search_parts("client_file") == [("client_file",)]


def test_a_pasted_essay_stays_a_bounded_search():
    assert len(search_parts(" ".join(f"word{i}" for i in range(500)))) == MAX_PARTS
    assert search_parts("audit audit audit") == [("audit",)]


def test_the_synonym_table_is_lower_case_and_each_term_has_one_group():
    terms = [t for group in synonym_groups() for t in group]
    assert terms and all(t == t.lower().strip() and t for t in terms)
    assert len(terms) == len(set(terms))
    assert all(len(group) >= 2 for group in synonym_groups())


def test_like_wildcards_typed_by_a_user_are_literal():
    assert _as_regex(like_pattern("100%")).fullmatch("on time 100% of the time")
    assert not _as_regex(like_pattern("100%")).fullmatch("1000 deliveries")
    assert _as_regex(like_pattern("a_b")).fullmatch("see a_b")
    assert not _as_regex(like_pattern("a_b")).fullmatch("see axb")
    assert _as_regex(like_pattern("C:\\docs")).fullmatch("in C:\\docs folder")
    assert not _as_regex(like_pattern("C:\\docs")).fullmatch("in C:docs folder")
