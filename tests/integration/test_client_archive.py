"""`flask clients export / import / drop` against a real PostgreSQL, real files and real subprocesses.

- export → import gives a client whose every tenant row, sequence, registry row and file is identical;
- users travel by email: missing ones are created without a password and their ids rewritten; consultants who
  are not members of the target consultancy are dropped (and reported);
- an existing address, a truncated, tampered, incomplete or inconsistent archive, or bad options are refused
  with a clear message and leave no schema, registry row or file behind;
- an archive from an older tenant revision is restored at that revision, then upgraded;
- another consultancy's users get 404 on every route of an imported client;
- a client can be dropped only when a current, intact export of it exists (or with the named override).

Tenant tables are read from the catalog, never listed here, so new tables are covered as they arrive.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import tenants
import workflows as wf
from app.models import (
    ActivityEntry,
    Attachment,
    Client,
    ClientConsultant,
    ClientMember,
    ClientSummary,
    Finding,
    Task,
    TaskComment,
    User,
)
from app import client_archive as archive
from tenants import tracks
from tenants.base import SharedModel, TenantModel
from tenants.registry import tenant_schemas

ROOT = Path(__file__).resolve().parents[2]


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture()
def upload_root(tmp_path):
    root = tmp_path / "uploads"
    root.mkdir()
    return root


@pytest.fixture()
def exports(tmp_path):
    return tmp_path / "exports"


@pytest.fixture()
def cli(service_urls, upload_root, exports):
    """`flask --app wsgi …` in a real subprocess, as an operator runs it."""
    def run(*args, input=None):
        env = {**os.environ, "DATABASE_URL": service_urls["DATABASE_URL"], "REDIS_URL": service_urls["REDIS_URL"],
               "ISOPATH_ENV": "test", "SECRET_KEY": "test-secret", "UPLOAD_ROOT": str(upload_root),
               "EXPORTS_DIR": str(exports)}
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *map(str, args)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=180, input=input)
    return run


def archive_args(upload_root):
    return {"registry": archive.Registry.from_metadata(SharedModel.metadata),
            "user_refs": archive.user_ref_columns(TenantModel.metadata), "upload_root": upload_root}


@pytest.fixture()
def rich(factory, db, upload_root):
    """A client with awkward data in its rows (tabs, newlines, backslashes, unicode, JSON, arrays, NULLs),
    user references in several tables, and files in nested folders, some referenced by rows, one not."""
    w = factory.world()
    schema = w.client.schema_name
    folder = upload_root / schema
    with tenants.tenant_scope(db.session, schema):
        tasks = db.session.scalars(select(Task).order_by(Task.id)).all()
        assert len(tasks) == len(list(wf.load_template().iter_tasks()))  # the whole plan, 12 of them used below
        for i, task in enumerate(tasks[:12]):
            for j in range(3):
                author = (w.staff, w.consultant, w.client_admin)[j]
                db.session.add(TaskComment(task_id=task.id, author_id=author.id, author_name=author.name,
                                           body=f"comment {i}/{j}:\ttab, newline\nbackslash \\ and ünïcødé ✓"))
            data = hashlib.sha256(f"file {i}".encode()).digest() * (40 + i)
            rel = f"attachments/{i % 3}/evidence-{i:02d}.bin"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
            db.session.add(Attachment(task_id=task.id, filename=f"evidence {i}.pdf", content_type="application/pdf",
                                      size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                      storage_path=rel, uploaded_by_id=w.staff.id, uploaded_by_name=w.staff.name))
        tasks[0].assignee_id = w.staff.id
        db.session.add(Finding(stage=tasks[0].stage, severity="minor", title="Gap with a 'quote' and \"double\"",
                               description="", raised_by_id=w.consultant.id))
        for k in range(30):
            db.session.add(ActivityEntry(actor_id=(w.staff.id if k % 2 else None), actor_name="Somebody",
                                         action="note", object_type="client", object_id=None,
                                         summary=f"entry {k}\n\\N is not null here",
                                         before={"k": k, "list": [1, None, "x\ty"]}, after=None))
        db.session.commit()
    (folder / "loose").mkdir()
    (folder / "loose" / "notes.txt").write_text("a file no row points to\n")
    return w


# --- helpers that read state independently of the code under test ----------------------------------

def tenant_tables(conn, schema):
    return conn.execute(text("""SELECT table_name FROM information_schema.tables WHERE table_schema = :s
                                AND table_type = 'BASE TABLE' ORDER BY 1"""), {"s": schema}).scalars().all()


def schema_content(conn, schema):
    """Every row of every table, the sequences' positions and the schema's revision."""
    content = {}
    for table in tenant_tables(conn, schema):
        rows = conn.execute(text(f'SELECT * FROM "{schema}"."{table}"')).all()
        content[table] = sorted((tuple(r) for r in rows), key=repr)
    content["<sequences>"] = conn.execute(text(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s ORDER BY 1"), {"s": schema}).all()
    return content


def files_of(folder: Path):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def registry_of(db, client_id):
    client = db.session.get(Client, client_id)
    summary = db.session.get(ClientSummary, client_id)
    members = db.session.execute(select(User.email, ClientMember.role).join(User, User.id == ClientMember.user_id)
                                 .where(ClientMember.client_id == client_id).order_by(User.email)).all()
    consultants = db.session.execute(select(User.email).join(ClientConsultant, ClientConsultant.user_id == User.id)
                                     .where(ClientConsultant.client_id == client_id)).scalars().all()
    summary_cols = {c: getattr(summary, c) for c in ClientSummary.__table__.columns.keys()
                    if c not in ("client_id", "updated_at")}
    return {"client": (client.name, client.status, client.template_key, client.template_version, client.created_at),
            "summary": summary_cols, "members": members, "consultants": sorted(consultants)}


def footprint(db, upload_root):
    """Everything an import could leave behind."""
    db.session.rollback()
    return {
        "clients": db.session.scalar(select(func.count()).select_from(Client)),
        "summaries": db.session.scalar(select(func.count()).select_from(ClientSummary)),
        "members": db.session.scalar(select(func.count()).select_from(ClientMember)),
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "registry": db.session.scalar(select(func.count()).select_from(tenant_schemas)),
        "schemas": db.session.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'client%'")).scalar(),
        "folders": sorted(p.name for p in upload_root.iterdir()),
    }


def read_manifest(path):
    with tarfile.open(path, "r:gz") as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def rewrite_archive(src, dst, change):
    """Rebuild an archive member by member; `change(name, data)` returns new bytes, or None to drop it."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            data = change(member.name, tin.extractfile(member).read())
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def export(cli, slug, path):
    result = cli("clients", "export", slug, "--output", path)
    assert result.returncode == 0, result.stderr
    return result


