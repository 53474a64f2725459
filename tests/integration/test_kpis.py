"""KPIs and quality objectives through HTTP: adding, measuring, correcting, targets, CSV import,
objectives, the portfolio's red KPIs, and isolation of every new route."""
import base64
import re
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

import tenants
from app import clock
from app.models import ActivityEntry, ClientSummary, Kpi, KpiTarget, Measurement, Objective
from app.workspace import operations as ops

TODAY = datetime(2026, 5, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(TODAY):
        yield


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def add_kpi(db, client, key="on_time_delivery"):
    with inside(db, client):
        kpi = ops.add_from_library(key, None, set(), ops.Actor(None, "setup"))
        db.session.flush()
        kpi_id = kpi.id
        ops.save(client)
    return kpi_id


def values(db, client, kpi_id):
    with inside(db, client):
        return {m.period: m.value for m in db.session.scalars(select(Measurement).where(Measurement.kpi_id == kpi_id))}


def summary(db, client):
    db.session.rollback()
    return db.session.get(ClientSummary, client.id)


def post(http, url, data, **kw):
    return http.client.post(url, data={**data, "csrf_token": http.csrf("/")}, **kw)


def test_add_from_library_and_the_list(http, db, factory):
    w = factory.world()
    http.login(w.consultant.email)
    base = f"/c/{w.client.slug}"
    page = http.get(f"{base}/kpis/new").get_data(as_text=True)
    assert "Customer satisfaction (CSAT)" in page and "Nonconformities raised" in page
    resp = post(http, f"{base}/kpis/library", {"key": "csat", "owner_id": str(w.staff.id)})
    assert resp.status_code == 303
    with inside(db, w.client):
        kpi = db.session.scalar(select(Kpi).where(Kpi.library_key == "csat"))
        assert (kpi.name, kpi.unit, kpi.frequency, kpi.owner_id, kpi.first_period) == (
            "Customer satisfaction (CSAT)", "%", "monthly", w.staff.id, "2026-05")
        assert [(t.effective_from, t.target, t.amber, t.red) for t in kpi.targets] == [("2026-05", 90, 85, 75)]
        kpi_id = kpi.id
    assert resp.headers["Location"].endswith(f"/kpis/{kpi_id}")
    # Twice is refused: one KPI per library entry.
    again = post(http, f"{base}/kpis/library", {"key": "csat"})
    assert again.status_code == 409 and "already one of this client" in again.get_data(as_text=True)
    unknown = post(http, f"{base}/kpis/library", {"key": "ebitda"})
    assert unknown.status_code == 422
    listing = http.get(f"{base}/kpis").get_data(as_text=True)
    assert "Customer satisfaction (CSAT)" in listing and "May 2026" in listing  # next due
    # Staff may not add KPIs (they enter values).
    http.logout()
    http.login(w.staff.email)
    assert post(http, f"{base}/kpis/library", {"key": "nps"}).status_code == 403


def test_define_your_own_keeps_input_on_errors(http, db, factory):
    w = factory.world()
    http.login(w.client_admin.email)
    base = f"/c/{w.client.slug}"
    form = {"name": "Invoices sent within 5 days", "numerator": "Invoices sent within 5 working days",
            "denominator": "All invoices", "unit": "%", "direction": "higher", "frequency": "monthly",
            "target": "95", "amber": "97", "red": "80", "clauses": "9.1.1"}
    bad = post(http, f"{base}/kpis", form)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Higher is better" in body and 'value="Invoices sent within 5 days"' in body
    assert post(http, f"{base}/kpis", {**form, "clauses": "9.9"}).status_code == 422
    ok = post(http, f"{base}/kpis", {**form, "amber": "90"})
    assert ok.status_code == 303
    with inside(db, w.client):
        kpi = db.session.scalar(select(Kpi).where(Kpi.name == "Invoices sent within 5 days"))
        assert kpi.library_key is None and kpi.clauses == ["9.1.1"] and kpi.targets[0].amber == 90


def test_enter_a_measurement_with_its_exact_status(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)  # on-time delivery: target 95, amber 90, red 80
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/kpis/{kpi_id}"
    resp = post(http, f"{url}/measurements", {"period": "2026-04", "value": "87,5", "note": "late vans"})
    assert resp.status_code == 303
    assert values(db, w.client, kpi_id) == {"2026-04": 87.5}
    page = http.get(url).get_data(as_text=True)
    assert 'kpi-status kpi-at_risk">At risk' in page and "late vans" in page
    # A date stands for its period; a value past red turns the KPI off track.
    assert post(http, f"{url}/measurements", {"period": "2026-05-03", "value": "79"}).status_code == 303
    assert values(db, w.client, kpi_id) == {"2026-04": 87.5, "2026-05": 79.0}
    with inside(db, w.client):
        kpi = db.session.get(Kpi, kpi_id)
        position = ops.position(kpi, ops.measurements_of([kpi_id])[kpi_id])
        assert [(r.period.key, r.status) for r in position.periods] == [("2026-04", "at_risk"), ("2026-05", "off_track")]


def test_correcting_a_period_updates_it_and_logs_the_old_value(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/kpis/{kpi_id}"
    post(http, f"{url}/measurements", {"period": "2026-04", "value": "91"})
    resp = post(http, f"{url}/measurements", {"period": "2026-04", "value": "96", "note": "recount"},
                follow_redirects=True)
    assert "(was 91)" in resp.get_data(as_text=True)
    assert values(db, w.client, kpi_id) == {"2026-04": 96.0}
    with inside(db, w.client):
        entry = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "kpi.corrected")).one()
        assert entry.before["value"] == 91 and entry.after["value"] == 96 and entry.actor_id == w.staff.id
        assert entry.before["period"] == "2026-04"


