"""What an archive carries besides the schema: registry rows, users by email, the client's files."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from tenants import archive_format, schema_dump
from tenants.archive_format import ArchiveError

REQUIRED_SECTIONS = ("tenant_revision", "source", "registry", "tables", "sequences", "files")


@dataclass(frozen=True)
class Registry:
    """The shared tables an archive carries rows of."""

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


def client_files(folder: Path) -> list[tuple[str, Path]]:
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


# --- reading an archive -------------------------------------------------------------------------

def expected_members(manifest) -> dict[str, tuple[int, str]]:
    archive_format.check_format(manifest, REQUIRED_SECTIONS)
    expected = schema_dump.table_members(manifest)
    expected[manifest["registry"]["member"]] = (manifest["registry"]["bytes"], manifest["registry"]["sha256"])
    for entry in manifest["files"]:
        if not archive_format.safe_relative(entry["path"]) or entry["member"] != f"files/{entry['path']}":
            raise ArchiveError(f"the archive names an unsafe file path {entry['path']!r}; refusing it")
        expected[entry["member"]] = (entry["size"], entry["sha256"])
    return expected


def read_archive(path, workdir=None, progress=None) -> dict:
    """Read and verify every member of a client archive; returns its manifest (see tenants.archive_format)."""
    return archive_format.read_archive(path, expected_members, workdir, progress)


# --- JSON for registry rows ------------------------------------------------------------------------

def to_json(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return value


def from_json(value):
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
    return {k: to_json(v) for k, v in row._mapping.items() if k not in skip}


def export_registry(conn, r: Registry, client, schema, tables, user_refs) -> dict:
    """The client's registry rows, with every user it mentions by email (no password hashes)."""
    user_ids = schema_dump.referenced_values(conn, schema, tables, user_refs)
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
        "client": {k: to_json(getattr(client, k)) for k in client_cols if k in client._mapping},
        "summary": _row_dict(summary, skip=("client_id",)) if summary is not None else None,
        "members": [{"email": m.email, "role": m.role} for m in members],
        "consultants": list(consultants),
        "users": [{"id": u.id, "email": u.email, "name": u.name} for u in users],
        # Ids still referenced by the data whose user no longer exists: cleared on import.
        "missing_user_ids": sorted(user_ids - found),
    }


def known_columns(table, row: dict) -> dict:
    """Only the columns this installation's table has (older or newer archives may differ)."""
    return {k: v for k, v in row.items() if k in table.c}


def resolve_account(conn, r: Registry, account: str | None, source: dict) -> int:
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


def map_users(conn, r: Registry, users: list[dict]) -> tuple[dict[int, int], list[str]]:
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
