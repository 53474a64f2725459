"""The container of a schema archive: a gzip-compressed tar whose first member is manifest.json.

The manifest lists every other member with its size and sha256; reading an
archive checks each member against it as it streams past, so damage,
truncation and members added or dropped after the export are refused with a
message naming them. What the manifest's sections mean is up to their owners:
`schema_dump` contributes the tables and sequences, the app the rest (which
members it expects is passed in as a function of the manifest).

The checksums detect damage and truncation; they are not a signature — someone
who rewrites a member and the manifest together is not detected.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath

FORMAT = "isopath-client-archive"
FORMAT_VERSION = 1
COMPRESSLEVEL = 3  # attachments are mostly compressed already; table data shrinks well even at 3
CHUNK = 1 << 20
MANIFEST = "manifest.json"


class ArchiveError(Exception):
    """Something the operator must fix; the message says what, without a traceback."""


class _NoProgress:
    def update(self, n=1):
        pass

    def close(self):
        pass


def bar(progress, desc: str, total: int, unit: str):
    """`progress(desc, total, unit)` returns a tqdm-like object (update, close); None: no bar."""
    return progress(desc, total, unit) if progress else _NoProgress()


def file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def safe_relative(path: str) -> bool:
    """A member path that cannot climb out of the folder it is extracted into."""
    p = PurePosixPath(path)
    return bool(path) and not p.is_absolute() and ".." not in p.parts and "\\" not in path and all(p.parts)


# --- writing ---------------------------------------------------------------------------------------

class Member:
    """One member to stream into the archive: a file on disk or bytes, with the checksum it must have."""

    def __init__(self, name: str, *, path: Path | None = None, data: bytes | None = None, size: int, sha256: str,
                 changed: str | None = None):
        self.name, self.path, self.data, self.size, self.sha256, self.changed = name, path, data, size, sha256, changed


def write_archive(output: Path, manifest: dict, members: list[Member], progress=None) -> tuple[int, str]:
    """Write manifest then members to `output`; the file appears only once complete. Returns size, sha256."""
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    os.close(fd)
    mtime = time.time()
    progress_bar = bar(progress, "archive", sum(m.size for m in members), "B")
    try:
        with tarfile.open(partial, "w:gz", compresslevel=COMPRESSLEVEL, format=tarfile.PAX_FORMAT) as tar:
            _add(tar, Member(MANIFEST, data=manifest_bytes, size=len(manifest_bytes), sha256=""), mtime, None)
            for member in members:
                _add(tar, member, mtime, progress_bar)
        progress_bar.close()
        size, digest = file_digest(Path(partial))
        os.replace(partial, output)  # atomic: a reader never sees half an archive under the real name
    except BaseException:
        progress_bar.close()
        Path(partial).unlink(missing_ok=True)
        raise
    return size, digest


class _HashingReader:
    def __init__(self, f, progress_bar):
        self.f, self.bar, self.digest = f, progress_bar, hashlib.sha256()

    def read(self, n=-1):
        data = self.f.read(n)
        self.digest.update(data)
        if self.bar is not None:
            self.bar.update(len(data))
        return data


def _add(tar, member: Member, mtime, progress_bar) -> None:
    info = tarfile.TarInfo(member.name)
    info.size, info.mtime, info.mode = member.size, mtime, 0o644
    with (open(member.path, "rb") if member.path is not None else io.BytesIO(member.data)) as f:
        reader = _HashingReader(f, progress_bar)
        try:
            tar.addfile(info, reader)
        except OSError as exc:  # tarfile: "unexpected end of data" when a file shrank meanwhile
            raise ArchiveError(member.changed or f"{member.name} changed while it was archived") from exc
    if member.sha256 and reader.digest.hexdigest() != member.sha256:
        raise ArchiveError(member.changed or f"{member.name} changed while it was archived")


# --- reading ---------------------------------------------------------------------------------------

def check_format(manifest, required: tuple[str, ...]) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("this is not an ISOpath client archive (no ISOpath manifest)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"archive format version {manifest.get('format_version')} is not supported "
                           f"(this version reads {FORMAT_VERSION})")
    for key in required:
        if key not in manifest:
            raise ArchiveError(f"the archive's manifest lacks {key!r}; it is damaged")


def read_archive(path, expected_members, workdir=None, progress=None) -> dict:
    """Read and verify every member of an archive; returns its manifest.

    `expected_members(manifest)` checks the manifest and returns member name →
    (size, sha256) for every member besides the manifest. With `workdir`,
    members are written there as they are checked; without, they are only
    checked. Any damage, truncation, tampering or unexpected member raises
    ArchiveError naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist or is not a file")
    progress_bar = bar(progress, "verify", path.stat().st_size, "B")
    manifest, expected, seen = None, None, set()
    try:
        with open(path, "rb") as raw_file:
            with tarfile.open(fileobj=_CountingReader(raw_file, progress_bar), mode="r|gz") as tar:
                for member in tar:
                    if manifest is None:
                        if member.name != MANIFEST or not member.isfile() or member.size > 64 << 20:
                            raise ArchiveError("this is not an ISOpath client archive (it does not start "
                                               "with manifest.json)")
                        try:
                            manifest = json.loads(tar.extractfile(member).read())
                        except ValueError as exc:
                            raise ArchiveError("the archive's manifest is not valid JSON; it is damaged") from exc
                        expected = expected_members(manifest)
                        continue
                    if member.name not in expected or member.name in seen:
                        raise ArchiveError(f"the archive contains an unexpected member {member.name!r}; "
                                           "it was modified after export")
                    if not member.isfile():
                        raise ArchiveError(f"archive member {member.name!r} is not a regular file")
                    _check_member(tar, member, expected[member.name], workdir)
                    seen.add(member.name)
    except ArchiveError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ArchiveError(f"{path.name} is truncated or damaged and cannot be read ({reason})") from exc
    finally:
        progress_bar.close()
    if manifest is None:
        raise ArchiveError(f"{path.name} is empty: not an ISOpath client archive")
    missing = sorted(set(expected) - seen)
    if missing:
        raise ArchiveError(f"{path.name} is incomplete (truncated?): {len(missing)} member(s) missing, "
                           f"e.g. {missing[0]}")
    return manifest


def _check_member(tar, member, size_and_sha, workdir) -> None:
    size, sha = size_and_sha
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


class _CountingReader:
    def __init__(self, f, progress_bar):
        self.f, self.bar = f, progress_bar

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
