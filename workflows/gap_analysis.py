"""The gap analysis of the initial audit: a checklist over every numbered requirement of a standard, each item
rated by the consultant, what each rating sorts into, and the scores per clause group and overall.

The checklist is data (``data/gap-checklist-<key>.toml``), keyed by clause, so that the internal audit can ask
the same questions. A requirement with numbered subclauses is a heading; its subclauses are the items rated.

Ratings and what follows from them:

- conforming: the requirement is met and documented — *complies and documented*;
- partly: met in practice but not written down (*complies, needs documenting*) or not met as it stands
  (*must be redesigned*);
- not conforming: something exists but does not meet the requirement (*must be redesigned*) or nothing
  exists (*missing*);
- not applicable: only where the standard allows the requirement to be excluded, with a justification.

A score counts conforming as 1 and partly as ½ over the items rated and applicable, in whole per cent.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .errors import GapAnalysisError

DEFAULT_CHECKLIST = "iso9001-2015"

CONFORMING, PARTLY, NOT_CONFORMING, NOT_APPLICABLE = "conforming", "partly", "not_conforming", "not_applicable"
RATINGS: tuple[str, ...] = (CONFORMING, PARTLY, NOT_CONFORMING, NOT_APPLICABLE)
RATING_LABELS: dict[str, str] = {CONFORMING: "Conforming", PARTLY: "Partly", NOT_CONFORMING: "Not conforming",
                                 NOT_APPLICABLE: "Not applicable"}
GAP_RATINGS: frozenset[str] = frozenset({PARTLY, NOT_CONFORMING})  # a finding or a task can follow

DOCUMENTED, NEEDS_DOCUMENTING, REDESIGN, MISSING = "documented", "needs_documenting", "redesign", "missing"
OUTCOMES: tuple[str, ...] = (DOCUMENTED, NEEDS_DOCUMENTING, REDESIGN, MISSING)
OUTCOME_LABELS: dict[str, str] = {DOCUMENTED: "Complies and documented",
                                  NEEDS_DOCUMENTING: "Complies, needs documenting",
                                  REDESIGN: "Must be redesigned", MISSING: "Missing"}
# What each rating may sort into; the first is what it sorts into unless the consultant says otherwise.
OUTCOMES_BY_RATING: dict[str, tuple[str, ...]] = {CONFORMING: (DOCUMENTED,), PARTLY: (NEEDS_DOCUMENTING, REDESIGN),
                                                  NOT_CONFORMING: (MISSING, REDESIGN), NOT_APPLICABLE: ()}

NOTES_MAX = 5_000
JUSTIFICATION_MIN = 20  # "n/a", "not needed": not a reason an auditor accepts
JUSTIFICATION_MAX = 2_000


@dataclass(frozen=True)
class Requirement:
    clause: str
    title: str
    group: str  # "4" … "10"
    questions: tuple[str, ...] = ()  # empty: a heading whose subclauses are rated
    not_applicable: bool = False  # the standard lets it be excluded
    not_applicable_hint: str = ""

    @property
    def rated(self) -> bool:
        return bool(self.questions)

    @property
    def label(self) -> str:
        return f"{self.clause} {self.title}"


@dataclass(frozen=True)
class Group:
    number: str
    title: str


@dataclass(frozen=True)
class Checklist:
    key: str
    version: int
    standard: str
    name: str
    groups: tuple[Group, ...]
    requirements: tuple[Requirement, ...]  # in the standard's order, headings included

    def find(self, clause: str | None) -> Requirement | None:
        return self._by_clause().get(clause or "")

    def item(self, clause: str | None) -> Requirement | None:
        """The rated item of this clause; None for a heading or a clause the checklist does not have."""
        r = self.find(clause)
        return r if r is not None and r.rated else None

    def items(self, group: str | None = None) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.rated and (group is None or r.group == group))

    def _by_clause(self) -> dict[str, Requirement]:
        return _index(self)


@cache
def _index(checklist: Checklist) -> dict[str, Requirement]:
    return {r.clause: r for r in checklist.requirements}


@dataclass(frozen=True)
class Rating:
    """One item's rating as the rules see it (notes and who rated it stay with the app)."""

    clause: str
    rating: str
    outcome: str | None
    justification: str = ""


