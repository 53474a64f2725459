"""One KPI across the consultancy's clients: the shared latest-KPI summary is written in the same transaction
as each measurement (and rebuilt by the nightly repair), the cross-client page shows the consultancy's clients
only, on one scale, with each client's percentile, and the client's own KPI page shows the same percentile."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import delete, select

from app import clock
from app.jobs.summaries import refresh_all_summaries
from app.models import ClientKpiLatest, Kpi
from app.workspace import operations as ops
from conftest import unique
from portfolio_helpers import SETUP, add_kpi, inside, measure
from workflows import kpi as wk


def latest(db, client, key="csat"):
    db.session.expire_all()
    row = db.session.get(ClientKpiLatest, (client.id, key))
    return None if row is None else (row.period, row.value, row.status, row.recent_periods, row.recent_values)


def current(frequency="monthly"):
    return wk.period_containing(clock.today(), frequency)


@pytest.fixture
def three(factory):
    """A consultancy with three clients measuring CSAT (A, B assigned to the consultant; C not), and another
    consultancy whose client measures it too."""
    owner = factory.user("Olivia Owner")
    account = factory.account(owner)
    consultant = factory.consultant(account)
    tag = unique("x")
    clients = {k: factory.client(account, [consultant] if k != "C" else [], name=f"{k} {tag}") for k in "ABC"}
    other_account = factory.account()
    stranger = factory.consultant(other_account)
    foreign = factory.client(other_account, [stranger], name=f"Foreign {tag}")
    return {"owner": owner, "account": account, "consultant": consultant, "clients": clients,
            "stranger": stranger, "foreign": foreign}


def test_latest_summary_after_a_measurement_and_a_correction(http, factory, db):
    account = factory.account()
    client = factory.client(account)
    staff = factory.member(client, "staff")
    kpi_id = add_kpi(db, client, "csat", first_periods_back=1)
    now, before = current(), current().previous()
    assert latest(db, client) == (None, None, None, [before.key, now.key], [None, None])

    http.login(staff.email)
    url = f"/c/{client.slug}/kpis/{kpi_id}"
    assert http.submit(f"{url}/measurements", {"period": before.key, "value": "70"}, form_url=url).status_code == 303
    assert latest(db, client) == (before.key, 70.0, wk.OFF_TRACK, [before.key, now.key], [70.0, None])
    assert http.submit(f"{url}/measurements", {"period": before.key, "value": "92,5"}, form_url=url).status_code == 303
    assert latest(db, client) == (before.key, 92.5, wk.ON_TRACK, [before.key, now.key], [92.5, None])
    assert http.submit(f"{url}/measurements", {"period": now.key, "value": "80"}, form_url=url).status_code == 303
    assert latest(db, client) == (now.key, 80.0, wk.AT_RISK, [before.key, now.key], [92.5, 80.0])
    row = db.session.get(ClientKpiLatest, (client.id, "csat"))
    assert (row.recent_low, row.recent_high) == (80.0, 92.5)  # the range kept with the values, gaps ignored
    assert (row.name, row.unit, row.direction) == ("Customer satisfaction (CSAT)", "%", "higher") or row.unit == "%"
    # Refused input changes nothing.
    assert http.submit(f"{url}/measurements", {"period": now.key, "value": "150"}, form_url=url).status_code == 422
    assert latest(db, client) == (now.key, 80.0, wk.AT_RISK, [before.key, now.key], [92.5, 80.0])


def test_a_rolled_back_measurement_leaves_the_summary_unchanged(factory, db):
    client = factory.client(factory.account())
    kpi_id = add_kpi(db, client, "csat")
    measure(db, client, kpi_id, 88)
    kept = latest(db, client)
    with inside(db, client):
        ops.record_measurement(db.session.get(Kpi, kpi_id), current().key, "60", "", SETUP)
        ops.refresh_summary(client)
        db.session.flush()
        assert db.session.get(ClientKpiLatest, (client.id, "csat")).value == 60.0  # written in the transaction …
        db.session.rollback()  # … and gone with it
    assert latest(db, client) == kept == (current().key, 88.0, wk.ON_TRACK, [current().key], [88.0])


def test_own_kpis_stay_out_and_a_removed_row_comes_back_with_the_nightly_repair(factory, db):
    client = factory.client(factory.account())
    measure(db, client, add_kpi(db, client, "csat"), 91)
    with inside(db, client):
        ops.define_kpi(ops.KpiForm(name="Invoices on time", numerator="x", unit="%", target="90", amber="80",
                                   red="70"), set(), SETUP)
        ops.save(client)
    assert db.session.scalars(select(ClientKpiLatest.library_key)
                              .where(ClientKpiLatest.client_id == client.id)).all() == ["csat"]
    db.session.execute(delete(ClientKpiLatest).where(ClientKpiLatest.client_id == client.id))
    db.session.commit()
    assert latest(db, client) is None
    refresh_all_summaries()
    assert latest(db, client) == (current().key, 91.0, wk.ON_TRACK, [current().key], [91.0])


def _cards(body):
    """(client slug, value text, percentile text) per small multiple, in page order."""
    found = []
    for slug, card in re.findall(r'<article class="multiple[^"]*" data-client="([^"]+)">(.*?)</article>', body, re.S):
        value = re.search(r'<span class="value"[^>]*><strong>([^<]*)</strong>', card).group(1)
        pct = " ".join(unescape(re.search(r'<span class="percentile">(.*?)</span>', card, re.S).group(1)).split())
        found.append((slug, value, pct))
    return found


def _measure_three(db, three):
    c = three["clients"]
    for key, value in (("A", 95), ("B", 80), ("C", 70)):
        measure(db, c[key], add_kpi(db, c[key], "csat"), value)
    measure(db, three["foreign"], add_kpi(db, three["foreign"], "csat"), 99)


def test_cross_client_page_percentiles_and_who_sees_what(http, factory, db, three):
    _measure_three(db, three)
    c = three["clients"]
    http.login(three["owner"].email)
    resp = http.get("/kpis/csat")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    # Worst first; the foreign consultancy's client is neither shown nor counted.
    assert _cards(body) == [(c["C"].slug, "70", "0th percentile"), (c["B"].slug, "80", "50th percentile"),
                            (c["A"].slug, "95", "100th percentile")]
    assert three["foreign"].slug not in body and three["foreign"].name not in body
    note = " ".join(unescape(re.sub(r"<[^>]+>", " ", re.search(r'id="scale-note">(.*?)</p>', body, re.S)
                                    .group(1))).split())
    label = current().label
    assert note.startswith(f"3 clients shown, worst first. One scale for every chart: 70 – 100 %, {label}.")
    assert note.endswith("Percentiles are among the 3 clients of your consultancy with a value.")
    # The same scale for every chart: 95 sits higher than 80, 80 higher than 70.
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', body)]
    assert ys == sorted(ys, reverse=True) and len(set(ys)) == 3

    index = http.get("/kpis").get_data(as_text=True)
    csat_row = re.search(r'<tr data-key="csat">(.*?)</tr>', index, re.S).group(1)
    assert re.findall(r'<td class="num">(.*?)</td>', csat_row) == ["3", '<span class="badge bad">1</span>']
    nps_row = re.search(r'<tr data-key="nps">(.*?)</tr>', index, re.S).group(1)
    assert 'href="/kpis/nps"' not in nps_row
    # The owner looks at one consultant's clients: percentiles stay among the consultancy's three.
    one = http.get(f"/kpis/csat?consultant={three['consultant'].id}").get_data(as_text=True)
    assert _cards(one) == [(c["B"].slug, "80", "50th percentile"), (c["A"].slug, "95", "100th percentile")]
    assert http.get(f"/kpis/csat?consultant={three['stranger'].id}").status_code == 404
    assert http.get("/kpis/no-such-kpi").status_code == 404
    http.logout()

    # The consultant sees their two clients; another's portfolio is not theirs to open.
    http.login(three["consultant"].email)
    assert _cards(http.get("/kpis/csat").get_data(as_text=True)) == [(c["B"].slug, "80", "50th percentile"),
                                                                    (c["A"].slug, "95", "100th percentile")]
    assert http.get(f"/kpis/csat?consultant={three['owner'].id}").status_code == 404
    http.logout()

    # Another consultancy's consultant sees only their own client, alone (no percentile).
    http.login(three["stranger"].email)
    foreign = http.get("/kpis/csat").get_data(as_text=True)
    assert _cards(foreign) == [(three["foreign"].slug, "99", "—")]
    assert all(client.slug not in foreign for client in c.values())
    http.logout()

    # Client staff have no consultancy pages at all.
    staff = factory.member(c["A"], "staff")
    http.login(staff.email)
    assert http.get("/kpis").status_code == 404
    assert http.get("/kpis/csat").status_code == 404


def test_the_clients_kpi_page_shows_its_percentile_to_the_consultancy(http, factory, db, three):
    _measure_three(db, three)
    b = three["clients"]["B"]
    with inside(db, b):
        kpi_id = db.session.scalar(select(Kpi.id).where(Kpi.library_key == "csat"))
    http.login(three["consultant"].email)
    detail = http.get(f"/c/{b.slug}/kpis/{kpi_id}").get_data(as_text=True)
    standing = " ".join(unescape(re.sub(r"<[^>]+>", " ", re.search(r'<div id="kpi-standing">(.*?)</div>', detail,
                                                                 re.S).group(1))).split())
    assert standing == "Among your clients 50th percentile of 3 clients with a value"
    listing = http.get(f"/c/{b.slug}/kpis").get_data(as_text=True)
    assert '<a href="/kpis/csat">50th percentile of 3 clients</a>' in listing
    http.logout()
    staff = factory.member(b, "staff")
    http.login(staff.email)
    assert "percentile" not in http.get(f"/c/{b.slug}/kpis/{kpi_id}").get_data(as_text=True)
    assert "percentile" not in http.get(f"/c/{b.slug}/kpis").get_data(as_text=True)


def test_the_charts_come_a_page_at_a_time_with_percentiles_over_every_client(http, db, three, monkeypatch):
    from app.portfolio import kpis as across

    _measure_three(db, three)
    c = three["clients"]
    monkeypatch.setattr(across, "PER_PAGE", 2)
    http.login(three["owner"].email)
    first = http.get("/kpis/csat").get_data(as_text=True)
    assert _cards(first) == [(c["C"].slug, "70", "0th percentile"), (c["B"].slug, "80", "50th percentile")]
    assert "1–2 of 3 clients shown" in first and 'rel="next" href="/kpis/csat?page=2"' in first
    second = http.get("/kpis/csat?page=2").get_data(as_text=True)
    assert _cards(second) == [(c["A"].slug, "95", "100th percentile")]
    assert "3–3 of 3 clients shown" in second and "One scale for every chart: 70 – 100 %" in second
    assert _cards(http.get("/kpis/csat?page=abc").get_data(as_text=True)) == _cards(first)


def test_the_shared_scale_leaves_out_values_older_than_the_window(db, three):
    """The y range is taken from the values in the x window: a client whose recent values reach back before it
    (it stopped measuring a while ago) adds only its values inside the window, whatever its kept range says."""
    from app.workspace.operations.kpi_latest import board

    c = three["clients"]
    now = current()
    window = [now]
    for _ in range(3):
        window.insert(0, window[0].previous())
    older = [window[0].previous().previous(), window[0].previous()]
    rows = {"A": (window, [50.0, 55.0, 60.0, 58.0]),
            "B": (window[2:], [70.0, 72.0]),
            "C": (older + window[:1], [1.0, 999.0, 65.0])}  # 1 and 999 lie before the window's first period
    for name, (periods, values) in rows.items():
        db.session.add(ClientKpiLatest(client_id=c[name].id, library_key="nps", name="NPS", unit="", direction="higher",
                                       period=periods[-1].key, value=values[-1], status=wk.ON_TRACK,
                                       recent_periods=[p.key for p in periods], recent_values=values,
                                       recent_low=min(values), recent_high=max(values)))
    db.session.commit()
    page = board(three["account"].id, "nps", wk.HIGHER, None, 1, 10, window=4)
    assert page.periods == [p.key for p in window]
    assert (page.low, page.high) == (50.0, 72.0)
    assert page.total == 3
    # With a window long enough to take in C's older periods, they count.
    wide = board(three["account"].id, "nps", wk.HIGHER, None, 1, 10, window=6)
    assert (wide.low, wide.high) == (1.0, 999.0)
