"""The evidence pack an auditor asks for: what goes in, under which clause, and what is missing.

Plain descriptions of the client's documented information come in; a `Pack` comes out:
- every file that goes into the ZIP, once, in the folder of its first clause (``7.5 Documented information/``),
  with a readable name (``DOC-007 Control of documents v3.pdf``);
- the index, by clause: every item under every clause it serves (so an item filed under 7.5 is also listed
  under 8.5), including what has no file (N/A decisions, findings, gap ratings, superseded versions as history);
- what is MISSING: a required document with no effective version, a required record with no instance, a
  closed finding with no evidence of its closure.

Only the effective version of a document goes in: superseded and obsolete versions are history, listed and
never packed (7.5.3.2 d: obsolete documents are kept, but an auditor must not take them for current).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GENERAL = "General"  # the folder of what names no clause
FOLDER_DEPTH = 2  # "7.5.3" is filed under "7.5": clause folders an auditor recognises, not 84 of them
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
NAME_MAX = 120


@dataclass(frozen=True)
class StoredFile:
    """Where an item's bytes are (relative to the client's folder) and what they must hash to."""

    storage_path: str
    filename: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class Version:
    number: int
    status: str  # draft, in_review, approved, superseded, obsolete
    approved_by: str = ""
    approved_on: str = ""  # ISO date
    file: StoredFile | None = None
    has_text: bool = False  # written in the app: packed as text when there is no file


@dataclass(frozen=True)
class RecordInstance:
    occurred_on: str  # ISO date
    added_by: str
    note: str = ""
    file: StoredFile | None = None


@dataclass(frozen=True)
class Document:
    ref: int
    identifier: str
    title: str
    kind: str  # document | record
    clauses: tuple[str, ...]
    required: bool
    owner: str = ""
    versions: tuple[Version, ...] = ()
    records: tuple[RecordInstance, ...] = ()


@dataclass(frozen=True)
class Action:
    description: str
    owner: str
    done: bool
    result: str | None = None  # effective | not_effective | None (not verified)
    verified_by: str = ""


@dataclass(frozen=True)
class Finding:
    ref: int
    title: str
    clauses: tuple[str, ...]
    severity: str
    status: str  # open | closed
    raised_on: str
    closed_on: str = ""
    closure_evidence: str = ""
    actions: tuple[Action, ...] = ()
    evidence_files: int = 0  # files attached to the tasks that carry its actions


@dataclass(frozen=True)
class Evidence:
    """A file attached to a task as evidence."""

    ref: int
    task_title: str
    clauses: tuple[str, ...]
    uploaded_by: str
    uploaded_on: str
    file: StoredFile


@dataclass(frozen=True)
class Decision:
    """A "does not apply" decision (a task marked N/A, a gap item rated N/A) with its justification."""

    title: str
    clauses: tuple[str, ...]
    justification: str
    decided_by: str = ""


@dataclass(frozen=True)
class GapRating:
    clause: str
    rating: str  # label, e.g. "Partly conforming"
    rated_by: str
    rated_on: str


@dataclass(frozen=True)
class Item:
    """One line of the index; `path` is its file in the ZIP (None: listed only)."""

    kind: str  # document, record, evidence, finding, decision, gap, history
    title: str
    clauses: tuple[str, ...]
    detail: str = ""  # version or date
    owner: str = ""
    approver: str = ""
    path: str | None = None
    file: StoredFile | None = None
    text_of: tuple[int, int] | None = None  # (document ref, version number): pack its text
    note: str = ""


@dataclass(frozen=True)
class Missing:
    clauses: tuple[str, ...]
    what: str
    why: str


@dataclass
class Section:
    clause: str  # the folder clause, "7.5", or GENERAL
    title: str
    items: list[Item] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return self.clause if self.clause == GENERAL else f"{self.clause} {self.title}".strip()


@dataclass
class Pack:
    files: list[Item]  # what goes into the ZIP, each once
    sections: list[Section]  # the index, by folder clause
    missing: list[Missing]


def folder_clause(clause: str) -> str:
    parts = clause.strip().split(".")
    return ".".join(parts[:FOLDER_DEPTH]) if clause.strip() else GENERAL


def clause_key(clause: str) -> tuple:
    if clause == GENERAL:
        return (10**6,)
    try:
        return tuple(int(p) for p in clause.split("."))
    except ValueError:
        return (10**5, clause)


def split_clauses(text: str | None) -> tuple[str, ...]:
    """A finding's clause field ("8.4.1, 8.4.2") as tags."""
    return tuple(c for c in (p.strip() for p in re.split(r"[,;\s]+", text or "")) if c)


def safe_name(text: str) -> str:
    """A file or folder name every unzip tool accepts: no separators, no control characters, not too long."""
    name = re.sub(r"\.{2,}", " ", _UNSAFE.sub(" ", text))  # no ".." segment, whatever the unzip tool
    name = re.sub(r"\s+", " ", name).strip(" .")
    return name[:NAME_MAX].rstrip(" .") or "untitled"


