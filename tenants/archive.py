"""One client in one file: export, verified import, and the check that guards dropping a client.

Archive format (a gzip-compressed tar, format version 1)::

    manifest.json            what is inside, with a sha256 and size for every other member
    registry.json            the client's registry rows: client, summary, members and consultants
                             (users by email and name — never password hashes)
    data/<table>.tsv         each tenant table as PostgreSQL COPY text format, in primary-key order
    files/<relative path>    every file under UPLOAD_ROOT/<schema>/, at its path relative to that folder

The manifest also records the tenant revision the data was taken at, the
client's template key and version, the rows per table, the column lists and
the sequences' positions. Data is read in one REPEATABLE READ transaction, so
the tables are mutually consistent.

Import reads the whole archive into a scratch folder and checks every
member's checksum before it creates anything; then, in one transaction, it
creates the registry rows and the schema at the archive's revision, loads the
tables (parents before children), restores sequences, checks row counts, and
upgrades the schema to head with the same runner as `flask tenants upgrade`.
The files move into place just before the commit and are removed again if
anything fails, so a failed import leaves no schema, no registry row and no
file behind.

Tenant tables are never named here: they are read from the catalog of the
schema being exported or restored. Columns that hold a `public.users` id are
given by the caller (the models mark them `info={"user_ref": True}`); their ids
are exported with the users' emails and rewritten to the target's ids on import.

The checksums detect damage and truncation; they are not a signature — someone
who rewrites a member and the manifest together is not detected.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, func, insert, select, text

from .names import schema_name_for
from .migrate import migrate_schema_in_transaction
from .provisioning import drop_schema, provision_schema
from .tracks import is_descendant, tenant_script

FORMAT = "isopath-client-archive"
FORMAT_VERSION = 1
COMPRESSLEVEL = 3  # attachments are mostly compressed already; table data shrinks well even at 3
CHUNK = 1 << 20
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SLUG_MAX = 50


class ArchiveError(Exception):
    """Something the operator must fix; the message says what, without a traceback."""


# --- what the caller tells us -------------------------------------------------------------------

@dataclass(frozen=True)
class Registry:
    """The shared tables an archive carries rows of (defined by the app, passed in)."""

    clients: object
    client_summaries: object
    client_members: object
    client_consultants: object
    users: object
    accounts: object
    account_members: object

    @classmethod
    def from_metadata(cls, metadata) -> "Registry":
        names = ("clients", "client_summaries", "client_members", "client_consultants", "users", "accounts",
                 "account_members")
        missing = [n for n in names if n not in metadata.tables]
        if missing:
            raise RuntimeError(f"shared metadata lacks {missing}: import the app's models first")
        return cls(*(metadata.tables[n] for n in names))


def user_ref_columns(tenant_metadata) -> dict[str, frozenset[str]]:
    """table → columns marked `info={"user_ref": True}` (ids of public.users, no FK across schemas)."""
    refs = {}
    for table in tenant_metadata.tables.values():
        cols = frozenset(c.name for c in table.columns if c.info.get("user_ref"))
        if cols:
            refs[table.name] = cols
    return refs


class _NoProgress:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _bar(progress, desc: str, total: int, unit: str):
    """`progress(desc, total, unit)` returns a tqdm-like object (update, close); None: no bar."""
    return progress(desc, total, unit) if progress else _NoProgress()


# --- reading one schema ---------------------------------------------------------------------------

_TABLES_SQL = text("""
    SELECT c.relname::text,
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS columns,
           (SELECT array_agg(pa.attname::text ORDER BY k.ord)
              FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute pa ON pa.attrelid = i.indrelid AND pa.attnum = k.attnum
             WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema)
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'alembic_version'
    GROUP BY c.oid, c.relname
    ORDER BY c.relname
""")

_FKS_SQL = text("""
    SELECT c.relname::text, r.relname::text
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_class r ON r.oid = k.confrelid
    WHERE k.contype = 'f' AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema)
      AND r.relnamespace = k.connamespace
""")

_SEQUENCES_SQL = text("""
    SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = :schema ORDER BY 1