# --- round trip -----------------------------------------------------------------------------------

def test_export_then_import_restores_every_row_sequence_registry_row_and_file(rich, db, cli, tmp_path, upload_root):
    a = rich.client
    out = tmp_path / "a.tar.gz"
    exported = export(cli, a.slug, out)
    assert f"exported {a.slug}" in exported.stdout
    manifest = read_manifest(out)
    assert manifest["tenant_revision"] == tracks.tenant_head()
    assert manifest["template"] == {"key": a.template_key, "version": a.template_version}
    assert manifest["tables"]["task_comments"]["rows"] == 36 and len(manifest["files"]) == 13
    with tarfile.open(out, "r:gz") as tar:
        registry_doc = json.loads(tar.extractfile("registry.json").read())
    assert {tuple(sorted(u)) for u in registry_doc["users"]} == {("email", "id", "name")}  # no password hashes

    imported = cli("clients", "import", out, "--slug", "restored-" + a.slug)
    assert imported.returncode == 0, imported.stderr
    db.session.rollback()
    b = db.session.scalar(select(Client).where(Client.slug == "restored-" + a.slug))
    assert b is not None and b.schema_name != a.schema_name and b.account_id == a.account_id
    with db.engine.connect() as conn:
        before, after = schema_content(conn, a.schema_name), schema_content(conn, b.schema_name)
        state = conn.execute(select(tenant_schemas.c.revision).where(
            tenant_schemas.c.schema_name == b.schema_name)).scalar()
        own = conn.execute(text(f'SELECT version_num FROM "{b.schema_name}".alembic_version')).scalar()
    assert set(before) == set(after)
    for table in before:
        assert before[table] == after[table], f"{table} differs after the round trip"
    assert state == own == tracks.tenant_head()
    assert files_of(upload_root / a.schema_name) == files_of(upload_root / b.schema_name)
    assert len(files_of(upload_root / b.schema_name)) == 13
    ra, rb = registry_of(db, a.id), registry_of(db, b.id)
    assert ra == rb
    # The report names every table with matching counts.
    for table, entry in manifest["tables"].items():
        line = next(l for l in imported.stdout.splitlines() if l.split() and l.split()[0] == table)
        assert line.split()[1:3] == [str(entry["rows"])] * 2 and "MISMATCH" not in line

    # Byte for byte: exporting the restored client gives the same table dumps and files.
    again = tmp_path / "b.tar.gz"
    export(cli, b.slug, again)
    m2 = read_manifest(again)
    assert {t: e["sha256"] for t, e in m2["tables"].items()} == {t: e["sha256"] for t, e in manifest["tables"].items()}
    assert m2["files"] == manifest["files"]


