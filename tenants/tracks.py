"""The two migration tracks: where they live, their revisions, their heads.

`shared` is plain Alembic over the public schema; `tenant` is applied to every
client schema by `migrate`. This module only reads the tracks: loading the
tenant track's revisions once per process, finding heads (from a disk cache
without importing Alembic at all, see `track_head`), and resolving the target
revision of an upgrade or a downgrade.

Core only, and Alembic is imported inside the functions that need it, so that
the schema commands stay light.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
TRACKS = {"shared": MIGRATIONS / "shared", "tenant": MIGRATIONS / "tenant"}


class UnknownRevision(ValueError):
    """A revision this code base does not know (a typo, or data from newer code)."""


def track_location(track: str, location=None) -> str:
    """The absolute path of a track: `location` (a copy of it) if given, else the project's own."""
    return str(Path(location or TRACKS[track]).resolve())


def alembic_config(track: str, url: str | None = None, connection=None, location=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", track_location(track, location))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


# --- the tenant track's revisions, loaded once --------------------------------------------------

_scripts: dict[str, object] = {}  # track location → alembic ScriptDirectory


def tenant_script(location=None):
    """The tenant track's revisions, loaded once per process and script location.

    `location` lets tests and benchmarks run a copy of the track with throwaway
    revisions added, never touching `migrations/tenant/versions/`; after changing
    such a copy, call `forget_tenant_script` so that the next call loads it again.
    """
    key = track_location("tenant", location)
    if key not in _scripts:
        from alembic.script import ScriptDirectory

        _scripts[key] = ScriptDirectory.from_config(alembic_config("tenant", location=key))
    return _scripts[key]


def forget_tenant_script(location=None) -> None:
    """Drop the loaded revisions of a tenant track (no-op if not loaded): its files changed."""
    _scripts.pop(track_location("tenant", location), None)


def tenant_head(location=None) -> str:
    return tenant_script(location).get_current_head()


def resolve_target(script, target: str | None) -> str | None:
    """'head' → the head revision; 'base' or None → None (no tables); else the named revision."""
    from alembic.util import CommandError

    if target in ("head", "heads"):
        return script.get_current_head()
    if target in (None, "base"):
        return None
    try:
        rev = script.get_revision(target)
    except CommandError as exc:
        raise UnknownRevision(f"no tenant revision {target!r} in {script.dir}") from exc
    if rev is None:
        raise UnknownRevision(f"no tenant revision {target!r} in {script.dir}")
    return rev.revision


def is_descendant(script, current: str, dest: str) -> bool:
    """True when `current` is newer than `dest` (so reaching dest is a downgrade)."""
    return any(r.revision == dest for r in script.iterate_revisions(current, "base"))


# --- heads without importing Alembic ----------------------------------------------------------

def track_fingerprint(location) -> str:
    """A digest of a track's revision files: the head is a pure function of them."""
    digest = hashlib.sha256()
    for path in sorted(Path(location, "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def track_head(track: str, location=None, cache_dir=None) -> str | None:
    """The head revision of a track, remembered on disk by the fingerprint of its revision files.

    Importing Alembic and loading every revision file (compiled from source on
    machines with PYTHONDONTWRITEBYTECODE) costs a few hundred milliseconds of a
    command that otherwise has nothing to do. Same files, same head: the cache
    can never be stale, only missing, and any problem with it falls back to Alembic.
    """
    location = track_location(track, location)
    cache = Path(cache_dir, "alembic-heads.json") if cache_dir else None
    fingerprint = None
    if cache is not None:
        fingerprint = track_fingerprint(location)
        try:
            known = json.loads(cache.read_text())
            if fingerprint in known:
                return known[fingerprint]
        except (OSError, ValueError):
            known = {}
    if track == "tenant":
        head = tenant_script(location).get_current_head()
    else:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config(track, location=location)).get_current_head()
    if cache is not None:
        try:
            known = {k: v for k, v in list(known.items())[-15:]}  # a few recent trees, never unbounded
            known[fingerprint] = head
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known))
            os.replace(tmp, cache)  # atomic: concurrent commands never read half a file
        except OSError:
            pass
    return head
