"""The portfolio as SQL on `client_summaries` joined to `clients`: whose clients, which filters, which order,
which page. Nothing here loads every client: the page reads one page of rows, one count and one row of
attention figures, whatever the size of the consultancy.

The URL is the state (`?stage=…&waiting=1&sort=readiness&dir=asc&page=2`): `Listing.from_args` reads it,
ignoring what it does not understand, and `Listing.args` writes it back for links that change one part.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import Select, and_, case, exists, func, literal, null, select, union_all

from workflows.stages import STAGE_KEYS

from ..extensions import db
from ..inputs import parse_id
from ..models import AccountMember, Client, ClientConsultant, ClientMember, ClientSummary, User

PER_PAGE = 50
MAX_QUERY = 100
S = ClientSummary
# Overdue work: late tasks and every other dated item past its date (a review, a record, a check, a response).
OVERDUE_WORK = S.overdue_tasks + S.overdue_items

# Yes/no filters: the URL parameter, what it keeps, and how the page says it.
FLAGS = {
    "waiting": (S.gate_awaiting_approval.is_(True), "Gate waiting for you"),
    "at_risk": ((OVERDUE_WORK > 0) | (S.days_behind_plan > 0), "At risk (overdue work or behind plan)"),
    "red": (S.red_kpis > 0, "Red KPIs"),
    "slipping": (S.days_behind_plan > 0, "Slipping against plan"),
    "stale": (S.stale_kpis > 0, "Stale measurements"),
    "stale_records": (S.stale_items > 0, "Stale records (no update for 60 days)"),
}
STAGE_ORDER = case({key: i for i, key in enumerate(STAGE_KEYS)}, value=S.stage, else_=len(STAGE_KEYS))
# Sortable columns: the URL name, the expression, and the direction a first click sorts in.
SORTS = {
    "name": (func.lower(Client.name), "asc"),
    "stage": (STAGE_ORDER, "asc"),
    "progress": (S.overall_progress, "asc"),
    "readiness": (S.readiness, "asc"),
    "overdue": (OVERDUE_WORK, "desc"),
    "gate": (S.gate_awaiting_approval, "desc"),
    "kpis": (S.red_kpis, "desc"),
    "behind": (S.days_behind_plan, "desc"),
    "target": (S.target_certification_on, "asc"),
    "audit": (S.next_audit_on, "asc"),
    "expiry": (S.certificate_expires_on, "asc"),
    "stale_records": (S.stale_items, "desc"),
    "activity": (S.last_activity_at, "desc"),
}
# Worst first: a gate waiting on the consultant, then overdue work, then least progress, then the name.
WORST_FIRST = (S.gate_awaiting_approval.desc(), OVERDUE_WORK.desc(), S.overall_progress.asc(),
               func.lower(Client.name).asc(), Client.id.asc())
COLUMNS = (Client.id, Client.slug, Client.name, S.stage, S.stage_progress, S.overall_progress, S.readiness,
           S.overdue_tasks, S.overdue_items, S.open_tasks, S.gate_awaiting_approval, S.red_kpis, S.stale_kpis, S.days_behind_plan,
           S.next_audit_on, S.target_certification_on, S.last_activity_at, S.next_audit_kind, S.certificate_expires_on,
           S.stale_items)


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern: % and _ (and the escape itself) lose their meaning."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Listing:
    q: str = ""
    stage: str = ""
    consultant: int | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    sort: str = ""  # "" is worst first
    dir: str = ""
    page: int = 1
    archived: bool = False  # the consultancy's archived clients instead of its active ones

    @classmethod
    def from_args(cls, args) -> Listing:
        sort = args.get("sort", "")
        sort = sort if sort in SORTS else ""
        direction = args.get("dir", "")
        direction = direction if direction in ("asc", "desc") else (SORTS[sort][1] if sort else "")
        stage = args.get("stage", "")
        return cls(q=" ".join(args.get("q", "").split())[:MAX_QUERY], stage=stage if stage in STAGE_KEYS else "",
                   consultant=parse_id(args.get("consultant")),
                   flags=frozenset(f for f in FLAGS if args.get(f) in ("1", "on", "true")),
                   sort=sort, dir=direction if sort else "", page=parse_id(args.get("page"), hi=10**6) or 1,
                   archived=args.get("archived") == "1")

    def args(self, **changes) -> dict:
        """The URL parameters of this listing with `changes`; paging restarts unless `page` is given."""
        lst = replace(self, **{"page": 1, **changes})
        out = {"q": lst.q, "stage": lst.stage, "consultant": lst.consultant, "sort": lst.sort, "dir": lst.dir,
               **{f: "1" for f in sorted(lst.flags)}, "page": lst.page if lst.page > 1 else None,
               "archived": "1" if lst.archived else None}
        return {k: v for k, v in out.items() if v}

    def sorted_by(self, column: str) -> dict:
        """The URL of a click on `column`'s heading: its natural direction first, the other on a second click."""
        if self.sort == column:
            return self.args(dir="desc" if self.dir == "asc" else "asc")
        return self.args(sort=column, dir=SORTS[column][1])

    def with_flag(self, flag: str) -> dict:
        return replace(self, flags=frozenset({flag}), stage="", q="").args(sort="audit", dir="asc")

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.stage or self.flags)