def test_import_into_another_consultancy_maps_users_by_email_and_drops_foreign_consultants(
        rich, factory, db, tmp_path, upload_root):
    a = rich.client
    out = tmp_path / "a.tar.gz"
    archive.export_client(db.engine, a.slug, out, **archive_args(upload_root))
    other = factory.account(name=f"Target consultancy {os.getpid()}-{a.id}")
    staff_email, staff_id = rich.staff.email, rich.staff.id
    db.session.delete(db.session.get(User, staff_id))  # gone from this installation since the export
    db.session.commit()

    result = archive.import_client(db.engine, out, slug=f"moved-{a.id}", account=other.name,
                                   **archive_args(upload_root))
    assert result.account_id == other.id and result.users_created == [staff_email]
    assert result.consultants_dropped == [rich.consultant.email]
    assert all(exported == restored for exported, restored in result.tables.values())
    db.session.rollback()
    recreated = db.session.scalar(select(User).where(User.email == staff_email))
    assert recreated.id != staff_id and recreated.password_hash is None
    assert registry_of(db, result.client_id)["consultants"] == []
    members = dict(registry_of(db, result.client_id)["members"])
    assert members[staff_email] == "staff" and members[rich.client_admin.email] == "client_admin"
    with tenants.tenant_scope(db.session, result.schema):
        authors = set(db.session.scalars(select(TaskComment.author_id)))
        uploaders = set(db.session.scalars(select(Attachment.uploaded_by_id)))
        actors = set(db.session.scalars(select(ActivityEntry.actor_id).where(ActivityEntry.action == "note")))
    assert recreated.id in authors and staff_id not in authors
    assert uploaders == {recreated.id} and actors == {recreated.id, None}


def test_an_archive_from_an_older_revision_is_restored_there_then_upgraded(rich, db, tmp_path, upload_root):
    a = rich.client
    out = tmp_path / "old.tar.gz"
    archive.export_client(db.engine, a.slug, out, **archive_args(upload_root))
    old = read_manifest(out)["tenant_revision"]
    track = tmp_path / "track"
    shutil.copytree(tracks.TRACKS["tenant"], track, ignore=shutil.ignore_patterns("__pycache__"))
    (track / "versions" / "ee05_newer.py").write_text(
        f'revision = "ee05newer"\ndown_revision = {old!r}\nbranch_labels = None\ndepends_on = None\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        "def upgrade():\n    op.add_column('task_comments', sa.Column('edited', sa.Boolean(), nullable=False,"
        " server_default=sa.false()))\n\n"
        "def downgrade():\n    op.drop_column('task_comments', 'edited')\n")
    try:
        result = archive.import_client(db.engine, out, slug=f"older-{a.id}", location=track,
                                       **archive_args(upload_root))
    finally:
        tracks.forget_tenant_script(track)
    assert (result.revision_in_archive, result.revision, result.upgraded) == (old, "ee05newer", True)
    with db.engine.connect() as conn:
        assert conn.execute(text(f'SELECT count(*), bool_and(NOT edited) FROM "{result.schema}".task_comments')
                            ).one() == (36, True)
        assert conn.execute(select(tenant_schemas.c.revision)
                            .where(tenant_schemas.c.schema_name == result.schema)).scalar() == "ee05newer"
        assert conn.execute(text(f'SELECT version_num FROM "{result.schema}".alembic_version')).scalar() == "ee05newer"
    # Not at the project's head: drop it so that later upgrades over every schema stay clean.
    archive.drop_client(db.engine, result.slug, registry=archive_args(upload_root)["registry"],
                        upload_root=upload_root)


# --- refusals leave nothing behind --------------------------------------------------------------------

def test_importing_onto_an_existing_address_is_refused_and_creates_nothing(rich, db, cli, tmp_path, upload_root):
    out = tmp_path / "a.tar.gz"
    export(cli, rich.client.slug, out)
    before = footprint(db, upload_root)
    result = cli("clients", "import", out)
    assert result.returncode == 1
    assert f"A client with the address “{rich.client.slug}” already exists" in result.stderr
    assert "--slug" in result.stderr and "Nothing was created" in result.stderr
    assert "Traceback" not in result.stderr
    assert footprint(db, upload_root) == before


