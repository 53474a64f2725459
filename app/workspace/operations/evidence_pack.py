"""The evidence pack: the client's documented information read into the plain rule of
workflows/evidence_pack.py, and the ZIP written from its decision, streamed to a file.

Files are copied in chunks from UPLOAD_ROOT/<schema>/ (evidence can be as large as the upload limit each) and
hashed on the way, so the manifest's SHA-256 is of the bytes that went into the ZIP, not of what a row claims.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflows import evidence_pack as wp
from workflows import gap_analysis as gap

from ...extensions import db
from ...models import (Attachment, CertificationRecord, Document, Finding, GapRating, Task, User)
from .gap_analysis import gap_checklist

CHUNK = 1 << 20
# Formats that are compressed already: stored as they are, so a big pack costs copying, not deflating.
STORED_EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "gif", "webp", "docx", "xlsx", "pptx", "odt", "ods", "odp"}
INDEX_NAME = "00 Index of the evidence pack.pdf"
SUMS_NAME = "SHA256SUMS.txt"
MANIFEST_NAME = "manifest.json"


@dataclass
class PackContents:
    pack: wp.Pack
    certification: CertificationRecord | None
    texts: dict[tuple[int, int], str]  # (document id, version number) → text written in the app
    not_stored: list[str]  # files a row names that are not on disk (listed in the index, never silently lost)


def _day(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else ""


def _stored(row) -> wp.StoredFile | None:
    if not row.storage_path:
        return None
    return wp.StoredFile(row.storage_path, row.filename or "file", row.sha256 or "", row.size_bytes or 0)


def _names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def _documents(names: dict[int, str]) -> tuple[list[wp.Document], dict]:
    docs = db.session.scalars(select(Document).options(selectinload(Document.versions),
                                                       selectinload(Document.records))
                              .order_by(Document.identifier, Document.id)).all()
    out, texts = [], {}
    for d in docs:
        versions = []
        for v in d.versions:
            versions.append(wp.Version(v.number, v.status, v.approved_by_name or "", _day(v.approved_at), _stored(v),
                                       bool(v.body.strip())))
            if v.status == "approved" and not v.storage_path and v.body.strip():
                texts[(d.id, v.number)] = v.body
        records = tuple(wp.RecordInstance(_day(r.occurred_on), r.added_by_name, r.note, _stored(r))
                        for r in sorted(d.records, key=lambda r: (r.occurred_on, r.id)))
        out.append(wp.Document(d.id, d.identifier or "", d.title, d.kind, tuple(d.clauses or ()), d.required,
                               names.get(d.owner_id, ""), tuple(versions), records))
    return out, texts


def _findings(files_per_task: dict[int, int]) -> list[wp.Finding]:
    out = []
    for f in db.session.scalars(select(Finding).order_by(Finding.id)):
        actions = tuple(wp.Action(a.description, a.owner_name, a.done, a.result, a.verified_by_name or "")
                        for a in f.actions)
        evidence = sum(files_per_task.get(a.task_id, 0) for a in f.actions if a.task_id)
        out.append(wp.Finding(f.id, f.title, wp.split_clauses(f.clause), f.severity, f.status, _day(f.raised_at),
                              _day(f.closed_at), f.closure_evidence or "", actions, evidence))
    return out


def gather(upload_root: str, schema: str) -> PackContents:
    """Read the bound client's documents, records, findings, evidence, decisions and gap analysis; decide."""
    owner_ids = db.session.scalars(select(Document.owner_id)).all()
    names = _names(owner_ids)
    documents, texts = _documents(names)
    rows = db.session.execute(select(Attachment, Task.title, Task.clauses).join(Task, Task.id == Attachment.task_id)
                              .order_by(Task.position, Task.id, Attachment.uploaded_at, Attachment.id)).all()
    files_per_task: dict[int, int] = {}
    evidence = []
    for att, title, clauses in rows:
        files_per_task[att.task_id] = files_per_task.get(att.task_id, 0) + 1
        evidence.append(wp.Evidence(att.id, title, tuple(clauses or ()), att.uploaded_by_name, _day(att.uploaded_at),
                                    _stored(att)))
    checklist = gap_checklist()
    decisions = [wp.Decision(t.title, tuple(t.clauses or ()), t.not_applicable_reason or "")
                 for t in db.session.scalars(select(Task).where(Task.status == "not_applicable")
                                             .order_by(Task.position, Task.id))]
    ratings = db.session.scalars(select(GapRating).where(GapRating.checklist == checklist.key)).all()
    ratings = sorted(ratings, key=lambda r: wp.clause_key(r.clause))
    decisions += [wp.Decision(f"{r.clause} {checklist.find(r.clause).title if checklist.find(r.clause) else ''}"
                              .strip(), (r.clause,), r.justification or "", r.rated_by_name)
                  for r in ratings if r.rating == "not_applicable"]
    gap_rows = [wp.GapRating(r.clause, gap.RATING_LABELS.get(r.rating, r.rating), r.rated_by_name, _day(r.rated_at))
                for r in ratings if r.rating != "not_applicable"]
    titles = {r.clause: r.title for r in checklist.requirements}
    pack = wp.build(documents, _findings(files_per_task), evidence, decisions, gap_rows, titles)
    folder = Path(upload_root) / schema
    not_stored = [i.path for i in pack.files if i.file and not (folder / i.file.storage_path).is_file()]
    return PackContents(pack, db.session.get(CertificationRecord, 1), texts, not_stored)


class _Hashing:
    def __init__(self):
        self.digest, self.size = hashlib.sha256(), 0

    def add(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)


def _compression(name: str) -> int:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return zipfile.ZIP_STORED if ext in STORED_EXTENSIONS else zipfile.ZIP_DEFLATED


def _put(zf: zipfile.ZipFile, name: str, chunks) -> dict:
    h = _Hashing()
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
    info.compress_type = _compression(name)
    with zf.open(info, "w", force_zip64=True) as out:
        for chunk in chunks:
            h.add(chunk)
            out.write(chunk)
    return {"path": name, "sha256": h.digest.hexdigest(), "size": h.size}


def _read(path: Path):
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(CHUNK), b"")


def write_zip(contents: PackContents, out, index_pdf: bytes, upload_root: str, schema: str, client_name: str,
              built_at: str) -> list[dict]:
    """Write the pack to `out` (a file opened for writing); returns the manifest's file entries."""
    folder = Path(upload_root) / schema
    entries = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        entries.append(_put(zf, INDEX_NAME, [index_pdf]))
        for item in contents.pack.files:
            if item.path in contents.not_stored:
                continue
            if item.file is not None:
                entry = _put(zf, item.path, _read(folder / item.file.storage_path))
                entry["recorded_sha256"] = item.file.sha256
                entry["intact"] = not item.file.sha256 or item.file.sha256 == entry["sha256"]
            else:
                entry = _put(zf, item.path, [contents.texts.get(item.text_of, "").encode()])
            entries.append(entry)
        sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries)
        zf.writestr(SUMS_NAME, sums)
        manifest = {"client": client_name, "built_at": built_at, "files": entries,
                    "missing": [{"what": m.what, "why": m.why, "clauses": list(m.clauses)}
                                for m in contents.pack.missing],
                    "not_in_storage": contents.not_stored}
        zf.writestr(MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=False))
    return entries