def _extension(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return f".{ext}" if ext and ext.isalnum() and len(ext) <= 8 else ""


def folder_name(clause: str, titles: Mapping[str, str]) -> str:
    return safe_name(GENERAL if clause == GENERAL else f"{clause} {titles.get(clause, '')}".strip())


def effective(doc: Document) -> Version | None:
    return next((v for v in doc.versions if v.status == "approved"), None)


def _doc_label(doc: Document) -> str:
    return f"{doc.identifier} {doc.title}".strip()


def build(documents: Iterable[Document], findings: Iterable[Finding], evidence: Iterable[Evidence],
          decisions: Iterable[Decision], gap: Iterable[GapRating], titles: Mapping[str, str]) -> Pack:
    """Decide the pack. `titles`: clause number → title, for the folder names ("7.5" → "Documented information")."""
    items: list[Item] = []
    missing: list[Missing] = []
    for doc in documents:
        items.extend(_document_items(doc, missing))
    for f in findings:
        items.append(_finding_item(f))
        if f.status == "closed" and not f.closure_evidence.strip() and not f.evidence_files:
            missing.append(Missing(f.clauses, f"Finding #{f.ref} {f.title}",
                                   "closed with no evidence of its closure"))
    for e in evidence:
        items.append(Item("evidence", f"{e.task_title}: {e.file.filename}", e.clauses, e.uploaded_on,
                          owner=e.uploaded_by, file=e.file))
    for d in decisions:
        items.append(Item("decision", f"Not applicable: {d.title}", d.clauses, owner=d.decided_by,
                          note=d.justification))
    for r in gap:
        items.append(Item("gap", f"Gap analysis {r.clause}: {r.rating}", (r.clause,), r.rated_on, owner=r.rated_by))
    files = _place(items, titles)
    return Pack(files=[i for i in files if i.path], sections=_sections(files, missing, titles), missing=missing)


def _document_items(doc: Document, missing: list[Missing]) -> list[Item]:
    label = _doc_label(doc)
    out = []
    if doc.kind == "record":
        for r in doc.records:
            out.append(Item("record", f"{label} {r.occurred_on}", doc.clauses, r.occurred_on, owner=doc.owner,
                            approver=r.added_by, file=r.file, note="" if r.file else (r.note or "entry without a file")))
        if doc.required and not doc.records:
            missing.append(Missing(doc.clauses, label, "required record with no instance"))
        return out
    current = effective(doc)
    if current is not None:
        out.append(Item("document", f"{label} v{current.number}", doc.clauses, f"v{current.number} "
                        f"effective {current.approved_on}".strip(), owner=doc.owner, approver=current.approved_by,
                        file=current.file, text_of=None if current.file else (doc.ref, current.number),
                        note="" if current.file or current.has_text else "approved with no file or text"))
    elif doc.required:
        missing.append(Missing(doc.clauses, label, "required document with no effective version"))
    for v in doc.versions:
        if v.status in ("superseded", "obsolete"):
            out.append(Item("history", f"{label} v{v.number} ({v.status})", doc.clauses, v.approved_on,
                            owner=doc.owner, approver=v.approved_by, note="history: not in the pack"))
    return out


def _finding_item(f: Finding) -> Item:
    acts = []
    for a in f.actions:
        verified = {"effective": f"verified effective by {a.verified_by}",
                    "not_effective": f"verified NOT effective by {a.verified_by}"}.get(a.result or "", "not verified")
        acts.append(f"{a.description} ({a.owner}; {'done' if a.done else 'open'}; {verified})")
    state = f"closed {f.closed_on}" if f.status == "closed" else "open"
    note = "; ".join(filter(None, [f.closure_evidence.strip() and f"evidence: {f.closure_evidence.strip()}",
                                   *acts]))
    return Item("finding", f"Finding #{f.ref} ({f.severity}) {f.title}", f.clauses, f"raised {f.raised_on}, {state}",
                note=note)


def _file_name(item: Item) -> str:
    if item.kind == "evidence" and item.file:
        stem, ext = item.title.rsplit(": ", 1)[0] + " - " + item.file.filename.rsplit(".", 1)[0], \
            _extension(item.file.filename)
    elif item.file:
        stem, ext = item.title, _extension(item.file.filename)
    else:
        stem, ext = item.title, ".txt"
    return safe_name(stem) + ext


def _place(items: list[Item], titles: Mapping[str, str]) -> list[Item]:
    """Give every item with bytes one path, in its first clause's folder; names made unique there."""
    taken: set[str] = set()
    placed = []
    for item in items:
        if item.file is None and item.text_of is None:
            placed.append(item)
            continue
        folder = folder_name(folder_clause(item.clauses[0]) if item.clauses else GENERAL, titles)
        name = _file_name(item)
        path, n = f"{folder}/{name}", 2
        while path.lower() in taken:  # two files of one name: unzip tools on Windows and macOS ignore case
            stem, dot, ext = name.rpartition(".")
            path = f"{folder}/{stem} ({n}).{ext}" if dot else f"{folder}/{name} ({n})"
            n += 1
        taken.add(path.lower())
        placed.append(Item(**{**item.__dict__, "path": path}))
    return placed


def _sections(items: list[Item], missing: list[Missing], titles: Mapping[str, str]) -> list[Section]:
    by: dict[str, Section] = {}

    def section(clause: str) -> Section:
        key = folder_clause(clause)
        if key not in by:
            by[key] = Section(key, titles.get(key, ""))
        return by[key]

    for item in items:
        for key in dict.fromkeys(folder_clause(c) for c in (item.clauses or (GENERAL,))):
            section(key).items.append(item)
    for m in missing:
        for key in dict.fromkeys(folder_clause(c) for c in (m.clauses or (GENERAL,))):
            section(key).missing.append(m)
    return [by[k] for k in sorted(by, key=clause_key)]