# --- the checklist as data ---------------------------------------------------------------------------

def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) for p in clause.split("."))


def _parent(clause: str) -> str:
    return clause.rsplit(".", 1)[0]


def parse_checklist(data: Mapping[str, Any]) -> Checklist:
    """A checklist from its TOML data, checked: raises GapAnalysisError naming every fault."""
    problems: list[str] = []
    groups = tuple(Group(str(g["number"]), str(g["title"])) for g in data.get("groups", ()))
    group_numbers = {g.number for g in groups}
    requirements: list[Requirement] = []
    seen: set[str] = set()
    for raw in data.get("requirements", ()):
        clause = str(raw.get("clause", ""))
        if not clause or not all(p.isdigit() for p in clause.split(".")) or "." not in clause:
            problems.append(f"“{clause}” is not a clause number")
            continue
        if clause in seen:
            problems.append(f"{clause} is listed twice")
        seen.add(clause)
        group = clause.split(".")[0]
        if group not in group_numbers:
            problems.append(f"{clause} belongs to no clause group")
        questions = tuple(str(q).strip() for q in raw.get("questions", ()))
        if any(not q for q in questions):
            problems.append(f"{clause} has an empty question")
        requirements.append(Requirement(clause, str(raw.get("title", "")).strip(), group, questions,
                                        bool(raw.get("not_applicable", False)),
                                        str(raw.get("not_applicable_hint", "")).strip()))
    order = [_clause_key(r.clause) for r in requirements]
    if order != sorted(order):
        problems.append("requirements are not in the standard's order")
    for r in requirements:
        has_subclauses = any(_parent(o.clause) == r.clause for o in requirements)
        if not r.title:
            problems.append(f"{r.clause} has no title")
        if r.clause.count(".") > 1 and _parent(r.clause) not in seen:
            problems.append(f"{r.clause} has no heading {_parent(r.clause)}")
        if has_subclauses and r.questions:
            problems.append(f"{r.clause} has subclauses, so its questions belong to them")
        if not has_subclauses and not 1 <= len(r.questions) <= 3:
            problems.append(f"{r.clause} needs one to three questions ({len(r.questions)} given)")
        if r.not_applicable and not (r.rated and r.not_applicable_hint):
            problems.append(f"{r.clause} may be not applicable, so it needs questions and a hint for the reason")
    if problems:
        raise GapAnalysisError("; ".join(problems))
    return Checklist(str(data.get("key", "")), int(data.get("version", 1)), str(data.get("standard", "")),
                     str(data.get("name", "")), groups, tuple(requirements))


@cache
def load_checklist(key: str = DEFAULT_CHECKLIST) -> Checklist:
    """The checklist shipped for a standard (cached: it never changes while running)."""
    text = resources.files(__package__).joinpath("data", f"gap-checklist-{key}.toml").read_text(encoding="utf-8")
    return parse_checklist(tomllib.loads(text))


# --- rating an item ----------------------------------------------------------------------------------

