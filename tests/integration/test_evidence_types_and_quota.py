"""Evidence downloads are typed by their checked extension, never by the browser's claim, and each client's
evidence has a storage quota that refuses an upload before anything is kept."""
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tenants
from app.models import Attachment, Task

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><script>alert(1)</script></svg>'


def _first_task(db, client) -> int:
    with tenants.tenant_scope(db.session, client.schema_name):
        return db.session.scalars(select(Task.id).order_by(Task.id)).first()


def _upload(http, url, content: bytes, name: str, claimed: str):
    token = http.csrf(url)
    return http.client.post(f"{url}/attachments", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(content), name, claimed), "csrf_token": token})


def _attachments(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        return db.session.execute(select(Attachment.id, Attachment.filename, Attachment.content_type)
                                  .order_by(Attachment.id)).all()


@pytest.mark.parametrize("name,content,served", [
    ("logo.svg", SVG, "application/octet-stream"),
    ("notes.txt", b"<html><script>alert(1)</script></html>", "text/plain"),
    ("process-map.xml", b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'><script/></html>",
     "application/octet-stream"),
])
def test_a_download_is_typed_by_its_extension_not_by_the_claim(http, factory, db, name, content, served):
    w = factory.world()
    task_id = _first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    resp = _upload(http, url, content, name, claimed="text/html")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    [(att_id, filename, stored_type)] = _attachments(db, w.client)
    assert filename == name and stored_type == served  # the claim is not even recorded
    download = http.get(f"{url}/attachments/{att_id}")
    assert download.status_code == 200 and download.data == content
    assert download.mimetype == served
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_a_row_stored_with_the_browsers_claim_is_still_served_by_its_extension(http, factory, db, app):
    """Rows written before this check hold whatever the browser said; the download ignores it."""
    w = factory.world()
    task_id = _first_task(db, w.client)
    folder = Path(app.config["UPLOAD_ROOT"]) / w.client.schema_name / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "legacy-svg").write_bytes(SVG)
    with tenants.tenant_scope(db.session, w.client.schema_name):
        att = Attachment(task_id=task_id, filename="old-logo.svg", content_type="text/html", size_bytes=len(SVG),
                         sha256="0" * 64, storage_path="attachments/legacy-svg", uploaded_by_name="earlier")
        db.session.add(att)
        db.session.commit()
        att_id = att.id
    http.login(w.staff.email)
    download = http.get(f"/c/{w.client.slug}/tasks/{task_id}/attachments/{att_id}")
    assert download.status_code == 200 and download.mimetype == "application/octet-stream"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_client_storage_quota_refuses_an_upload_and_keeps_nothing(http, factory, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENT_STORAGE_MB", 1)
    w = factory.world()
    task_id = _first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    folder = Path(app.config["UPLOAD_ROOT"]) / w.client.schema_name / "attachments"
    assert _upload(http, url, b"a" * 700_000, "first.pdf", "application/pdf").status_code == 302
    files_before = sorted(folder.iterdir())

    resp = _upload(http, url, b"b" * 400_000, "second.pdf", "application/pdf")
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert ("This client has used 683.6 KB of its 1 MB for evidence, and “second.pdf” does not fit in what is "
            "left; remove files that are no longer needed or ask your ISOpath administrator for more space.") in page
    assert [name for _, name, _ in _attachments(db, w.client)] == ["first.pdf"]
    assert sorted(folder.iterdir()) == files_before

    # What still fits is taken, up to the byte; once full, the refusal says so before reading the file.
    left = 1024 * 1024 - 700_000
    assert _upload(http, url, b"c" * left, "exactly-the-rest.pdf", "application/pdf").status_code == 302
    resp = _upload(http, url, b"d" * 10, "tiny.txt", "text/plain")
    assert resp.status_code == 413
    assert "This client has used 1 MB of its 1 MB for evidence; remove files" in resp.get_data(as_text=True)
    with tenants.tenant_scope(db.session, w.client.schema_name):
        assert db.session.scalar(select(func.sum(Attachment.size_bytes))) == 1024 * 1024
    assert len(list(folder.iterdir())) == 2


def test_the_quota_is_per_client(http, factory, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENT_STORAGE_MB", 1)
    w = factory.world()
    other = factory.client(w.account, [w.consultant])
    http.login(w.consultant.email)
    for client in (w.client, other):
        url = f"/c/{client.slug}/tasks/{_first_task(db, client)}"
        assert _upload(http, url, b"a" * 900_000, "big.pdf", "application/pdf").status_code == 302