""")


def _tables(conn, schema: str) -> dict[str, dict]:
    """One catalog query: every table of `schema` with its columns and primary key."""
    return {name: {"columns": list(cols), "pk": list(pk or [])}
            for name, cols, pk in conn.execute(_TABLES_SQL, {"schema": schema})}


def _load_order(conn, schema: str, tables) -> list[str]:
    """Parents before children, from the schema's own foreign keys (one catalog query)."""
    deps = {t: set() for t in tables}
    for child, parent in conn.execute(_FKS_SQL, {"schema": schema}):
        if child in deps and parent in deps and child != parent:  # self-references are checked per statement
            deps[child].add(parent)
    order, done = [], set()
    while deps:
        ready = sorted(t for t, parents in deps.items() if parents <= done)
        if not ready:  # a cycle: PostgreSQL would need deferred constraints; say so rather than guess
            raise ArchiveError(f"tables {sorted(deps)} reference each other in a cycle; cannot order the load")
        for t in ready:
            order.append(t)
            done.add(t)
            del deps[t]
    return order


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_out_sql(schema: str, table: str, columns: list[str], pk: list[str]) -> str:
    cols = ", ".join(_q(c) for c in columns)
    order = f" ORDER BY {', '.join(_q(c) for c in pk)}" if pk else ""  # without a key, order is not defined
    return f"COPY (SELECT {cols} FROM {_q(schema)}.{_q(table)}{order}) TO STDOUT"


def _dump_table(raw, schema, table, info, sink) -> tuple[int, int, str]:
    """COPY one table out to `sink` (or nowhere); returns rows, bytes, sha256."""
    digest, size, rows = hashlib.sha256(), 0, 0
    with raw.cursor() as cur:
        with cur.copy(_copy_out_sql(schema, table, info["columns"], info["pk"])) as copy:
            for chunk in copy:
                chunk = bytes(chunk)
                digest.update(chunk)
                size += len(chunk)
                rows += chunk.count(b"\n")  # text format: one line per row, newlines in values are escaped
                if sink is not None:
                    sink.write(chunk)
    return rows, size, digest.hexdigest()


def _file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _client_files(folder: Path) -> list[tuple[str, Path]]:
    """Every regular file under the client's folder, by path relative to it (symlinks are not followed)."""
    if not folder.is_dir():
        return []
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            if path.is_file() and not path.is_symlink():
                found.append((path.relative_to(folder).as_posix(), path))
    return found


# --- JSON for registry rows ------------------------------------------------------------------------

