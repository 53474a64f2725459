"""What a search asks for: the words someone typed, each widened to the standard's wording.

A query is cut into parts: phrases of the synonym table (workflows/data/synonyms.toml), longest first,
and single words, cut to their stem. A match must contain every part, in any of that part's alternatives — so "supplier
evaluation" finds "Evaluate external providers", and a whole phrase found as typed always still matches.
`like_pattern` makes a term a LIKE pattern in which `%`, `_` and `\\` are plain characters.
"""
from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

MAX_QUERY = 200  # characters looked at; a search box needs no more
MAX_PARTS = 8  # the SQL grows with the parts: keep it bounded whatever is pasted in
_EDGE_PUNCTUATION = ",.;:!?()[]\"'“”‘’"


@cache
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    raw = tomllib.loads(resources.files(__package__).joinpath("data", "synonyms.toml").read_text("utf-8"))
    return tuple(tuple(group["terms"]) for group in raw["group"])


@cache
def _group_of() -> dict[str, tuple[str, ...]]:
    return {term: group for group in synonym_groups() for term in group}


@cache
def _longest_term() -> int:
    return max(len(term.split()) for group in synonym_groups() for term in group)


def _lookup(phrase: str) -> tuple[str, ...] | None:
    groups = _group_of()
    if phrase in groups:
        return groups[phrase]
    if phrase.endswith("s") and phrase[:-1] in groups:  # "suppliers" → "supplier"
        return groups[phrase[:-1]]
    return None


# Endings cut from other words so that the word family matches: "evaluation" finds "Evaluate", "audits"
# "audit", "policies" "policy". Longest first; at least four letters stay.
_ENDINGS = ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s", "e")


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4 and word[:-len(ending)].isalpha():
            return word[:-len(ending)]
    return word


def search_parts(query: str) -> list[tuple[str, ...]]:
    """The parts a match must all contain, each as the alternatives that count (what was typed first)."""
    words = [w.strip(_EDGE_PUNCTUATION) or w for w in (query or "")[:MAX_QUERY].lower().split()]
    parts: list[tuple[str, ...]] = []
    i = 0
    while i < len(words) and len(parts) < MAX_PARTS:
        for n in range(min(_longest_term(), len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + n])
            group = _lookup(phrase)
            if group is not None:
                parts.append((phrase, *(t for t in group if t != phrase)))
                i += n
                break
        else:
            word = _stem(words[i])
            if (word,) not in parts:
                parts.append((word,))
            i += 1
    return parts


def like_pattern(term: str) -> str:
    """`term` anywhere, with LIKE's wildcards taken literally (use with escape="\\\\")."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