def _truncate(src, dst):
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])


def _flip_a_compressed_byte(src, dst):
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))


def _change_a_data_member(src, dst):
    rewrite_archive(src, dst, lambda name, data: data.replace(b"comment 3/1", b"comment 3/2", 1)
                    if name == "data/task_comments.tsv" else data)


def _change_a_file(src, dst):
    rewrite_archive(src, dst, lambda name, data: bytes([data[0] ^ 1]) + data[1:] if name.endswith("-05.bin") else data)


def _drop_a_member(src, dst):
    rewrite_archive(src, dst, lambda name, data: None if name == "files/loose/notes.txt" else data)


def _add_a_member(src, dst):
    with tarfile.open(src, "r:gz") as tin:
        members = [(m.name, tin.extractfile(m).read()) for m in tin]
    with tarfile.open(dst, "w:gz") as tout:
        for name, data in members + [("files/../../escape.sh", b"#!/bin/sh\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def _lie_about_row_counts(src, dst):
    """Consistent checksums, wrong manifest: only found once the schema exists — and must be undone."""
    def change(name, data):
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["tables"]["task_comments"]["rows"] += 1
            return json.dumps(manifest).encode()
        return data
    rewrite_archive(src, dst, change)


def _not_an_archive(src, dst):
    dst.write_bytes(gzip.compress(b"just some text, not a tar"))


@pytest.mark.parametrize("damage,message", [
    (_truncate, "is truncated or damaged"),
    (_flip_a_compressed_byte, "damaged"),  # gzip CRC or our checksum, whichever trips first
    (_change_a_data_member, "checksum mismatch for data/task_comments.tsv"),
    (_change_a_file, "checksum mismatch for files/attachments/2/evidence-05.bin"),
    (_drop_a_member, "is incomplete"),
    (_add_a_member, "unexpected member 'files/../../escape.sh'"),
    (_lie_about_row_counts, "task_comments: 36 rows restored but the archive holds 37"),
    (_not_an_archive, "truncated or damaged"),
])
def test_a_damaged_archive_is_refused_with_a_message_and_leaves_nothing(rich, db, cli, tmp_path, upload_root,
                                                                        damage, message):
    good = tmp_path / "good.tar.gz"
    archive.export_client(db.engine, rich.client.slug, good, **archive_args(upload_root))
    bad = tmp_path / "bad.tar.gz"
    damage(good, bad)
    before = footprint(db, upload_root)
    result = cli("clients", "import", bad, "--slug", f"damaged-{rich.client.id}")
    assert result.returncode == 1, result.stdout
    assert message in result.stderr and "Nothing was created" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert footprint(db, upload_root) == before
    assert not (tmp_path / "escape.sh").exists()


def test_bad_options_and_files_get_clear_messages(rich, cli, tmp_path):
    out = tmp_path / "a.tar.gz"
    export(cli, rich.client.slug, out)
    cases = [
        (("clients", "export", "no-such-client", "--output", tmp_path / "x.tar.gz"), "No client with the address"),
        (("clients", "export", rich.client.slug, "--output", tmp_path / "missing" / "x.tar.gz"), "does not exist"),
        (("clients", "import", tmp_path / "nothing.tar.gz"), "does not exist or is not a file"),
        (("clients", "import", out, "--slug", "Not A Slug"), "is not a valid client address"),
        (("clients", "import", out, "--slug", f"fine-{rich.client.id}", "--account", "No Such Consultancy"),
         "No consultancy with id or exact name"),
        (("clients", "drop", "no-such-client"), "No client with the address"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.tar.gz").exists()


# --- isolation ------------------------------------------------------------------------------------

def test_another_consultancys_users_get_404_on_every_route_of_an_imported_client(rich, factory, db, http, tmp_path,
                                                                                 upload_root):
    from test_isolation import CLIENT_ROUTES

    out = tmp_path / "a.tar.gz"
    archive.export_client(db.engine, rich.client.slug, out, **archive_args(upload_root))
    target = factory.world()  # the consultancy the client moves to
    result = archive.import_client(db.engine, out, slug=f"imported-{rich.client.id}", account=str(target.account.id),
                                   **archive_args(upload_root))
    db.session.rollback()
    with tenants.tenant_scope(db.session, result.schema):
        att = db.session.scalars(select(Attachment).order_by(Attachment.id)).first()
        ids = {"slug": result.slug, "task_id": att.task_id, "attachment_id": att.id,
               "doc_id": db.session.execute(text("SELECT min(id) FROM documents")).scalar(),
               "finding_id": db.session.scalars(select(Finding.id)).first(), "stage": "initial_audit"}
        activity = db.session.execute(text("SELECT count(*) FROM activity_log")).scalar()

    def url(rule):
        for name, value in ids.items():
            rule = rule.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        return rule

    http.login(target.owner.email)
    assert http.get(url("/c/<slug>/")).status_code == 200  # its new consultancy sees it
    http.logout()
    outsiders = {"the old consultancy's owner": rich.owner, "the old consultancy's consultant": rich.consultant,
                 "a consultant of the new consultancy not assigned to it": target.consultant}
    for who, user in outsiders.items():
        http.login(user.email)
        for method, rule, data in CLIENT_ROUTES:
            if method == "GET":
                resp = http.get(url(rule))
            else:
                payload = {"file": (io.BytesIO(b"sneaky"), "sneaky.txt")} if data == "file" else dict(data or {})
                resp = http.client.post(url(rule), data={**payload, "csrf_token": http.csrf("/")})
            assert resp.status_code == 404, f"{who}: {method} {url(rule)} -> {resp.status_code}"
            assert rich.client.name not in resp.get_data(as_text=True)
        http.logout()
    with tenants.tenant_scope(db.session, result.schema):
        assert db.session.execute(text("SELECT count(*) FROM activity_log")).scalar() == activity


# --- drop -----------------------------------------------------------------------------------------

def test_drop_needs_a_current_intact_export_or_the_named_override(rich, factory, db, cli, tmp_path, upload_root,
                                                                  exports):
    a = rich.client
    schema, slug, client_id = a.schema_name, a.slug, a.id

    refused = cli("clients", "drop", slug, "--yes")
    assert refused.returncode == 1 and f"No export of {slug} is recorded" in refused.stderr
    assert "--i-have-no-export" in refused.stderr and "Traceback" not in refused.stderr

    export(cli, slug, tmp_path / "first.tar.gz")
    assert archive.recorded_exports(exports, schema)[-1]["path"] == str((tmp_path / "first.tar.gz").resolve())
    with tenants.tenant_scope(db.session, schema):  # the client changes after the export
        db.session.add(TaskComment(task_id=db.session.scalars(select(Task.id)).first(), author_name="Late",
                                   body="written after the export"))
        db.session.commit()
    (upload_root / schema / "loose" / "later.txt").write_text("added later")
    stale = cli("clients", "drop", slug, "--yes")
    assert stale.returncode == 1 and "task_comments changed since the export" in stale.stderr
    assert "file loose/later.txt was added since the export" in stale.stderr and "--i-have-no-export" in stale.stderr

    damaged = tmp_path / "damaged.tar.gz"
    _truncate(tmp_path / "first.tar.gz", damaged)
    broken = cli("clients", "drop", slug, "--yes", "--export-file", damaged)
    assert broken.returncode == 1 and "truncated or damaged" in broken.stderr

    export(cli, slug, tmp_path / "second.tar.gz")
    assert cli("clients", "drop", slug, input="n\n").returncode == 1  # the confirmation defaults to no
    dropped = cli("clients", "drop", slug, "--yes")
    assert dropped.returncode == 0, dropped.stderr
    assert "verified" in dropped.stdout and f"dropped {slug}" in dropped.stdout
    db.session.rollback()
    assert db.session.get(Client, client_id) is None and db.session.get(ClientSummary, client_id) is None
    assert db.session.scalar(select(func.count()).select_from(ClientMember)
                             .where(ClientMember.client_id == client_id)) == 0
    assert db.session.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is None
    assert db.session.execute(select(tenant_schemas).where(tenant_schemas.c.schema_name == schema)).first() is None
    assert not (upload_root / schema).exists()
    assert not [p for p in upload_root.iterdir() if p.name.startswith(".dropped-")]

    # The second export restores what was dropped.
    back = cli("clients", "import", tmp_path / "second.tar.gz")
    assert back.returncode == 0, back.stderr

    other = factory.client(rich.account)
    other_id, other_slug = other.id, other.slug
    forced = cli("clients", "drop", other_slug, "--i-have-no-export", "--yes")
    assert forced.returncode == 0, forced.stderr
    db.session.rollback()
    assert db.session.scalar(select(Client.id).where(Client.id == other_id)) is None