def _to_json(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return value


def _from_json(value):
    if isinstance(value, dict) and len(value) == 1:
        (key, raw), = value.items()
        if key == "$datetime":
            return datetime.fromisoformat(raw)
        if key == "$date":
            return date.fromisoformat(raw)
        if key == "$decimal":
            return Decimal(raw)
    return value


def _row_dict(row, skip=()) -> dict:
    return {k: _to_json(v) for k, v in row._mapping.items() if k not in skip}


# --- export --------------------------------------------------------------------------------------

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
                if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{_q(schema)}.alembic_version"}).scalar() is None:
                    raise ArchiveError(f"The schema {schema} of client “{slug}” is missing or was never migrated; "
                                       "see `flask tenants status`.")
                revision = conn.execute(text(f"SELECT version_num FROM {_q(schema)}.alembic_version")).scalar()
                tables = _tables(conn, schema)
                raw = conn.connection.driver_connection
                bar = _bar(progress, "tables", len(tables), "table")
                table_entries = {}
                for name, info in tables.items():
                    member = f"data/{name}.tsv"
                    with open(staging / f"{name}.tsv", "wb") as sink:
                        rows, size, digest = _dump_table(raw, schema, name, info, sink)
                    table_entries[name] = {"member": member, "columns": info["columns"], "primary_key": info["pk"],
                                           "rows": rows, "bytes": size, "sha256": digest}
                    bar.update(1)
                bar.close()
                sequences = {name: value for name, value in conn.execute(_SEQUENCES_SQL, {"schema": schema})}
                registry_doc = _export_registry(conn, r, client, schema, tables, user_refs)
                account = conn.execute(select(r.accounts.c.id, r.accounts.c.name)
                                       .where(r.accounts.c.id == client.account_id)).first()
        finally:
            conn.close()

        registry_bytes = json.dumps(registry_doc, indent=1, sort_keys=True).encode()
        folder = Path(upload_root) / schema
        files = []
        for rel, path in _client_files(folder):
            size, digest = _file_digest(path)
            files.append({"path": rel, "member": f"files/{rel}", "size": size, "sha256": digest})
        exported_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": exported_at,
            "tenant_revision": revision,
            "template": {"key": client.template_key, "version": client.template_version},
            "source": {"client_id": client.id, "slug": client.slug, "schema": schema, "name": client.name,
                       "account_id": client.account_id, "account_name": account.name if account else None},
            "registry": {"member": "registry.json", "bytes": len(registry_bytes),
                         "sha256": hashlib.sha256(registry_bytes).hexdigest()},
            "tables": table_entries,
            "sequences": sequences,
            "files": files,
        }
        manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()

        fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
        os.close(fd)
        mtime = time.time()
        total = len(registry_bytes) + sum(t["bytes"] for t in table_entries.values()) + sum(f["size"] for f in files)
        bar = _bar(progress, "archive", total, "B")
        try:
            with tarfile.open(partial, "w:gz", compresslevel=COMPRESSLEVEL, format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, "manifest.json", manifest_bytes, mtime)
                _add_bytes(tar, "registry.json", registry_bytes, mtime)
                bar.update(len(registry_bytes))
                for name, entry in table_entries.items():
                    with open(staging / f"{name}.tsv", "rb") as f:
                        _add_stream(tar, entry["member"], f, entry["bytes"], entry["sha256"], mtime, bar)
                for entry in files:
                    with open(folder / entry["path"], "rb") as f:
                        _add_stream(tar, entry["member"], f, entry["size"], entry["sha256"], mtime, bar,
                                    changed=f"file {entry['path']} changed during the export; run it again")
            bar.close()
            size, digest = _file_digest(Path(partial))
            os.replace(partial, output)  # atomic: a reader never sees half an archive under the real name
        except BaseException:
            bar.close()
            Path(partial).unlink(missing_ok=True)
            raise
    return ExportResult(path=output, slug=client.slug, schema=schema, client_id=client.id, revision=revision,
                        exported_at=exported_at, tables={n: e["rows"] for n, e in table_entries.items()},
                        files=len(files), file_bytes=sum(f["size"] for f in files), archive_bytes=size,
                        archive_sha256=digest, seconds=time.perf_counter() - started)


def _export_registry(conn, r: Registry, client, schema, tables, user_refs) -> dict:
    """The client's registry rows, with every user it mentions by email (no password hashes)."""
    user_ids: set[int] = set()
    for table, cols in user_refs.items():
        present = [c for c in cols if table in tables and c in tables[table]["columns"]]
        for col in present:
            user_ids.update(conn.execute(text(
                f"SELECT DISTINCT {_q(col)} FROM {_q(schema)}.{_q(table)} WHERE {_q(col)} IS NOT NULL")).scalars())
    members = conn.execute(select(r.users.c.email, r.client_members.c.role)
                           .join(r.users, r.users.c.id == r.client_members.c.user_id)
                           .where(r.client_members.c.client_id == client.id)
                           .order_by(r.users.c.email)).all()
    consultants = conn.execute(select(r.users.c.email)
                               .join(r.users, r.users.c.id == r.client_consultants.c.user_id)
                               .where(r.client_consultants.c.client_id == client.id)
                               .order_by(r.users.c.email)).scalars().all()
    member_ids = conn.execute(select(r.client_members.c.user_id).where(r.client_members.c.client_id == client.id)
                              .union(select(r.client_consultants.c.user_id)
                                     .where(r.client_consultants.c.client_id == client.id))).scalars().all()
    wanted = user_ids | set(member_ids)
    users = conn.execute(select(r.users.c.id, r.users.c.email, r.users.c.name)
                         .where(r.users.c.id.in_(sorted(wanted))).order_by(r.users.c.id)).all() if wanted else []
    found = {u.id for u in users}
    summary = conn.execute(select(r.client_summaries).where(r.client_summaries.c.client_id == client.id)).first()
    client_cols = ("name", "slug", "status", "template_key", "template_version", "created_at", "archived_at")
    return {
        "client": {k: _to_json(getattr(client, k)) for k in client_cols if k in client._mapping},
        "summary": _row_dict(summary, skip=("client_id",)) if summary is not None else None,
        "members": [{"email": m.email, "role": m.role} for m in members],
        "consultants": list(consultants),
        "users": [{"id": u.id, "email": u.email, "name": u.name} for u in users],
        # Ids still referenced by the data whose user no longer exists: cleared on import.
        "missing_user_ids": sorted(user_ids - found),
    }


