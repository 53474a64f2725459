"""Restore an archive as a new client (all or nothing), and drop a client for good."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from tenants import schema_dump
from tenants.archive_format import ArchiveError
from tenants.migrate import migrate_schema_in_transaction
from tenants.names import schema_name_for
from tenants.provisioning import drop_schema, provision_schema
from tenants.tracks import is_descendant, tenant_script

from .registry import Registry, client_files, from_json, known_columns, map_users, read_archive, resolve_account

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SLUG_MAX = 50


@dataclass
class ImportResult:
    client_id: int
    slug: str
    schema: str
    account_id: int
    revision_in_archive: str
    revision: str
    tables: dict[str, tuple[int, int]]  # table → (rows in archive, rows restored)
    files: int
    file_bytes: int
    users_created: list[str] = field(default_factory=list)
    consultants_dropped: list[str] = field(default_factory=list)
    cleared_user_refs: int = 0
    seconds: float = 0.0

    @property
    def upgraded(self) -> bool:
        return self.revision != self.revision_in_archive


def _check_revision(script, revision: str, head: str) -> None:
    try:
        known = script.get_revision(revision) is not None
    except Exception:
        known = False
    if not known:
        raise ArchiveError(f"the archive was taken at tenant revision {revision}, which this installation "
                           "does not know: import it with the code version that exported it or newer")
    if revision != head and is_descendant(script, revision, head):
        raise ArchiveError(f"the archive is at tenant revision {revision}, newer than this installation's "
                           f"{head}: upgrade this installation first")


def _insert_registry_rows(conn, r: Registry, doc: dict, client_id: int, account_id: int, new_slug: str, schema: str):
    """Client, summary, members and consultants; returns (user id map, users created, consultants dropped)."""
    client_row = {k: from_json(v) for k, v in doc["client"].items()}
    client_row.update(id=client_id, slug=new_slug, account_id=account_id, schema_name=schema)
    conn.execute(insert(r.clients).values(**known_columns(r.clients, client_row)))
    if doc.get("summary") is not None:
        summary = {k: from_json(v) for k, v in doc["summary"].items()}
        summary["client_id"] = client_id
        conn.execute(insert(r.client_summaries).values(**known_columns(r.client_summaries, summary)))
    id_map, created = map_users(conn, r, doc["users"])
    by_email = {u["email"]: id_map[u["id"]] for u in doc["users"]}
    for m in doc["members"]:
        conn.execute(insert(r.client_members).values(client_id=client_id, user_id=by_email[m["email"]],
                                                     role=m["role"]))
    allowed = set(conn.execute(
        select(r.users.c.email).join(r.account_members, r.account_members.c.user_id == r.users.c.id)
        .where(r.account_members.c.account_id == account_id)).scalars())
    dropped = []
    for email in doc["consultants"]:
        if email in allowed:
            conn.execute(insert(r.client_consultants).values(client_id=client_id, user_id=by_email[email]))
        else:
            dropped.append(email)
    return id_map, created, dropped


def import_client(engine, archive_path, *, registry: Registry, user_refs: dict, upload_root, slug: str | None = None,
                  account: str | None = None, progress=None, location=None) -> ImportResult:
    """Restore an archive as a new client; all or nothing."""
    started = time.perf_counter()
    r = registry
    upload_root = Path(upload_root)
    upload_root.mkdir(parents=True, exist_ok=True)
    # Scratch space next to the uploads, so that moving the files into place is a rename.
    work = Path(tempfile.mkdtemp(prefix=".import-", dir=upload_root))
    placed: Path | None = None
    try:
        manifest = read_archive(archive_path, work, progress)
        doc = json.loads((work / "registry.json").read_bytes())
        script = tenant_script(location)
        head = script.get_current_head()
        revision = manifest["tenant_revision"]
        _check_revision(script, revision, head)
        new_slug = (slug or doc["client"]["slug"]).strip().lower()
        if not SLUG_RE.match(new_slug) or len(new_slug) > SLUG_MAX:
            raise ArchiveError(f"“{new_slug}” is not a valid client address: use lowercase letters, digits and "
                               "single hyphens")

        with engine.connect() as conn:
            with conn.begin():
                if conn.execute(select(r.clients.c.id).where(r.clients.c.slug == new_slug)).first():
                    raise ArchiveError(f"A client with the address “{new_slug}” already exists. Import under "
                                       "another address with --slug NEW-ADDRESS.")
                account_id = resolve_account(conn, r, account, manifest["source"])
                client_id = conn.execute(select(func.nextval("clients_id_seq"))).scalar()
                schema = schema_name_for(client_id)
                id_map, created, dropped = _insert_registry_rows(conn, r, doc, client_id, account_id, new_slug,
                                                                 schema)
                provision_schema(conn, schema, revision=revision, location=location)
                # Same installation, same ids, no dangling references: the data goes in byte for byte.
                identity = all(k == v for k, v in id_map.items()) and not doc.get("missing_user_ids", [])
                counts, cleared = schema_dump.load_schema(conn, schema, manifest, work, user_refs, id_map,
                                                          identity, progress)
                if revision != head:
                    migrate_schema_in_transaction(conn, schema, "head", location=location)

                placed = upload_root / schema
                if placed.exists():
                    placed = None  # not ours: never remove it below
                    raise ArchiveError(f"{upload_root / schema} already exists; move it away and import again")
                (work / "files").mkdir(exist_ok=True)
                os.replace(work / "files", upload_root / schema)
                placed = upload_root / schema
            placed = None  # committed: the files now belong to the client
        files = manifest["files"]
        return ImportResult(client_id=client_id, slug=new_slug, schema=schema, account_id=account_id,
                            revision_in_archive=revision, revision=head, tables=counts, files=len(files),
                            file_bytes=sum(f["size"] for f in files), users_created=created,
                            consultants_dropped=dropped, cleared_user_refs=cleared,
                            seconds=time.perf_counter() - started)
    finally:
        if placed is not None:
            shutil.rmtree(placed, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class DropResult:
    client_id: int
    slug: str
    schema: str
    files_removed: int


def drop_client(engine, slug: str, *, registry: Registry, upload_root) -> DropResult:
    """Remove a client for good: registry rows, summary, memberships, schema and files, all or nothing.

    The caller decides whether an export is required (see `export_problems`).
    """
    r = registry
    parked = folder = None
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            client = conn.execute(select(r.clients).where(r.clients.c.slug == slug).with_for_update()).first()
            if client is None:
                raise ArchiveError(f"No client with the address “{slug}”.")
            schema = client.schema_name
            for table in (r.client_members, r.client_consultants, r.client_summaries):
                conn.execute(delete(table).where(table.c.client_id == client.id))
            conn.execute(delete(r.clients).where(r.clients.c.id == client.id))  # cascades invitations etc.
            drop_schema(conn, schema)
            folder = Path(upload_root) / schema
            files = len(client_files(folder))
            if folder.exists():
                # Parked, not deleted, until the commit: a failed drop puts it back.
                parked = folder.with_name(f".dropped-{schema}-{os.getpid()}")
                os.replace(folder, parked)
            trans.commit()
        except BaseException:
            if trans.is_active:
                trans.rollback()
            if parked is not None:
                os.replace(parked, folder)
            raise
    if parked is not None:
        shutil.rmtree(parked, ignore_errors=True)
    return DropResult(client_id=client.id, slug=slug, schema=schema, files_removed=files)
