"""A consultancy's own templates: storing and finding their versions.

The editing rules are in `workflows.template` (every edit returns the next
version); this module only reads and writes `account_templates` rows. A row is
never changed after it is written, so a client pinned to (key, version) can
always be traced back to the exact template it started with.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

import workflows as wf

from ..extensions import db
from ..models import AccountTemplate, Client
from ..refusal import Refusal

STANDARD, OWN = "standard", "own"
# Words the /templates/ URLs use for themselves: a copy may not take them as its key.
RESERVED_KEYS = {"copy"}


@dataclass(frozen=True)
class Choice:
    """A template a client can be started on: a shipped standard template or one of the account's copies."""

    ref: str  # "standard:<key>" or "own:<key>", as sent by forms
    template: wf.Template
    own: bool

    @property
    def label(self) -> str:
        whose = "your copy" if self.own else "standard"
        return f"{self.template.name} ({whose}, v{self.template.version})"


def ref_for(template_key: str, own: bool) -> str:
    return f"{OWN if own else STANDARD}:{template_key}"


# --- reading ---------------------------------------------------------------------------------

def standard_templates() -> list[wf.Template]:
    """The latest version of each shipped template."""
    keys = dict.fromkeys(info.key for info in wf.available_templates())
    return [wf.load_template(key) for key in keys]


def latest_row(account_id: int, key: str, with_data: bool = True) -> AccountTemplate | None:
    q = (select(AccountTemplate).where(AccountTemplate.account_id == account_id, AccountTemplate.key == key)
         .order_by(AccountTemplate.version.desc()).limit(1))
    if not with_data:
        q = q.options(defer(AccountTemplate.data))
    return db.session.scalar(q)


def as_template(row: AccountTemplate) -> wf.Template:
    return wf.read_template(row.data)


def load(account_id: int, key: str) -> tuple[AccountTemplate, wf.Template] | None:
    """The latest version of one of the account's copies, or None if the account has no such copy."""
    row = latest_row(account_id, key)
    return (row, as_template(row)) if row else None


def copies(account_id: int) -> list[tuple[AccountTemplate, int]]:
    """The latest version of each of the account's copies with its number of versions, newest edit first."""
    counts = (select(AccountTemplate.key, func.max(AccountTemplate.version).label("latest"),
                     func.count().label("versions"))
              .where(AccountTemplate.account_id == account_id).group_by(AccountTemplate.key).subquery())
    rows = db.session.execute(
        select(AccountTemplate, counts.c.versions)
        .join(counts, (AccountTemplate.key == counts.c.key) & (AccountTemplate.version == counts.c.latest))
        .where(AccountTemplate.account_id == account_id)
        .options(defer(AccountTemplate.data))
        .order_by(AccountTemplate.created_at.desc(), AccountTemplate.key)
    ).all()
    return [(row, versions) for row, versions in rows]


def history(account_id: int, key: str, limit: int = 6) -> list[tuple[AccountTemplate, list[wf.Change]]]:
    """The newest `limit` versions, each with what changed from the version before it."""
    rows = db.session.scalars(
        select(AccountTemplate).where(AccountTemplate.account_id == account_id, AccountTemplate.key == key)
        .order_by(AccountTemplate.version.desc()).limit(limit + 1)
    ).all()
    out = []
    for row, previous in zip(rows, rows[1:] + [None]):
        if len(out) == limit:
            break
        out.append((row, wf.describe_changes(as_template(previous), as_template(row)) if previous else []))
    return out


def version_count(account_id: int, key: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AccountTemplate)
                             .where(AccountTemplate.account_id == account_id, AccountTemplate.key == key))


def clients_by_version(account_id: int, key: str) -> dict[int, int]:
    """How many active clients run on each version of this copy."""
    rows = db.session.execute(
        select(Client.template_version, func.count())
        .where(Client.account_id == account_id, Client.template_key == key, Client.status == "active")
        .group_by(Client.template_version)
    ).all()
    return {version: n for version, n in rows}


def task_keys_ever_used(account_id: int, key: str) -> set[str]:
    """Task keys in any version of the copy: a new task never reuses the key of a removed one,
    which a running client may still have."""
    return set(db.session.scalars(
        text("SELECT DISTINCT jsonb_path_query(data, '$.stages[*].tasks[*].key') #>> '{}' "
             "FROM account_templates WHERE account_id = :account AND key = :key"),
        {"account": account_id, "key": key},
    ))


def choices(account_id: int) -> list[Choice]:
    """What a new client can start on: the standard templates, then the account's copies (latest versions)."""
    out = [Choice(ref_for(t.key, False), t, False) for t in standard_templates()]
    for row, _ in sorted(copies(account_id), key=lambda pair: pair[0].name.lower()):
        full = latest_row(account_id, row.key)
        out.append(Choice(ref_for(row.key, True), as_template(full), True))
    return out


def resolve(account_id: int, ref: str) -> wf.Template | None:
    """The template a form's reference names, if this account may use it."""
    kind, _, key = (ref or "").partition(":")
    if kind == STANDARD:
        try:
            return wf.load_template(key)
        except wf.TemplateError:
            return None
    if kind == OWN:
        found = load(account_id, key)
        return found[1] if found else None
    return None


# --- writing ---------------------------------------------------------------------------------

def make_copy(account_id: int, source: wf.Template, name: str, user) -> AccountTemplate:
    """Version 1 of a new copy of `source` under a key derived from its name."""
    name = (name or "").strip()
    if not name:
        raise Refusal("Give your copy a name.", field="name")
    if len(name) > 200:
        raise Refusal("Keep the name under 200 characters.", field="name")
    existing = {row.name.lower(): row for row, _ in copies(account_id)}
    if name.lower() in existing:
        raise Refusal(f"You already have a template called “{name}”. Choose another name.", field="name")
    taken = {row.key for row, _ in copies(account_id)} | {t.key for t in standard_templates()} | RESERVED_KEYS
    key = wf.derive_key(name, taken, sep="-")
    try:
        copy = wf.copy_template(source, key, name)
    except wf.TemplateError as err:
        raise Refusal(str(err), field="name") from err
    return save_version(account_id, copy, user)


def save_version(account_id: int, template: wf.Template, user) -> AccountTemplate:
    """Store a new version (the caller commits); a version saved at the same moment by someone else is a 409."""
    based_on = template.based_on or (None, None)
    row = AccountTemplate(account_id=account_id, key=template.key, version=template.version, name=template.name,
                          based_on_key=based_on[0], based_on_version=based_on[1], data=template.to_dict(),
                          created_by_id=user.id if user is not None else None)
    try:
        with db.session.begin_nested():  # a savepoint: a clash leaves the caller's transaction usable
            db.session.add(row)
    except IntegrityError:
        raise Refusal("Someone else saved a new version of this template at the same moment. "
                           "Reload the page and make your change again.", status=409) from None
    return row