def _add_bytes(tar, name, data: bytes, mtime) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))


class _HashingReader:
    def __init__(self, f, bar):
        self.f, self.bar, self.digest = f, bar, hashlib.sha256()

    def read(self, n=-1):
        data = self.f.read(n)
        self.digest.update(data)
        self.bar.update(len(data))
        return data


def _add_stream(tar, name, f, size, sha256, mtime, bar, changed=None) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    reader = _HashingReader(f, bar)
    try:
        tar.addfile(info, reader)
    except OSError as exc:  # tarfile: "unexpected end of data" when a file shrank meanwhile
        raise ArchiveError(changed or f"{name} changed while it was archived") from exc
    if reader.digest.hexdigest() != sha256:
        raise ArchiveError(changed or f"{name} changed while it was archived")


# --- reading an archive -------------------------------------------------------------------------

def _safe_relative(path: str) -> bool:
    p = PurePosixPath(path)
    return bool(path) and not p.is_absolute() and ".." not in p.parts and "\\" not in path and all(p.parts)


def _expected_members(manifest) -> dict[str, tuple[int, str]]:
    expected = {manifest["registry"]["member"]: (manifest["registry"]["bytes"], manifest["registry"]["sha256"])}
    for entry in manifest["tables"].values():
        expected[entry["member"]] = (entry["bytes"], entry["sha256"])
    for entry in manifest["files"]:
        if not _safe_relative(entry["path"]) or entry["member"] != f"files/{entry['path']}":
            raise ArchiveError(f"the archive names an unsafe file path {entry['path']!r}; refusing it")
        expected[entry["member"]] = (entry["size"], entry["sha256"])
    return expected


def _check_manifest(manifest) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("this is not an ISOpath client archive (no ISOpath manifest)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"archive format version {manifest.get('format_version')} is not supported "
                           f"(this version reads {FORMAT_VERSION})")
    for key in ("tenant_revision", "source", "registry", "tables", "sequences", "files"):
        if key not in manifest:
            raise ArchiveError(f"the archive's manifest lacks {key!r}; it is damaged")
    for name in manifest["tables"]:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ArchiveError(f"the archive names an invalid table {name!r}")