def test_a_future_period_is_refused_keeping_the_input(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/kpis/{kpi_id}"
    resp = post(http, f"{url}/measurements", {"period": "2026-06", "value": "97,5", "note": "forecast"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Jun 2026 has not begun yet" in body
    assert 'value="2026-06"' in body and 'value="97,5"' in body and 'value="forecast"' in body
    for bad, message in [({"period": "2026-13", "value": "1"}, "2026 has no month 13"),
                         ({"period": "2026-Q1", "value": "1"}, "is a quarterly period"),
                         ({"period": "2026-04", "value": "lots"}, "is not a number"),
                         ({"period": "2026-04", "value": "120"}, "is not possible for this KPI")]:
        resp = post(http, f"{url}/measurements", bad)
        assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert values(db, w.client, kpi_id) == {}
    http.logout()
    http.login(w.auditor.email)
    assert post(http, f"{url}/measurements", {"period": "2026-04", "value": "90"}).status_code == 403


def test_a_target_change_applies_from_its_period_only(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    with inside(db, w.client):
        kpi = db.session.get(Kpi, kpi_id)
        for period, value in (("2026-02", 92), ("2026-03", 92), ("2026-04", 92)):
            ops.record_measurement(kpi, period, str(value), "", ops.Actor(None, "setup"))
        ops.save(w.client)
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}/kpis/{kpi_id}"
    no_reason = post(http, f"{url}/targets", {"effective_from": "2026-04", "target": "90", "amber": "85",
                                              "red": "75", "reason": ""})
    assert no_reason.status_code == 422 and "Say why the target changes" in no_reason.get_data(as_text=True)
    resp = post(http, f"{url}/targets", {"effective_from": "2026-04", "target": "97", "amber": "95", "red": "90",
                                         "reason": "New contract with the council"})
    assert resp.status_code == 303
    with inside(db, w.client):
        kpi = db.session.get(Kpi, kpi_id)
        assert [(t.effective_from, t.target, t.reason) for t in kpi.targets] == [
            ("2026-05", 95, ""), ("2026-04", 97, "New contract with the council")]
        position = ops.position(kpi, ops.measurements_of([kpi_id])[kpi_id])
        statuses = {r.period.key: (r.status, r.setting.target) for r in position.periods}
    # The first target (set in May) covers the imported months; the change applies from April on only.
    assert statuses == {"2026-02": ("on_track", 95), "2026-03": ("on_track", 95), "2026-04": ("at_risk", 97),
                        "2026-05": (None, 97)}
    page = http.get(url).get_data(as_text=True)
    assert "New contract with the council" in page


def test_targets_are_never_overwritten_in_the_database(db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    with inside(db, w.client):
        row = db.session.scalars(select(KpiTarget).where(KpiTarget.kpi_id == kpi_id)).one()
        row.target = 1
        with pytest.raises(Exception, match="never overwritten"):
            db.session.flush()
    db.session.rollback()


def _import(http, url, text, filename="values.csv"):
    import io

    return http.client.post(f"{url}/import", data={"csrf_token": http.csrf("/"),
                                                   "file": (io.BytesIO(text.encode("utf-8")), filename)},
                            content_type="multipart/form-data")


def test_csv_preview_then_confirm(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/kpis/{kpi_id}"
    post(http, f"{url}/measurements", {"period": "2026-02", "value": "90"})
    text = "Datum;Wert;Bemerkung\n31.01.2026;93,5;Januar\n28.02.2026;96;\n2026-03;abc;\n2026-07;90;\n"
    preview = _import(http, url, text)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Row 4" in body and "&#39;abc&#39; is not a number" in body and "2026-07 is in the future" in body
    assert "Replaces 90" in body and "New" in body
    assert values(db, w.client, kpi_id) == {"2026-02": 90.0}  # a preview stores nothing
    content = re.search(r'name="content" value="([^"]+)"', body).group(1)
    assert base64.b64decode(content).decode() == text
    refused = post(http, f"{url}/import", {"content": content})
    assert refused.status_code == 422 and "choose to import" in refused.get_data(as_text=True)
    assert values(db, w.client, kpi_id) == {"2026-02": 90.0}
    done = post(http, f"{url}/import", {"content": content, "valid_rows_only": "1"})
    assert done.status_code == 303
    assert values(db, w.client, kpi_id) == {"2026-01": 93.5, "2026-02": 96.0}
    with inside(db, w.client):
        actions = [a for (a,) in db.session.execute(select(ActivityEntry.action).order_by(ActivityEntry.id))]
        assert actions[-3:] == ["kpi.measured", "kpi.corrected", "kpi.imported"]


def test_csv_file_level_errors(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/kpis/{kpi_id}"
    empty = _import(http, url, "")
    assert "The file is empty" in empty.get_data(as_text=True)
    big = _import(http, url, "period;value\n" + "2026-01;1\n" * 2_000_000)
    assert "The file is 20.0 MB; files of up to 1 MB can be imported" in big.get_data(as_text=True)
    no_file = post(http, f"{url}/import", {"content": ""})
    assert no_file.status_code == 422 and "Choose a CSV file" in no_file.get_data(as_text=True)
    assert values(db, w.client, kpi_id) == {}


def test_objectives_and_the_6_2_2_check(http, db, factory):
    w = factory.world()
    kpi_id = add_kpi(db, w.client)
    http.login(w.client_admin.email)
    base = f"/c/{w.client.slug}"
    assert post(http, f"{base}/objectives", {"title": ""}).status_code == 422
    resp = post(http, f"{base}/objectives", {"title": "Deliver 95 % of jobs on time", "responsible": "Ops lead"})
    assert resp.status_code == 303
    page = http.get(f"{base}/objectives").get_data(as_text=True)
    for gap in ("6.2.2 a: missing what will be done", "6.2.2 b: missing what resources will be required",
                "6.2.2 d: missing when it will be completed", "6.2.2 e: missing how the results will be evaluated",
                "link at least one KPI"):
        assert gap in page
    assert "6.2.2 c" not in page
    with inside(db, w.client):
        objective_id = db.session.scalar(select(Objective.id))
    full = {"title": "Deliver 95 % of jobs on time", "what": "Plan every job in the scheduling tool weekly",
            "resources": "Scheduling tool, two hours a week", "responsible": "Ops lead", "due_on": "2026-12-31",
            "evaluation": "Monthly KPI review", "kpi_ids": str(kpi_id)}
    bad_date = post(http, f"{base}/objectives/{objective_id}", {**full, "due_on": "31/12"})
    assert bad_date.status_code == 422 and 'value="Plan every job' not in bad_date.get_data(as_text=True)
    assert "Plan every job in the scheduling tool weekly" in bad_date.get_data(as_text=True)
    assert post(http, f"{base}/objectives/{objective_id}", full).status_code == 303
    page = http.get(f"{base}/objectives").get_data(as_text=True)
    assert "Plan complete" in page and "missing" not in page
    with inside(db, w.client):
        o = db.session.get(Objective, objective_id)
        assert [k.id for k in o.kpis] == [kpi_id] and o.due_on.isoformat() == "2026-12-31"
    http.logout()
    http.login(w.staff.email)
    assert post(http, f"{base}/objectives", {"title": "Something else entirely"}).status_code == 403


def test_red_kpis_in_client_summaries(http, db, factory):
    w = factory.world()
    assert summary(db, w.client).red_kpis == 0
    on_time = add_kpi(db, w.client, "on_time_delivery")
    csat = add_kpi(db, w.client, "csat")
    add_kpi(db, w.client, "nps")  # quarterly: Q2 not over yet, nothing missing
    http.login(w.staff.email)
    base = f"/c/{w.client.slug}"
    post(http, f"{base}/kpis/{on_time}/measurements", {"period": "2026-05", "value": "70"})  # off track
    assert summary(db, w.client).red_kpis == 1
    post(http, f"{base}/kpis/{csat}/measurements", {"period": "2026-05", "value": "88"})  # on track
    assert summary(db, w.client).red_kpis == 1
    post(http, f"{base}/kpis/{on_time}/measurements", {"period": "2026-05", "value": "96"})
    assert summary(db, w.client).red_kpis == 0
    # On 11 July June is past its 10 days' grace with no value for either monthly KPI, and so is the
    # quarterly NPS's Q2: all three are missing.
    with clock.frozen_at(datetime(2026, 7, 10, tzinfo=timezone.utc)):
        with inside(db, w.client):
            ops.save(w.client)
        assert summary(db, w.client).red_kpis == 0
    with clock.frozen_at(datetime(2026, 7, 11, tzinfo=timezone.utc)):
        with inside(db, w.client):
            ops.save(w.client)
        assert summary(db, w.client).red_kpis == 3


NEW_ROUTES = [
    ("GET", "/kpis"), ("GET", "/kpis/new"), ("POST", "/kpis/library"), ("POST", "/kpis"),
    ("GET", "/kpis/{kpi}"), ("POST", "/kpis/{kpi}/measurements"), ("POST", "/kpis/{kpi}/targets"),
    ("POST", "/kpis/{kpi}/import"), ("GET", "/objectives"), ("POST", "/objectives"),
    ("GET", "/objectives/{objective}"), ("POST", "/objectives/{objective}"),
]


def test_outsiders_get_404_on_every_kpi_route(http, db, factory):
    a, b = factory.world(), factory.world()
    sibling = factory.client(a.account, [a.consultant])
    sibling_staff = factory.member(sibling, "staff")
    kpi_id = add_kpi(db, a.client, "csat")
    with inside(db, a.client):
        ops.record_measurement(db.session.get(Kpi, kpi_id), "2026-04", "91", "secret note", ops.Actor(None, "x"))
        o = ops.save_objective(None, ops.ObjectiveForm(title="Secret objective of Acme"), ops.Actor(None, "x"))
        db.session.flush()
        objective_id = o.id
        ops.save(a.client)
        before = db.session.scalar(select(ActivityEntry.id).order_by(ActivityEntry.id.desc()))
    data = {"key": "nps", "name": "X", "period": "2026-04", "value": "1", "target": "1", "amber": "1", "red": "1",
            "reason": "x", "title": "Hijack", "content": ""}
    for user in (sibling_staff, b.consultant, b.owner, a.other_consultant):
        http.login(user.email)
        for method, path in NEW_ROUTES:
            url = f"/c/{a.client.slug}" + path.format(kpi=kpi_id, objective=objective_id)
            resp = http.get(url) if method == "GET" else post(http, url, data)
            body = resp.get_data(as_text=True)
            assert resp.status_code == 404, (user.email, method, url, resp.status_code)
            assert "secret note" not in body and "Secret objective" not in body and a.client.name not in body
        http.logout()
    with inside(db, a.client):
        assert db.session.scalar(select(ActivityEntry.id).order_by(ActivityEntry.id.desc())) == before
        assert values(db, a.client, kpi_id) == {"2026-04": 91.0}
