"""Export one client to an archive, record where it went, and check an export is still current."""
from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select, text

from tenants import archive_format, schema_dump
from tenants.archive_format import ArchiveError, Member

from .registry import Registry, client_files, export_registry, read_archive


@dataclass
class ExportResult:
    path: Path
    slug: str
    schema: str
    client_id: int
    revision: str
    exported_at: str
    tables: dict[str, int]
    files: int
    file_bytes: int
    archive_bytes: int
    archive_sha256: str
    seconds: float


def export_client(engine, slug: str, output, *, registry: Registry, user_refs: dict, upload_root,
                  progress=None) -> ExportResult:
    """Write one client to `output` (a .tar.gz); the file appears only once complete."""
    started = time.perf_counter()
    output = Path(output)
    if output.is_dir():
        raise ArchiveError(f"{output} is a folder; give the archive's file name")
    if not output.parent.is_dir():
        raise ArchiveError(f"folder {output.parent} does not exist")
    r = registry
    with tempfile.TemporaryDirectory(prefix="isopath-export-") as staging:
        staging = Path(staging)
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        try:
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                client = conn.execute(select(r.clients).where(r.clients.c.slug == slug)).first()
                if client is None:
                    raise ArchiveError(f"No client with the address “{slug}”.")
                schema = client.schema_name
                revision = schema_dump.schema_revision(conn, schema)
                if revision is None:
                    raise ArchiveError(f"The schema {schema} of client “{slug}” is missing or was never migrated; "
                                       "see `flask tenants status`.")
                tables = schema_dump.tables(conn, schema)
                table_entries = schema_dump.dump_schema(conn, schema, tables, staging, progress)
                sequences = schema_dump.sequences(conn, schema)
                registry_doc = export_registry(conn, r, client, schema, tables, user_refs)
                account = conn.execute(select(r.accounts.c.id, r.accounts.c.name)
                                       .where(r.accounts.c.id == client.account_id)).first()
        finally:
            conn.close()

        registry_bytes = json.dumps(registry_doc, indent=1, sort_keys=True).encode()
        folder = Path(upload_root) / schema
        files = []
        for rel, path in client_files(folder):
            size, digest = archive_format.file_digest(path)
            files.append({"path": rel, "member": f"files/{rel}", "size": size, "sha256": digest})
        exported_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        registry_sha = hashlib.sha256(registry_bytes).hexdigest()
        manifest = {
            "format": archive_format.FORMAT,
            "format_version": archive_format.FORMAT_VERSION,
            "exported_at": exported_at,
            "tenant_revision": revision,
            "template": {"key": client.template_key, "version": client.template_version},
            "source": {"client_id": client.id, "slug": client.slug, "schema": schema, "name": client.name,
                       "account_id": client.account_id, "account_name": account.name if account else None},
            "registry": {"member": "registry.json", "bytes": len(registry_bytes), "sha256": registry_sha},
            "tables": table_entries,
            "sequences": sequences,
            "files": files,
        }
        members = [Member("registry.json", data=registry_bytes, size=len(registry_bytes), sha256=registry_sha)]
        members += [Member(e["member"], path=staging / f"{name}.tsv", size=e["bytes"], sha256=e["sha256"])
                    for name, e in table_entries.items()]
        members += [Member(e["member"], path=folder / e["path"], size=e["size"], sha256=e["sha256"],
                           changed=f"file {e['path']} changed during the export; run it again") for e in files]
        size, digest = archive_format.write_archive(output, manifest, members, progress)
    return ExportResult(path=output, slug=client.slug, schema=schema, client_id=client.id, revision=revision,
                        exported_at=exported_at, tables={n: e["rows"] for n, e in table_entries.items()},
                        files=len(files), file_bytes=sum(f["size"] for f in files), archive_bytes=size,
                        archive_sha256=digest, seconds=time.perf_counter() - started)


# --- the records that guard dropping a client --------------------------------------------------------

def record_export(records_dir, result: ExportResult) -> Path:
    """Remember where a client's export went (one JSON line per export, per schema)."""
    records_dir = Path(records_dir)
    records_dir.mkdir(parents=True, exist_ok=True)
    log = records_dir / f"{result.schema}.jsonl"
    entry = {"client_id": result.client_id, "slug": result.slug, "schema": result.schema,
             "path": str(Path(result.path).resolve()), "exported_at": result.exported_at,
             "archive_sha256": result.archive_sha256, "revision": result.revision}
    with open(log, "a") as f:
        f.write(json.dumps(entry) + "\n")
    return log


def recorded_exports(records_dir, schema: str) -> list[dict]:
    log = Path(records_dir) / f"{schema}.jsonl"
    if not log.is_file():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def export_problems(engine, archive_path, *, registry: Registry, schema: str, client_id: int, upload_root) -> list[str]:
    """Why `archive_path` is not a complete, current export of the client; empty when it is.

    The archive is read end to end (checksums), must be of this very client
    (id and schema), and must hold exactly the client's current data: every
    table's rows are dumped again the same way and compared by checksum, and
    so is every file. An export taken before the last change does not count.
    """
    try:
        manifest = read_archive(archive_path)
    except ArchiveError as exc:
        return [str(exc)]
    source = manifest["source"]
    if source.get("client_id") != client_id or source.get("schema") != schema:
        return [f"{archive_path} is an export of client {source.get('slug')!r} ({source.get('schema')}), "
                f"not of this client ({schema})"]
    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        with conn.begin():
            problems = schema_dump.changed_tables(conn, schema, manifest["tables"])
    finally:
        conn.close()
    current = {rel: path for rel, path in client_files(Path(upload_root) / schema)}
    listed = {f["path"]: f for f in manifest["files"]}
    for rel in sorted(set(current) - set(listed)):
        problems.append(f"file {rel} was added since the export")
    for rel in sorted(set(listed) - set(current)):
        problems.append(f"file {rel} was removed since the export")
    for rel in sorted(set(current) & set(listed)):
        _size, digest = archive_format.file_digest(current[rel])
        if digest != listed[rel]["sha256"]:
            problems.append(f"file {rel} changed since the export")
    return problems