def read_archive(path, workdir=None, progress=None) -> dict:
    """Read and verify every member of an archive; returns its manifest.

    With `workdir`, members are written there (registry.json, data/…, files/…)
    as they are checked; without, they are only checked. Any damage, truncation,
    tampering or unexpected member raises ArchiveError naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist or is not a file")
    total = path.stat().st_size
    bar = _bar(progress, "verify", total, "B")
    manifest, expected, seen = None, None, set()
    try:
        with open(path, "rb") as raw_file:
            counted = _CountingReader(raw_file, bar)
            with tarfile.open(fileobj=counted, mode="r|gz") as tar:
                for member in tar:
                    if manifest is None:
                        if member.name != "manifest.json" or not member.isfile() or member.size > 64 << 20:
                            raise ArchiveError("this is not an ISOpath client archive (it does not start "
                                               "with manifest.json)")
                        try:
                            manifest = json.loads(tar.extractfile(member).read())
                        except ValueError as exc:
                            raise ArchiveError("the archive's manifest is not valid JSON; it is damaged") from exc
                        _check_manifest(manifest)
                        expected = _expected_members(manifest)
                        continue
                    if member.name not in expected or member.name in seen:
                        raise ArchiveError(f"the archive contains an unexpected member {member.name!r}; "
                                           "it was modified after export")
                    if not member.isfile():
                        raise ArchiveError(f"archive member {member.name!r} is not a regular file")
                    size, sha = expected[member.name]
                    source = tar.extractfile(member)
                    digest, got = hashlib.sha256(), 0
                    target = None
                    if workdir is not None:
                        target = Path(workdir, *PurePosixPath(member.name).parts)
                        target.parent.mkdir(parents=True, exist_ok=True)
                    with (open(target, "wb") if target else _Discard()) as out:
                        for chunk in iter(lambda: source.read(CHUNK), b""):
                            digest.update(chunk)
                            got += len(chunk)
                            out.write(chunk)
                    if got != size or digest.hexdigest() != sha:
                        raise ArchiveError(f"checksum mismatch for {member.name}: the archive is damaged or was "
                                           "modified after export")
                    seen.add(member.name)
    except ArchiveError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ArchiveError(f"{path.name} is truncated or damaged and cannot be read ({reason})") from exc
    finally:
        bar.close()
    if manifest is None:
        raise ArchiveError(f"{path.name} is empty: not an ISOpath client archive")
    missing = sorted(set(expected) - seen)
    if missing:
        raise ArchiveError(f"{path.name} is incomplete (truncated?): {len(missing)} member(s) missing, "
                           f"e.g. {missing[0]}")
    return manifest


class _CountingReader:
    def __init__(self, f, bar):
        self.f, self.bar = f, bar

    def read(self, n=-1):
        data = self.f.read(n)
        self.bar.update(len(data))
        return data


class _Discard:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, data):
        pass


# --- import --------------------------------------------------------------------------------------

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
        new_slug = (slug or doc["client"]["slug"]).strip().lower()
        if not SLUG_RE.match(new_slug) or len(new_slug) > SLUG_MAX:
            raise ArchiveError(f"“{new_slug}” is not a valid client address: use lowercase letters, digits and "
                               "single hyphens")

        with engine.connect() as conn:
            with conn.begin():
                if conn.execute(select(r.clients.c.id).where(r.clients.c.slug == new_slug)).first():
                    raise ArchiveError(f"A client with the address “{new_slug}” already exists. Import under "
                                       "another address with --slug NEW-ADDRESS.")
                account_id = _resolve_account(conn, r, account, manifest["source"])
                client_id = conn.execute(select(func.nextval("clients_id_seq"))).scalar()
                schema = schema_name_for(client_id)
                client_row = {k: _from_json(v) for k, v in doc["client"].items()}
                client_row.update(id=client_id, slug=new_slug, account_id=account_id, schema_name=schema)
                conn.execute(insert(r.clients).values(**_known(r.clients, client_row)))
                if doc.get("summary") is not None:
                    summary = {k: _from_json(v) for k, v in doc["summary"].items()}
                    summary["client_id"] = client_id
                    conn.execute(insert(r.client_summaries).values(**_known(r.client_summaries, summary)))
                id_map, created = _map_users(conn, r, doc["users"])
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
                        conn.execute(insert(r.client_consultants).values(client_id=client_id,
                                                                         user_id=by_email[email]))
                    else:
                        dropped.append(email)

                provision_schema(conn, schema, revision=revision, location=location)
                counts, cleared = _load_tables(conn, schema, manifest, work, user_refs, id_map,
                                               doc.get("missing_user_ids", []), progress)
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


def _known(table, row: dict) -> dict:
    """Only the columns this installation's table has (older or newer archives may differ)."""
    return {k: v for k, v in row.items() if k in table.c}


def _resolve_account(conn, r: Registry, account: str | None, source: dict) -> int:
    a = r.accounts
    if account is not None:
        account = account.strip()
        if account.isdigit():
            found = conn.execute(select(a.c.id).where(a.c.id == int(account))).scalars().all()
        else:
            found = conn.execute(select(a.c.id).where(a.c.name == account)).scalars().all()
        if not found:
            raise ArchiveError(f"No consultancy with id or exact name “{account}”.")
        if len(found) > 1:
            raise ArchiveError(f"{len(found)} consultancies are named “{account}”; give its id instead "
                               f"({', '.join(map(str, found))}).")
        return found[0]
    same = conn.execute(select(a.c.id).where(a.c.id == source.get("account_id"),
                                             a.c.name == source.get("account_name"))).scalar()
    if same is None:
        raise ArchiveError(f"The consultancy the client was exported from (“{source.get('account_name')}”, id "
                           f"{source.get('account_id')}) is not in this installation: choose one with --account.")
    return same


def _map_users(conn, r: Registry, users: list[dict]) -> tuple[dict[int, int], list[str]]:
    """Archive user id → this installation's id, by email; missing users are created without a password."""
    u = r.users
    emails = [x["email"] for x in users]
    existing = dict(conn.execute(select(u.c.email, u.c.id).where(u.c.email.in_(emails))).all()) if emails else {}
    id_map, created = {}, []
    for x in users:
        if x["email"] not in existing:
            # No password: the person uses "forgot password" or is invited to get in.
            existing[x["email"]] = conn.execute(insert(u).values(email=x["email"], name=x["name"])
                                                .returning(u.c.id)).scalar()
            created.append(x["email"])
        id_map[x["id"]] = existing[x["email"]]
    return id_map, created