def check_rating(checklist: Checklist, clause: str, rating: str | None, outcome: str | None = None,
                 justification: str | None = None, notes: str | None = None) -> Rating:
    """The rating as it will be kept, or GapAnalysisError (404 for a clause the checklist does not rate,
    422 for anything else, with the field at fault)."""
    item = checklist.item(clause)
    if item is None:
        raise GapAnalysisError(f"The checklist has no item {clause}.", status=404)
    if rating not in RATINGS:
        raise GapAnalysisError("Choose a rating.", field="rating")
    if len(notes or "") > NOTES_MAX:
        raise GapAnalysisError(f"Notes can be at most {NOTES_MAX:,} characters long ({len(notes):,} given).",
                               field="notes")
    justification = (justification or "").strip()
    if rating == NOT_APPLICABLE:
        if not item.not_applicable:
            raise GapAnalysisError(
                f"{item.label} cannot be not applicable: ISO 9001 allows excluding only design and development "
                "(8.3), measurement traceability (7.1.5.2) and, with a strong reason, customer property (8.5.3) "
                "and post-delivery activities (8.5.5).", field="rating")
        if len(justification) < JUSTIFICATION_MIN:
            raise GapAnalysisError(f"Say why {item.clause} does not apply, in at least {JUSTIFICATION_MIN} "
                                   f"characters: {item.not_applicable_hint}", field="justification")
        if len(justification) > JUSTIFICATION_MAX:
            raise GapAnalysisError(f"The justification can be at most {JUSTIFICATION_MAX:,} characters long "
                                   f"({len(justification):,} given).", field="justification")
        return Rating(clause, rating, None, justification)
    allowed = OUTCOMES_BY_RATING[rating]
    outcome = outcome or allowed[0]
    if outcome not in allowed:
        labels = " or ".join(f"“{OUTCOME_LABELS[o]}”" for o in allowed)
        raise GapAnalysisError(f"An item rated {RATING_LABELS[rating].lower()} sorts into {labels}.",
                               field="outcome")
    return Rating(clause, rating, outcome, "")  # a justification belongs to N/A only


# --- what the ratings add up to ------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    number: str  # "4" … "10"; "" for the whole checklist
    title: str
    items: int
    rated: int
    conforming: int
    partly: int
    not_conforming: int
    not_applicable: int

    @property
    def applicable(self) -> int:
        return self.rated - self.not_applicable

    @property
    def percent(self) -> int | None:
        """Conforming 1, partly ½, over the items rated and applicable; half a per cent rounds up."""
        if not self.applicable:
            return None
        return (200 * self.conforming + 100 * self.partly + self.applicable) // (2 * self.applicable)

    @property
    def complete(self) -> bool:
        return self.rated == self.items


def _score(number: str, title: str, items: Iterable[Requirement], ratings: Mapping[str, str]) -> Score:
    items = list(items)
    given = [ratings[i.clause] for i in items if ratings.get(i.clause) in RATINGS]
    return Score(number, title, len(items), len(given), given.count(CONFORMING), given.count(PARTLY),
                 given.count(NOT_CONFORMING), given.count(NOT_APPLICABLE))


def scores(checklist: Checklist, ratings: Mapping[str, str]) -> tuple[tuple[Score, ...], Score]:
    """Per clause group (4–10) and overall; `ratings` maps clause → rating (unknown clauses are ignored)."""
    per_group = tuple(_score(g.number, g.title, checklist.items(g.number), ratings) for g in checklist.groups)
    return per_group, _score("", "All clauses", checklist.items(), ratings)


def unrated(checklist: Checklist, ratings: Mapping[str, str]) -> tuple[str, ...]:
    """The items still to rate, in the standard's order."""
    return tuple(i.clause for i in checklist.items() if ratings.get(i.clause) not in RATINGS)


def all_rated(checklist: Checklist, ratings: Mapping[str, str]) -> bool:
    """Is every item rated? The initial audit's gate asks this."""
    return not unrated(checklist, ratings)


def by_outcome(checklist: Checklist, outcomes: Mapping[str, str | None]) -> dict[str, tuple[str, ...]]:
    """Clauses per outcome, each in the standard's order: what the report lists under each heading."""
    return {o: tuple(i.clause for i in checklist.items() if outcomes.get(i.clause) == o) for o in OUTCOMES}


# --- from a gap to the work that closes it -----------------------------------------------------------

def nearest_clause(clause: str, known: Iterable[str]) -> str | None:
    """`clause` if `known` has it, else its nearest containing clause that it has (7.1.5.2 → 7.1.5): a
    template that predates a subclause still takes a finding on it. None when no level is known."""
    known = set(known)
    while clause:
        if clause in known:
            return clause
        clause = _parent(clause) if "." in clause else ""
    return None
