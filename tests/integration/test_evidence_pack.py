"""The evidence pack at /c/<slug>/evidence-pack and its ZIP: the files an auditor asks for, filed by clause,
byte-identical to what was uploaded, an index PDF (read by its text) naming the clauses and what is missing,
a SHA-256 manifest, only this client's files, and only for the consultants and the client's managers."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

import tenants
from app.models import Document, Task
from app.workspace import operations as ops
from test_gap_analysis import pdf_text

URL = "/c/{slug}/evidence-pack"


def _upload(name: str, data: bytes, root: str, schema: str) -> ops.Upload:
    return ops.Upload(FileStorage(io.BytesIO(data), name), root, schema, 10 << 20, None)


def _fill(app, db, world, marker: str) -> dict[str, str]:
    """Evidence on two tasks, an effective document with two versions, a record instance; sha256 → name."""
    root, schema = app.config["UPLOAD_ROOT"], world.client.schema_name
    actor = ops.Actor(world.consultant.id, world.consultant.name)
    uploaded = {}
    with tenants.tenant_scope(db.session, schema):
        tasks = db.session.scalars(select(Task).where(Task.clauses != []).order_by(Task.position)).all()[:2]
        for i, task in enumerate(tasks):
            data = os.urandom(50_000 + i) + marker.encode()
            ops.add_attachment(task, FileStorage(io.BytesIO(data), f"{marker} evidence {i}.pdf"), actor, root, schema,
                               10 << 20)
            uploaded[hashlib.sha256(data).hexdigest()] = f"evidence {i}"
        doc = db.session.scalar(select(Document).where(Document.key == "service_delivery_playbook"))
        if ops.working_version(doc) is not None:  # the template's draft: approved first, superseded below
            ops.set_version_status(ops.working_version(doc), "approved", actor, "consultant")
        for label in ("playbook old", "playbook current"):
            data = f"{marker} {label}".encode() + os.urandom(1000)
            v = ops.start_version(doc, "", label, False, actor, _upload(f"{label}.pdf", data, root, schema))
            ops.set_version_status(v, "approved", actor, "consultant")
            uploaded[hashlib.sha256(data).hexdigest()] = label
        uploaded["current version"] = str(v.number)
        rec = db.session.scalar(select(Document).where(Document.kind == "record").order_by(Document.id))
        data = f"{marker} record".encode()
        ops.add_record_entry(rec, date(2026, 1, 5), "January", actor, _upload("january.csv", data, root, schema))
        uploaded[hashlib.sha256(data).hexdigest()] = "record"
        finding = ops.raise_finding("initial_audit", "minor", f"{marker} gap", "7.1.5", "", actor,
                                    source="internal_audit", kind="system_nonconformity", grade="minor")
        # Closed before closing needed evidence (an imported or older record): exactly what MISSING must catch.
        finding.status, finding.closing_note, finding.closed_at = "closed", "Remedied", finding.raised_at
        ops.save(world.client)
    return uploaded


@pytest.fixture()
def packed(app, db, factory):
    a, b = factory.world(), factory.world()
    return a, b, _fill(app, db, a, "ALPHA"), _fill(app, db, b, "BRAVO")


def _zip(http, world):
    resp = http.get(URL.format(slug=world.client.slug) + ".zip")
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["Content-Disposition"].startswith(
        f"attachment; filename=evidence-pack-{world.client.slug}-")
    return zipfile.ZipFile(io.BytesIO(resp.get_data()))


def test_the_zip_holds_every_evidence_file_byte_identical_filed_by_clause_with_an_index_and_manifest(http, packed):
    a, b, uploaded, theirs = packed
    http.login(a.consultant.email)
    zf = _zip(http, a)
    names = zf.namelist()
    assert names[0] == "00 Index of the evidence pack.pdf" and "SHA256SUMS.txt" in names and "manifest.json" in names
    digests = {hashlib.sha256(zf.read(n)).hexdigest(): n for n in names}
    # Every file of the client except the superseded playbook version is in, byte for byte.
    number = uploaded.pop("current version")
    superseded = next(s for s, what in uploaded.items() if what == "playbook old")
    assert set(uploaded) - set(digests) == {superseded}
    playbook = digests[next(s for s, what in uploaded.items() if what == "playbook current")]
    assert playbook.endswith(f" Service delivery playbook v{number}.pdf") and "/" in playbook
    assert digests[next(s for s, w in uploaded.items() if w == "record")].endswith(" 2026-01-05.csv")
    # Another client's files never appear.
    assert not set(theirs) - {"current version"} & set(digests)
    assert not any(b"BRAVO" in zf.read(n) for n in names)
    # The manifest and the sums match what is in the ZIP.
    sums = dict(reversed(line.split("  ", 1)) for line in zf.read("SHA256SUMS.txt").decode().splitlines())
    for name, sha in sums.items():
        assert hashlib.sha256(zf.read(name)).hexdigest() == sha, name
    manifest = json.loads(zf.read("manifest.json"))
    assert all(e["intact"] for e in manifest["files"] if "intact" in e)
    assert {e["path"] for e in manifest["files"]} == set(sums)
    # Folders are clause numbers and titles.
    folders = {n.split("/", 1)[0] for n in names if "/" in n}
    assert all(f[0].isdigit() or f == "General" for f in folders), folders


def test_the_index_pdf_names_the_clauses_the_files_and_what_is_missing(http, packed):
    a, b, uploaded, _ = packed
    http.login(a.client_admin.email)
    text = " ".join(pdf_text(_zip(http, a).read("00 Index of the evidence pack.pdf")).split())
    assert "Evidence pack" in text and a.client.name in text and b.client.name not in text
    assert "7.5 Documented information" in text and "MISSING" in text
    assert "required document with no effective version" in text  # the template's others are still drafts
    assert f"Service delivery playbook v{uploaded['current version']}" in text and "superseded" in text
    assert "closed with no evidence of its closure" in text and "ALPHA gap" in text
    assert "BRAVO" not in text


def test_the_page_shows_the_contents_and_the_missing_items_and_links_the_download(http, packed):
    a, _, uploaded, _ = packed
    http.login(a.consultant.email)
    body = http.get(URL.format(slug=a.client.slug)).get_data(as_text=True)
    assert "Missing before the audit" in body and "required document with no effective version" in body
    assert f'href="/c/{a.client.slug}/evidence-pack.zip"' in body
    assert f"Service delivery playbook v{uploaded['current version']}" in body and "BRAVO" not in body
    docs = http.get(f"/c/{a.client.slug}/documents").get_data(as_text=True)
    assert f'href="/c/{a.client.slug}/evidence-pack"' in docs


def test_only_consultants_client_admins_and_top_management_get_the_pack(http, factory, packed):
    a, _, _, _ = packed
    top = factory.member(a.client, "top_management")
    for user, status in ((a.owner, 200), (a.consultant, 200), (a.client_admin, 200), (top, 200), (a.staff, 403),
                         (a.auditor, 403)):
        http.login(user.email)
        for path in (URL, URL + ".zip"):
            assert http.get(path.format(slug=a.client.slug)).status_code == status, (user.email, path)
        docs = http.get(f"/c/{a.client.slug}/documents").get_data(as_text=True)
        assert (f'href="/c/{a.client.slug}/evidence-pack"' in docs) == (status == 200)
        http.logout()