def _load_tables(conn, schema, manifest, work: Path, user_refs, id_map, missing_user_ids, progress):
    """COPY every table in, parents first, rewriting user ids; then sequences and row counts."""
    tables = _tables(conn, schema)
    archived = manifest["tables"]
    for name, entry in archived.items():
        if name not in tables:
            raise ArchiveError(f"table {name} of the archive does not exist at revision "
                               f"{manifest['tenant_revision']}; the archive does not match its revision")
        unknown = set(entry["columns"]) - set(tables[name]["columns"])
        if unknown:
            raise ArchiveError(f"columns {sorted(unknown)} of {name} do not exist at revision "
                               f"{manifest['tenant_revision']}; the archive does not match its revision")
    # Same installation, same ids, no dangling references: the data goes in byte for byte.
    identity = all(k == v for k, v in id_map.items()) and not missing_user_ids
    raw = conn.connection.driver_connection
    total = sum(e["bytes"] for e in archived.values())
    bar = _bar(progress, "restore", total, "B")
    cleared = 0
    try:
        for name in _load_order(conn, schema, [t for t in tables if t in archived]):
            entry = archived[name]
            cols = entry["columns"]
            ref_idx = [i for i, c in enumerate(cols) if c in user_refs.get(name, ())]
            sql = f"COPY {_q(schema)}.{_q(name)} ({', '.join(_q(c) for c in cols)}) FROM STDIN"
            with raw.cursor() as cur, cur.copy(sql) as copy, open(work / entry["member"], "rb") as f:
                if not ref_idx or identity:
                    for chunk in iter(lambda: f.read(CHUNK), b""):
                        copy.write(chunk)
                        bar.update(len(chunk))
                else:
                    for line in f:
                        fields = line.rstrip(b"\n").split(b"\t")
                        for i in ref_idx:
                            if fields[i] != b"\\N":
                                new = id_map.get(int(fields[i]))
                                if new is None:
                                    cleared += 1
                                fields[i] = b"\\N" if new is None else str(new).encode()
                        copy.write(b"\t".join(fields) + b"\n")
                        bar.update(len(line))
    finally:
        bar.close()
    for seq, value in manifest["sequences"].items():
        if value is not None:
            conn.execute(text("SELECT setval(:s, :v, true)"), {"s": f"{_q(schema)}.{_q(seq)}", "v": value})
    counts = {}
    for name, entry in archived.items():
        got = conn.execute(text(f"SELECT count(*) FROM {_q(schema)}.{_q(name)}")).scalar()
        if got != entry["rows"]:
            raise ArchiveError(f"{name}: {got} rows restored but the archive holds {entry['rows']}")
        counts[name] = (entry["rows"], got)
    return counts, cleared


# --- dropping a client, guarded by an export ---------------------------------------------------------

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
    problems = []
    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        with conn.begin():
            tables = _tables(conn, schema)
            raw = conn.connection.driver_connection
            archived = manifest["tables"]
            for name in sorted(set(tables) | set(archived)):
                if name not in archived:
                    problems.append(f"table {name} is not in the export")
                    continue
                if name not in tables:
                    problems.append(f"table {name} of the export no longer exists")
                    continue
                info = dict(tables[name], columns=archived[name]["columns"])
                rows, _size, digest = _dump_table(raw, schema, name, info, None)
                if digest != archived[name]["sha256"]:
                    problems.append(f"{name} changed since the export ({archived[name]['rows']} rows then, "
                                    f"{rows} now)")
    finally:
        conn.close()
    current = {rel: path for rel, path in _client_files(Path(upload_root) / schema)}
    listed = {f["path"]: f for f in manifest["files"]}
    for rel in sorted(set(current) - set(listed)):
        problems.append(f"file {rel} was added since the export")
    for rel in sorted(set(listed) - set(current)):
        problems.append(f"file {rel} was removed since the export")
    for rel in sorted(set(current) & set(listed)):
        size, digest = _file_digest(current[rel])
        if digest != listed[rel]["sha256"]:
            problems.append(f"file {rel} changed since the export")
    return problems


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
            files = len(_client_files(folder))
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
