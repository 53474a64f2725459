"""The consultant's portfolio: worst first (a gate awaiting approval, then the most overdue work, then the least
progress, then the name), and every figure of every row as the plan says, also after a change."""
from __future__ import annotations

import csv
import io
import re
from collections import namedtuple
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import workflows as wf
from app import clock
from app.models import ClientSummary, Document, GateReview, Task
from app.portfolio import listing
from app.workspace import operations as ops
from conftest import unique
from portfolio_helpers import (add_kpi, await_approval, finish, inside, make_late, measure, names, required_ids,
                               set_next_audit, slip, summary_line, table_rows)
from workflows.stages import stage_label
from gate_evidence_helpers import meet_gate_evidence

Plain = namedtuple("Plain", "stage required status due_on")  # a task's figures, outside the client's scope
_required = required_ids

# --- what the plan says a row shows -----------------------------------------------------------------

def readiness(tasks: list, documents: list) -> int:
    """The readiness score as documented (workflows/readiness.py), for a client with nothing passed and no
    major finding: 1 point per required task finished and per required document approved, over those plus
    3 points for each of the five gates and the certification decision."""
    required_docs = [d for d in documents if d.required]
    earned = sum(1 for t in tasks if t.required and t.status in wf.FINISHED_TASK_STATUSES) + \
        sum(1 for d in required_docs if d.status == "approved")
    return round(100 * earned / (sum(1 for t in tasks if t.required) + len(required_docs) + 6 * 3))


def expected_row(db, client, red_kpis=0, behind=0) -> tuple:
    today = clock.today()
    with inside(db, client):
        stage = ops.current_stage_key()
        tasks = [Plain(t.stage, t.required, t.status, t.due_on) for t in db.session.scalars(select(Task))]
        documents = [Plain(d.stage, d.required, d.status, None) for d in db.session.scalars(select(Document))]
        pending = db.session.scalar(select(func.count()).select_from(GateReview).where(
            GateReview.stage == stage, GateReview.status == "requested"))
        target = ops.settings().target_on
    required = [t for t in tasks if t.required]
    done = [t for t in required if t.status in wf.FINISHED_TASK_STATUSES]
    overdue = sum(1 for t in tasks if t.status in wf.OPEN_TASK_STATUSES and t.due_on < today)
    return (client.name, stage_label(stage), f"{round(100 * len(done) / len(required))}%",
            str(readiness(tasks, documents)), str(overdue),
            "Awaiting approval" if pending else "—", str(red_kpis), f"{behind} d" if behind else "on plan",
            target.strftime("%d %b %Y"))


def portfolio_rows(http, url="/") -> list[tuple]:
    """(name, stage, progress, readiness, overdue, gate, red KPIs, behind plan, target, last activity) per row."""
    resp = http.get(url)
    assert resp.status_code == 200
    rows = table_rows(resp.get_data(as_text=True))
    assert rows, "no client list on the portfolio"
    return rows