@dataclass(frozen=True)
class Scope:
    """Whose clients: an account's (owner), those assigned to one person, or a client member's own companies."""

    account_id: int | None
    assigned_to: int | None = None
    member_id: int | None = None
    status: str | None = "active"  # None: whatever the status (client staff see their company, archived or not)

    def condition(self):
        conds = [Client.status == self.status] if self.status else []
        if self.account_id is not None:
            conds.append(Client.account_id == self.account_id)
        if self.assigned_to is not None:
            conds.append(exists().where(ClientConsultant.client_id == Client.id,
                                        ClientConsultant.user_id == self.assigned_to))
        if self.member_id is not None:
            conds.append(Client.id.in_(select(ClientMember.client_id).where(ClientMember.user_id == self.member_id)))
        return and_(*conds)


def _filtered(scope: Scope, listing: Listing, stmt: Select) -> Select:
    stmt = stmt.select_from(Client).join(S, S.client_id == Client.id).where(scope.condition())
    if listing.stage:
        stmt = stmt.where(S.stage == listing.stage)
    for flag in sorted(listing.flags):
        stmt = stmt.where(FLAGS[flag][0])
    if listing.q:
        stmt = stmt.where(Client.name.ilike(f"%{escape_like(listing.q)}%", escape="\\"))
    return stmt


def _ordered(listing: Listing, stmt: Select) -> Select:
    if not listing.sort:
        return stmt.order_by(*WORST_FIRST)
    expr = SORTS[listing.sort][0]
    primary = expr.asc().nulls_last() if listing.dir == "asc" else expr.desc().nulls_last()
    return stmt.order_by(primary, func.lower(Client.name).asc(), Client.id.asc())


@dataclass(frozen=True)
class Page:
    rows: list
    total: int
    page: int
    pages: int
    first: int  # 1-based position of the first row shown (0 with none)
    last: int


def page_of(scope: Scope, listing: Listing, per_page: int | None = None) -> Page:
    # The total in a query of its own: a window count in the page's query makes PostgreSQL carry every matching
    # row through the window before its top-N sort, which measured slower at 2,000 clients than two statements.
    per_page = per_page or PER_PAGE  # read at call time: the tests page through a few clients
    total = db.session.scalar(_filtered(scope, listing, select(func.count())))
    pages = max(1, -(-total // per_page))
    page = min(max(listing.page, 1), pages)
    rows = db.session.execute(_ordered(listing, _filtered(scope, listing, select(*COLUMNS)))
                              .limit(per_page).offset((page - 1) * per_page)).all()
    first = (page - 1) * per_page + 1 if rows else 0
    return Page(rows, total, page, pages, first, first + len(rows) - 1 if rows else 0)


def all_rows(scope: Scope, listing: Listing) -> list:
    """Every row of the filtered list in its order (the CSV export)."""
    return db.session.execute(_ordered(listing, _filtered(scope, listing, select(*COLUMNS)))).all()


# --- the attention strip --------------------------------------------------------------------------

ATTENTION = ("waiting", "slipping", "red", "stale")
ATTENTION_SHOWN = 3  # clients named under each figure, soonest external audit first


def attention(scope: Scope) -> tuple[dict[str, tuple[int, list[tuple[str, str]]]], int]:
    """Per attention figure: how many of the scope's clients, and the first few (slug, name) by next audit;
    and how many of the scope's clients are archived (the "Archived (N)" link).

    One statement: the scope's clients joined to their summaries once (a CTE read four times, so PostgreSQL
    materialises it), then per figure its first few rows (a top-N sort of the matching rows only) carrying the
    count of all matching rows (the window is counted before the LIMIT), the four and the archived count glued
    with UNION ALL.
    """
    scoped = (select(Client.id, Client.slug, Client.name, func.lower(Client.name).label("sort_name"),
                     S.next_audit_on, *(FLAGS[f][0].label(f) for f in ATTENTION))
              .select_from(Client).join(S, S.client_id == Client.id).where(scope.condition()).cte("scoped"))
    parts = []
    for flag in ATTENTION:
        order = (scoped.c.next_audit_on.asc().nulls_last(), scoped.c.sort_name, scoped.c.id)
        first = (select(literal(flag).label("flag"), scoped.c.id, scoped.c.slug, scoped.c.name, scoped.c.sort_name,
                        scoped.c.next_audit_on, func.count().over().label("n"))
                 .where(scoped.c[flag]).order_by(*order).limit(ATTENTION_SHOWN).subquery())
        # Numbered after the LIMIT: a window over three rows, not a sort of every matching client.
        pos = func.row_number().over(order_by=(first.c.next_audit_on.asc().nulls_last(), first.c.sort_name,
                                               first.c.id))
        parts.append(select(first.c.flag, first.c.slug, first.c.name, first.c.n, pos.label("pos")))
    archived = replace(scope, status="archived").condition()
    parts.append(select(literal("archived"), null(), null(), func.count(), literal(0)).select_from(Client)
                 .where(archived))
    found = {flag: (0, []) for flag in ATTENTION}
    archived_count = 0
    for flag, slug, name, n, _pos in sorted(db.session.execute(union_all(*parts)), key=lambda r: (r.flag, r.pos)):
        if flag == "archived":
            archived_count = n
        else:
            found[flag] = (n, [*found[flag][1], (slug, name)])
    return found, archived_count


def consultants_of(account_id: int) -> list[tuple[int, str]]:
    """The people of the consultancy whose portfolio the owner can open (everyone who can be assigned)."""
    return [(uid, name) for uid, name in db.session.execute(
        select(User.id, User.name).join(AccountMember, AccountMember.user_id == User.id)
        .where(AccountMember.account_id == account_id).order_by(User.name, User.id))]


def is_member(account_id: int, user_id: int) -> bool:
    return db.session.scalar(select(literal(True)).where(
        exists().where(AccountMember.account_id == account_id, AccountMember.user_id == user_id))) or False


