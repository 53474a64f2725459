"""The templates shipped with ISOpath: ``data/<key>/v<N>.toml`` inside this
package.

Everything standard-specific is data, so ISO 14001 or ISO 45001 arrive as
further files, not code. The files are read through importlib.resources, so
they load the same from a source checkout, an editable install or a wheel
(pyproject.toml ships them as package data).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..errors import TemplateError
from .model import Template, is_valid_key
from .parse import read_template

DEFAULT_TEMPLATE = "iso9001-2015"

DATA_FOLDER = "data"
_VERSION_FILE_RE = re.compile(r"^v([1-9][0-9]*)\.toml$")


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    version: int
    name: str
    standard: str


def _data_root():
    return resources.files(__package__).joinpath(DATA_FOLDER)


def _versions_on_disk(key: str) -> list[int]:
    folder = _data_root().joinpath(key)
    if not folder.is_dir():
        return []
    versions = []
    for entry in folder.iterdir():
        m = _VERSION_FILE_RE.match(entry.name)
        if m and entry.is_file():
            versions.append(int(m.group(1)))
    return sorted(versions)


def _template_keys_on_disk() -> list[str]:
    return sorted(e.name for e in _data_root().iterdir() if e.is_dir() and is_valid_key(e.name))


@cache
def _load_file(key: str, version: int) -> Template:
    # Cached: templates are immutable and are read on most workspace requests.
    name = f"{DATA_FOLDER}/{key}/v{version}.toml"
    text = _data_root().joinpath(key, f"v{version}.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{name} is not valid TOML: {exc}") from exc
    template = read_template(data)
    if (template.key, template.version) != (key, version):
        raise TemplateError(
            f"{name} declares {template.key} v{template.version}; "
            "the folder name and file name must match the key and version inside"
        )
    return template


def available_templates() -> list[TemplateInfo]:
    """Every shipped template version, sorted by key then version."""
    infos = []
    for key in _template_keys_on_disk():
        for version in _versions_on_disk(key):
            t = _load_file(key, version)
            infos.append(TemplateInfo(t.key, t.version, t.name, t.standard))
    return infos


def load_template(key: str = DEFAULT_TEMPLATE, version: int | None = None) -> Template:
    """A shipped template; the latest version when `version` is None."""
    if not is_valid_key(key):
        # Also keeps a key taken from a URL from walking the file system.
        raise TemplateError(f"Invalid template key {key!r}")
    versions = _versions_on_disk(key)
    if not versions:
        known = ", ".join(_template_keys_on_disk()) or "none"
        raise TemplateError(f"No template {key!r}; available: {known}")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise TemplateError(f"Template {key!r} has no version {version!r}; available: {', '.join(map(str, versions))}")
    return _load_file(key, version)