def test_worst_first_with_every_figure_from_the_plan_and_after_a_change(http, factory, db):
    owner = factory.user("Olivia Owner")
    account = factory.account(owner)
    consultant = factory.consultant(account)
    prefix = unique("Portfolio")
    clients = {n: factory.client(account, [consultant], name=f"{prefix} {n}")
               for n in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf")}
    staff = factory.member(clients["Echo"], "staff")
    finish(db, clients["Alpha"], 2)  # the most progress
    make_late(db, clients["Bravo"], 1)
    make_late(db, clients["Charlie"], 2)  # the most overdue work
    await_approval(db, clients["Delta"])  # waiting for the consultant: first, whatever else
    # Echo, Foxtrot, Golf: alike (nothing done, nothing late), so by name.
    order = ["Delta", "Charlie", "Bravo", "Echo", "Foxtrot", "Golf", "Alpha"]

    http.login(consultant.email)
    rows = portfolio_rows(http)
    assert [r[0] for r in rows] == [clients[n].name for n in order]
    assert [r[:9] for r in rows] == [expected_row(db, clients[n]) for n in order]
    # The figures are real, not zeros everywhere: spot-check them against the plan in plain numbers.
    required = len(_required(db, clients["Alpha"]))
    first_stage = len(_required(db, clients["Alpha"], "initial_audit"))
    by_name = {r[0]: r for r in rows}
    assert by_name[clients["Alpha"].name][2] == f"{round(200 / required)}%"
    assert by_name[clients["Delta"].name][2] == f"{round(100 * first_stage / required)}%"
    assert (by_name[clients["Charlie"].name][4], by_name[clients["Bravo"].name][4]) == ("2", "1")
    assert by_name[clients["Golf"].name][2:8] == ("0%", "0", "0", "—", "0", "on plan")
    http.logout()

    # Echo's staff finish a task: Echo's row follows at once, and it moves behind the clients with none done.
    http.login(staff.email)
    echo = clients["Echo"]
    task_id = _required(db, echo, "initial_audit")[0]
    url = f"/c/{echo.slug}/tasks/{task_id}"
    assert http.submit(f"{url}/status", {"status": "done"}, form_url=url).status_code == 302
    http.logout()
    http.login(consultant.email)
    rows = portfolio_rows(http)
    order = ["Delta", "Charlie", "Bravo", "Foxtrot", "Golf", "Echo", "Alpha"]
    assert [r[0] for r in rows] == [clients[n].name for n in order]
    assert [r[:9] for r in rows] == [expected_row(db, clients[n]) for n in order]
    echo_row = next(r for r in rows if r[0] == echo.name)
    assert echo_row[2] == f"{round(100 / required)}%" and echo_row[2] != "0%"
    assert re.fullmatch(r"just now|[1-5] minutes? ago", echo_row[-1]), echo_row[-1]  # the last column


def _reviews_late(db, client, n, days=3):
    """`n` documents `days` past their periodic review (a dated item that is not a task)."""
    with inside(db, client):
        docs = db.session.scalars(select(Document).where(Document.kind == "document").order_by(Document.id)
                                  .limit(n)).all()
        for doc in docs:
            doc.review_due_on = clock.today() - timedelta(days=days)
        ops.save(client)
        return [d.id for d in docs]


def test_dated_items_past_their_date_are_overdue_work_beside_late_tasks(http, factory, db):
    owner = factory.user("Olivia Owner")
    account = factory.account(owner)
    consultant = factory.consultant(account)
    prefix = unique("Dated")
    clients = {n: factory.client(account, [consultant], name=f"{prefix} {n}") for n in ("Alpha", "Bravo", "Charlie")}
    make_late(db, clients["Bravo"], 1)  # one task due yesterday
    late = _reviews_late(db, clients["Charlie"], 2)  # no late task, two reviews three days late
    _reviews_late(db, clients["Alpha"], 1, days=0)  # due today: not late yet
    summaries = {n: db.session.get(ClientSummary, c.id) for n, c in clients.items()}
    for summary in summaries.values():
        db.session.refresh(summary)
    assert {n: (s.overdue_tasks, s.overdue_items) for n, s in summaries.items()} == \
        {"Alpha": (0, 0), "Bravo": (1, 0), "Charlie": (0, 2)}

    http.login(consultant.email)
    rows = {r[0]: r for r in portfolio_rows(http)}
    assert [r[0] for r in portfolio_rows(http)] == [clients[n].name for n in ("Charlie", "Bravo", "Alpha")]
    assert rows[clients["Charlie"].name][4] == "2 0 tasks + 2 other"
    assert (rows[clients["Bravo"].name][4], rows[clients["Alpha"].name][4]) == ("1", "0")
    assert names(http, "/?at_risk=1") == [clients[n].name for n in ("Charlie", "Bravo")]
    assert names(http, "/?sort=overdue&dir=asc") == [clients[n].name for n in ("Alpha", "Bravo", "Charlie")]
    export = list(csv.reader(io.StringIO(http.get("/portfolio.csv").get_data(as_text=True))))
    column = export[0].index("Other overdue items")
    assert {r[0]: (r[column - 1], r[column]) for r in export[1:]} == \
        {clients["Alpha"].name: ("0", "0"), clients["Bravo"].name: ("1", "0"), clients["Charlie"].name: ("0", "2")}

    # Both reviewed (next due in a year): Charlie has nothing late any more, in the commit that did it.
    with inside(db, clients["Charlie"]):
        for doc_id in late:
            db.session.get(Document, doc_id).review_due_on = clock.today() + timedelta(days=365)
        ops.save(clients["Charlie"])
    assert names(http, "/?at_risk=1") == [clients["Bravo"].name]


# --- sorting, filters, search, paging, the owner's switch, the strip and the export, on one portfolio ----------

def _client(db, account, name, consultants):
    from app.clients import create_client
    from app.models import Account

    return create_client(db.session.get(Account, account.id), name, unique("pf").lower(), consultants=consultants)


@pytest.fixture
def world(factory, db):
    """Six clients of one consultancy in six states; consultant one has A, B, C, F; consultant two D, E, F."""
    owner = factory.user("Olivia Owner")
    account = factory.account(owner)
    one, two = factory.consultant(account), factory.consultant(account)
    tag = unique("w")
    c = {
        "A": _client(db, account, f"Acme 100% Ltd {tag}", [one]),
        "B": _client(db, account, f"Bravo_Works {tag}", [one]),
        "C": _client(db, account, f"Charlie Care {tag}", [one]),
        "D": _client(db, account, f"Delta Dental {tag}", [two]),
        "E": _client(db, account, f"=Echo(1+1) {tag}", [two]),  # a name a spreadsheet would run as a formula
        "F": _client(db, account, f"Foxtrot {tag}", [one, two]),
    }
    finish(db, c["A"], 3)
    make_late(db, c["B"], 2)
    slip(db, c["B"], 10)
    await_approval(db, c["C"])
    measure(db, c["D"], add_kpi(db, c["D"], "csat"), 70)  # under the red threshold (75 %): off track
    add_kpi(db, c["E"], "csat", first_periods_back=3)  # two periods over and nothing entered: missing
    slip(db, c["E"], 3)
    set_next_audit(db, c["E"], clock.today() + timedelta(days=10))
    set_next_audit(db, c["D"], clock.today() + timedelta(days=20))
    return {"owner": owner, "account": account, "one": one, "two": two, "clients": c}


def _names(world, *keys):
    return [world["clients"][k].name for k in keys]


def test_default_order_and_every_figure_of_every_row(http, db, world):
    c = world["clients"]
    http.login(world["owner"].email)
    rows = portfolio_rows(http)
    order = ["C", "B", "E", "D", "F", "A"]
    assert [r[0] for r in rows] == _names(world, *order)
    extra = {"B": (0, 10), "D": (1, 0), "E": (1, 3)}
    assert [r[:9] for r in rows] == [expected_row(db, c[k], *extra.get(k, (0, 0))) for k in order]
    by_name = {r[0]: r for r in rows}
    assert by_name[c["B"].name][4:8] == ("2", "—", "0", "10 d")
    assert by_name[c["E"].name][6:8] == ("1", "3 d")
    assert by_name[c["D"].name][6:8] == ("1", "on plan")
    assert summary_line(http.get("/").get_data(as_text=True)) == "6 clients"


SORTS = [
    ("sort=readiness&dir=asc", ["E", "B", "D", "F", "A", "C"]),
    ("sort=readiness&dir=desc", ["C", "A", "E", "B", "D", "F"]),
    ("sort=name", ["E", "A", "B", "C", "D", "F"]),
    ("sort=name&dir=desc", ["F", "D", "C", "B", "A", "E"]),
    ("sort=behind", ["B", "E", "A", "C", "D", "F"]),
    ("sort=kpis", ["E", "D", "A", "B", "C", "F"]),
    ("sort=overdue&dir=desc", ["B", "E", "A", "C", "D", "F"]),
    ("sort=gate", ["C", "E", "A", "B", "D", "F"]),
    ("sort=audit&dir=asc", ["E", "D", "A", "B", "C", "F"]),  # no audit date: last, by name
    ("sort=nonsense&dir=sideways", ["C", "B", "E", "D", "F", "A"]),  # not understood: worst first
]


def test_sorting_by_every_column_ties_by_name(http, world):
    http.login(world["owner"].email)
    for query, expected in SORTS:
        assert names(http, f"/?{query}") == _names(world, *expected), query


FILTERS = [
    ("stage=initial_audit", ["C", "B", "E", "D", "F", "A"]),
    ("stage=system_design", []),
    ("stage=bogus", ["C", "B", "E", "D", "F", "A"]),
    ("waiting=1", ["C"]),
    ("at_risk=1", ["B", "E"]),
    ("red=1", ["E", "D"]),
    ("slipping=1", ["B", "E"]),
    ("stale=1", ["E"]),
    ("red=1&slipping=1", ["E"]),
    ("q=100%25", ["A"]),  # a literal %, not "anything"
    ("q=%25", ["A"]),
    ("q=_", ["B"]),  # a literal _, not "any one character"
    ("q=o_w", ["B"]),
    ("q=ACME", ["A"]),
    ("q=dental&red=1", ["D"]),
    ("q=zzz-nobody", []),
]


def test_every_filter_and_the_search_with_like_wildcards(http, world):
    http.login(world["owner"].email)
    for query, expected in FILTERS:
        body = http.get(f"/?{query}").get_data(as_text=True)
        assert [r[0] for r in table_rows(body)] == _names(world, *expected), query
        if not expected:
            assert 'id="no-match"' in body
        elif query != "stage=bogus":  # an unknown stage filters nothing
            assert summary_line(body) == f"{len(expected)} client{'s' if len(expected) > 1 else ''} matching", query


def test_a_client_that_moves_on_leaves_the_stage_filter(http, db, world):
    c = world["clients"]["C"]
    with inside(db, c):
        meet_gate_evidence("initial_audit")
        ops.approve_gate("initial_audit", "Good", ops.Actor(world["owner"].id, "Olivia Owner"))
        ops.save(c)
    http.login(world["owner"].email)
    assert names(http, "/?stage=system_design") == [c.name]
    assert c.name not in names(http, "/?stage=initial_audit")
    assert names(http, "/?waiting=1") == []


def test_paging_with_totals(http, world, monkeypatch):
    monkeypatch.setattr(listing, "PER_PAGE", 4)
    http.login(world["owner"].email)
    first = http.get("/").get_data(as_text=True)
    assert [r[0] for r in table_rows(first)] == _names(world, "C", "B", "E", "D")
    assert summary_line(first) == "1–4 of 6 clients"
    assert 'rel="next" href="/?page=2"' in first and 'rel="prev"' not in first
    second = http.get("/?page=2").get_data(as_text=True)
    assert [r[0] for r in table_rows(second)] == _names(world, "F", "A")
    assert summary_line(second) == "5–6 of 6 clients"
    assert 'rel="prev" href="/"' in second and 'rel="next"' not in second
    assert names(http, "/?page=99") == _names(world, "F", "A")  # past the end: the last page
    assert names(http, "/?page=abc") == _names(world, "C", "B", "E", "D")
    sorted_page = http.get("/?sort=name&page=2").get_data(as_text=True)
    assert [r[0] for r in table_rows(sorted_page)] == _names(world, "D", "F")
    assert summary_line(sorted_page).startswith("5–6 of 6 clients · sorted by name (ascending)")


def test_owner_switches_between_consultants_portfolios(http, factory, world):
    one, two = world["one"], world["two"]
    http.login(world["owner"].email)
    assert names(http, f"/?consultant={two.id}") == _names(world, "E", "D", "F")
    assert names(http, f"/?consultant={one.id}") == _names(world, "C", "B", "F", "A")
    assert names(http, f"/?consultant={one.id}&red=1") == []
    page = http.get("/").get_data(as_text=True)
    assert f'<option value="{two.id}" >' in page or f'<option value="{two.id}">' in page
    outsider = factory.consultant(factory.account())
    assert http.get(f"/?consultant={outsider.id}").status_code == 404  # not of this consultancy
    assert http.get(f"/portfolio.csv?consultant={outsider.id}").status_code == 404
    http.logout()

    # A consultant's portfolio is their own: another's is a 404, their own id changes nothing.
    http.login(one.email)
    assert names(http, "/") == _names(world, "C", "B", "F", "A")
    assert names(http, f"/?consultant={one.id}") == _names(world, "C", "B", "F", "A")
    assert http.get(f"/?consultant={two.id}").status_code == 404
    assert 'id="consultant"' not in http.get("/").get_data(as_text=True)
    http.logout()
    http.login(outsider.email)  # another consultancy's consultant: none of these clients, anywhere
    assert names(http, "/") == []
    assert http.get("/portfolio.csv").get_data(as_text=True).splitlines()[1:] == []
    assert all(client.name not in http.get(u).get_data(as_text=True) for client in world["clients"].values()
               for u in ("/", "/?q=a", "/portfolio.csv", "/kpis", "/kpis/csat"))
    assert http.get(f"/?consultant={one.id}").status_code == 404


def _strip(body):
    found = {}
    for key, count, rest in re.findall(r'data-attention="(\w+)">\s*<a class="attention-count" href="[^"]*"><strong>'
                                        r'([\d,]+)</strong>(.*?)</div>\s*(?=<div class="attention-item|</section>)',
                                        body, re.S):
        found[key] = (int(count), re.findall(r'<li><a href="[^"]*">([^<]*)</a></li>', rest))
    return found


def test_attention_strip_counts_ranked_by_next_audit(http, world):
    from html import unescape

    http.login(world["owner"].email)
    body = http.get("/").get_data(as_text=True)
    strip = {k: (n, [unescape(x) for x in named]) for k, (n, named) in _strip(body).items()}
    assert strip == {
        "waiting": (1, _names(world, "C")),
        "slipping": (2, _names(world, "E", "B")),  # E's audit is booked, B's is not
        "red": (2, _names(world, "E", "D")),  # E's audit in 10 days, D's in 20
        "stale": (1, _names(world, "E")),
    }
    assert 'href="/?dir=asc&amp;sort=audit&amp;waiting=1"' in body or 'href="/?sort=audit&amp;dir=asc&amp;waiting=1"' in body
    assert names(http, "/?red=1&sort=audit&dir=asc") == _names(world, "E", "D")
    http.logout()
    http.login(world["one"].email)  # the consultant's strip counts their clients only
    strip = _strip(http.get("/").get_data(as_text=True))
    assert {k: n for k, (n, _) in strip.items()} == {"waiting": 1, "slipping": 1, "red": 0, "stale": 0}


def test_csv_export_of_the_filtered_list_exact_and_formula_safe(http, db, world):
    c = world["clients"]
    http.login(world["owner"].email)
    assert 'id="portfolio-export" href="/portfolio.csv?red=1"' in http.get("/?red=1").get_data(as_text=True)
    resp = http.get("/portfolio.csv?red=1")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="portfolio-{clock.today().isoformat()}.csv"'
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["Client", "Address", "Stage", "Stage progress %", "Progress %", "Readiness", "Overdue tasks",
                       "Other overdue items", "Open tasks", "Gate awaiting approval", "Red KPIs", "Stale KPIs", "Days behind plan",
                       "Target certification", "Next external audit", "Last activity", "Certificate expires",
                       "Stale records"]
    summaries = {k: db.session.get(ClientSummary, c[k].id) for k in ("D", "E")}
    for k in ("D", "E"):
        db.session.refresh(summaries[k])
    e, d = summaries["E"], summaries["D"]
    assert rows[1] == ["'" + c["E"].name, f"/c/{c['E'].slug}", "Initial audit (gap analysis)", "0", "0", "0", "0", "0",
                       str(e.open_tasks), "no", "1", "1", "3", e.target_certification_on.isoformat(),
                       (clock.today() + timedelta(days=10)).isoformat(), e.last_activity_at.isoformat(timespec="seconds"), "", "0"]
    assert rows[2] == [c["D"].name, f"/c/{c['D'].slug}", "Initial audit (gap analysis)", "0", "0", "0", "0", "0",
                       str(d.open_tasks), "no", "1", "0", "0", d.target_certification_on.isoformat(),
                       (clock.today() + timedelta(days=20)).isoformat(), d.last_activity_at.isoformat(timespec="seconds"), "", "0"]
    assert len(rows) == 3
    everyone = list(csv.reader(io.StringIO(http.get("/portfolio.csv").get_data(as_text=True))))
    assert [r[0].lstrip("'") for r in everyone[1:]] == _names(world, "C", "B", "E", "D", "F", "A")
    assert all(not r[0].startswith(("=", "+", "-", "@")) for r in everyone)
    assert [r[0] for r in list(csv.reader(io.StringIO(http.get("/portfolio.csv?q=_").get_data(as_text=True))))[1:]] \
        == _names(world, "B")


def test_the_list_is_an_htmx_partial_and_the_form_is_rebuilt_from_the_url(http, world):
    http.login(world["owner"].email)
    partial = http.get("/?red=1&q=echo", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="portfolio-results">') and "<html" not in partial
    assert [r[0] for r in table_rows(partial)] == _names(world, "E")
    full = http.get("/?red=1&q=echo&stage=initial_audit&sort=name&dir=desc").get_data(as_text=True)
    assert 'name="red" value="1" checked' in full and 'name="slipping" value="1" >' in full
    assert 'value="echo"' in full and '<option value="initial_audit" selected>' in full
    assert '<input type="hidden" name="sort" value="name"><input type="hidden" name="dir" value="desc">' in full
    assert 'hx-get="/" hx-target="#portfolio-results"' in full and 'hx-push-url="true"' in full


def test_odd_parameters_are_ignored_not_errors(http, world):
    http.login(world["owner"].email)
    for query in ("q=" + "x" * 5000, "page=-1", "page=999999999999", "consultant=abc", "sort=", "red=maybe",
                  "q=%27%3B--", "stage=%00"[:-3]):
        assert http.get(f"/?{query}").status_code == 200, query


def test_client_staff_see_their_company_and_no_consultancy_pages(http, factory, world):
    staff = factory.member(world["clients"]["A"], "staff")
    http.login(staff.email)
    resp = http.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/c/{world['clients']['A'].slug}/")
    csv_rows = list(csv.reader(io.StringIO(http.get("/portfolio.csv").get_data(as_text=True))))
    assert [r[0] for r in csv_rows[1:]] == _names(world, "A")
