"""A consultancy's KPI library through HTTP: it starts as the standard library, is copied on the first edit,
and its clients pick from it; editing, adding and archiving definitions; bad input; isolation."""
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

import tenants
from app.models import AccountKpi, Kpi
from app.workspace import operations as ops
from workflows import kpi as wk

STANDARD = wk.load_kpi_library()


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def form(key="csat", **changes) -> dict:
    return {**wk.form_values(STANDARD.get(key)), **changes}


def own_form(**changes) -> dict:
    return {"name": "Invoices sent within 5 days", "area": "delivery", "numerator": "Invoices sent within 5 days",
            "denominator": "All invoices", "unit": "%", "direction": "higher", "frequency": "monthly",
            "target": "95", "amber": "90", "red": "80", "minimum": "0", "maximum": "100", "clauses": "8.5.1, 9.1.1",
            "note": "", **changes}


def post(http, url, data):
    return http.client.post(url, data={**data, "csrf_token": http.csrf("/library/kpis/")})


def rows(db, account) -> dict[str, AccountKpi]:
    db.session.rollback()
    return {r.key: r for r in db.session.scalars(select(AccountKpi).where(AccountKpi.account_id == account.id))}


def client_kpis(db, client) -> dict[str, tuple]:
    with inside(db, client):
        return {k.library_key: (k.name, k.unit, [(t.target, t.amber, t.red) for t in k.targets])
                for k in db.session.scalars(select(Kpi))}


def test_the_library_is_the_standard_one_until_the_first_edit(http, db, factory):
    w = factory.world()
    http.login(w.consultant.email)
    page = http.get("/library/kpis/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(f'id="kpi-{d.key}"' in html for d in STANDARD.definitions)
    assert "Your library is the standard library, unchanged." in html
    assert 'href="/library/kpis/"' in http.get("/templates/").get_data(as_text=True)  # the library's tabs
    assert rows(db, w.account) == {}


def test_editing_a_definition_copies_the_library_and_shows_what_differs(http, db, factory):
    w = factory.world()
    http.login(w.consultant.email)
    edit = http.get("/library/kpis/csat").get_data(as_text=True)
    assert "does not change the KPI at the 0 clients that already track it" in edit
    resp = post(http, "/library/kpis/csat", form(name="Client satisfaction", target="92,5", amber="88"))
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/library/kpis/#kpi-csat"
    stored = rows(db, w.account)
    assert len(stored) == 23 and all(r.based_on_key == r.key for r in stored.values())
    csat = stored["csat"]
    assert (csat.name, csat.target, csat.amber, csat.red, csat.unit, csat.clauses) == (
        "Client satisfaction", 92.5, 88.0, 75.0, "%", ["9.1.2"])
    assert csat.updated_by_id == w.consultant.id and csat.archived_at is None
    assert stored["nps"].updated_at is None  # copied, not edited
    html = http.get("/library/kpis/").get_data(as_text=True)
    assert "What differs from the standard library" in html and "1 edited · 0 of your own · 0 archived" in html
    assert "Name: <span class=\"muted\"><s>Customer satisfaction (CSAT)</s></span> → <strong>Client satisfaction</strong>" in html
    assert "Suggested target: <span class=\"muted\"><s>90</s></span> → <strong>92.5</strong>" in html
    assert "Amber threshold: <span class=\"muted\"><s>85</s></span> → <strong>88</strong>" in html
    # The same definition again: nothing changes, nothing is said to have been saved.
    again = post(http, "/library/kpis/csat", form(name="Client satisfaction", target="92.5", amber="88"))
    assert again.status_code == 303
    assert "Client satisfaction is unchanged." in http.get("/library/kpis/").get_data(as_text=True)


@pytest.mark.parametrize("changes, status, message", [
    ({"amber": "95"}, 422, "Higher is better, so the target must be at least the amber threshold, and amber at least red."),
    ({"direction": "lower"}, 422, "Lower is better, so the target must be at most the amber threshold, and amber at most red."),
    ({"target": "120"}, 422, "The target 120 is above the highest possible value 100."),
    ({"target": "ninety"}, 422, "Enter a number for the suggested target (&#39;ninety&#39; is not a number)."),
    ({"name": "N" * 201}, 422, "Name must be at most 200 characters."),
    ({"numerator": "x" * 301}, 422, "What is counted must be at most 300 characters."),
    ({"clauses": "9.9"}, 422, "Clause 9.9 is not in the template."),
    ({"frequency": "daily"}, 422, "Unknown frequency &#39;daily&#39;"),
    ({"name": "Net Promoter Score"}, 422, "Your library already has a KPI called “Net Promoter Score”."),
])
def test_bad_input_is_refused_with_the_form_kept(http, db, factory, changes, status, message):
    w = factory.world()
    http.login(w.owner.email)
    typed = form(**changes)
    resp = post(http, "/library/kpis/csat", typed)
    html = resp.get_data(as_text=True)
    assert resp.status_code == status
    assert message in html
    assert "Nothing was saved: see the fields marked below." in html
    field, value = next(iter(changes.items()))
    if field != "frequency":
        assert f'value="{value}"' in html  # what was typed comes back
    assert rows(db, w.account) == {}


def test_a_nul_character_is_refused_and_nothing_is_stored(http, db, factory):
    w = factory.world()
    http.login(w.consultant.email)
    resp = post(http, "/library/kpis/csat", form(name="Client\x00satisfaction"))
    assert resp.status_code == 422
    assert "NUL character" in resp.get_data(as_text=True)
    assert post(http, "/library/kpis/new", own_form(name="Bad\x00name")).status_code == 422
    assert rows(db, w.account) == {}


def test_adding_a_definition_of_its_own(http, db, factory):
    w = factory.world()
    http.login(w.consultant.email)
    assert http.get("/library/kpis/new").status_code == 200
    resp = post(http, "/library/kpis/new", own_form())
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/library/kpis/#kpi-invoices_sent_within_5_days"
    stored = rows(db, w.account)
    own = stored["invoices_sent_within_5_days"]
    assert (own.based_on_key, own.position, own.target, own.amber, own.red, own.clauses, own.maximum) == (
        None, 24, 95.0, 90.0, 80.0, ["8.5.1", "9.1.1"], 100.0)
    assert len(stored) == 24
    html = http.get("/library/kpis/").get_data(as_text=True)
    assert "0 edited · 1 of your own · 0 archived" in html
    twice = post(http, "/library/kpis/new", own_form(name="invoices SENT within 5 days", target="abc"))
    assert twice.status_code == 422
    html = twice.get_data(as_text=True)
    assert "Your library already has a KPI called “invoices SENT within 5 days”." in html
    assert "Enter a number for the suggested target (&#39;abc&#39; is not a number)." in html
    assert 'value="invoices SENT within 5 days"' in html
    assert len(rows(db, w.account)) == 24
    # The client picks it like any other definition.
    page = http.get(f"/c/{w.client.slug}/kpis/new").get_data(as_text=True)
    assert 'value="invoices_sent_within_5_days"' in page
    added = post(http, f"/c/{w.client.slug}/kpis/library", {"key": "invoices_sent_within_5_days"})
    assert added.status_code == 303
    assert client_kpis(db, w.client)["invoices_sent_within_5_days"] == (
        "Invoices sent within 5 days", "%", [(95.0, 90.0, 80.0)])


def test_archiving_keeps_the_clients_kpis_and_hides_the_definition_from_new_ones(http, db, factory):
    w = factory.world()
    http.login(w.consultant.email)
    assert post(http, f"/c/{w.client.slug}/kpis/library", {"key": "csat"}).status_code == 303
    resp = post(http, "/library/kpis/csat/archive", {})
    assert resp.status_code == 303
    assert rows(db, w.account)["csat"].archived_at is not None
    assert post(http, "/library/kpis/csat/archive", {}).status_code == 409
    page = http.get(f"/c/{w.client.slug}/kpis/new").get_data(as_text=True)
    assert 'value="csat"' not in page and 'value="nps"' in page
    assert client_kpis(db, w.client)["csat"] == ("Customer satisfaction (CSAT)", "%", [(90.0, 85.0, 75.0)])
    with inside(db, w.client):
        kpi_id = db.session.scalar(select(Kpi.id).where(Kpi.library_key == "csat"))
    assert http.get(f"/c/{w.client.slug}/kpis/{kpi_id}").status_code == 200
    other = factory.client(w.account, [w.consultant])
    refused = post(http, f"/c/{other.slug}/kpis/library", {"key": "csat"})
    assert refused.status_code == 422
    assert "The KPI library has no KPI &#39;csat&#39;" in refused.get_data(as_text=True)
    assert "0 edited · 0 of your own · 1 archived" in http.get("/library/kpis/").get_data(as_text=True)
    assert post(http, "/library/kpis/csat/restore", {}).status_code == 303
    assert rows(db, w.account)["csat"].archived_at is None
    assert post(http, f"/c/{other.slug}/kpis/library", {"key": "csat"}).status_code == 303


def test_a_client_picks_its_consultancys_edited_definition_and_other_consultancies_the_standard(http, db, factory):
    a = factory.world()
    b = factory.world()
    http.login(a.consultant.email)
    # A client KPI made before the edit is a copy: the edit leaves it alone.
    assert post(http, f"/c/{a.client.slug}/kpis/library", {"key": "on_time_delivery"}).status_code == 303
    before = client_kpis(db, a.client)["on_time_delivery"]
    assert post(http, "/library/kpis/on_time_delivery",
                form("on_time_delivery", name="Jobs done on the agreed date", target="97", amber="94",
                     red="90")).status_code == 303
    assert post(http, "/library/kpis/csat", form(name="Client happiness", unit="%", target="93")).status_code == 303
    assert client_kpis(db, a.client)["on_time_delivery"] == before
    page = http.get(f"/c/{a.client.slug}/kpis/new").get_data(as_text=True)
    assert "Client happiness" in page and "Customer satisfaction (CSAT)" not in page
    assert post(http, f"/c/{a.client.slug}/kpis/library", {"key": "csat"}).status_code == 303
    assert client_kpis(db, a.client)["csat"] == ("Client happiness", "%", [(93.0, 85.0, 75.0)])
    # The cross-client KPI pages name it as the consultancy does.
    assert "Client happiness" in http.get("/kpis").get_data(as_text=True)
    http.logout()

    http.login(b.consultant.email)
    page = http.get(f"/c/{b.client.slug}/kpis/new").get_data(as_text=True)
    assert "Customer satisfaction (CSAT)" in page and "Client happiness" not in page
    assert post(http, f"/c/{b.client.slug}/kpis/library", {"key": "csat"}).status_code == 303
    assert client_kpis(db, b.client)["csat"] == ("Customer satisfaction (CSAT)", "%", [(90.0, 85.0, 75.0)])
    assert rows(db, b.account) == {}


def test_another_consultancy_and_client_staff_get_nothing(http, db, factory):
    a = factory.world()
    b = factory.world()
    http.login(a.owner.email)
    assert post(http, "/library/kpis/new", own_form(name="Secret margin KPI")).status_code == 303
    assert post(http, "/library/kpis/csat", form(name="Secret satisfaction")).status_code == 303
    http.logout()
    own_key = "secret_margin_kpi"

    http.login(b.consultant.email)
    html = http.get("/library/kpis/").get_data(as_text=True)
    assert "Secret" not in html and "Customer satisfaction (CSAT)" in html
    assert http.get(f"/library/kpis/{own_key}").status_code == 404
    assert post(http, f"/library/kpis/{own_key}", own_form(name="Taken over")).status_code == 404
    assert post(http, f"/library/kpis/{own_key}/archive", {}).status_code == 404
    assert post(http, f"/library/kpis/{own_key}/restore", {}).status_code == 404
    assert "Secret" not in http.get("/library/kpis/csat").get_data(as_text=True)
    http.logout()
    assert rows(db, a.account)[own_key].name == "Secret margin KPI"
    assert rows(db, a.account)[own_key].archived_at is None
    assert rows(db, b.account) == {}

    for person in (a.client_admin, a.staff, a.auditor):
        http.login(person.email)
        for url in ("/library/kpis/", "/library/kpis/csat", f"/library/kpis/{own_key}", "/library/kpis/new"):
            resp = http.get(url)
            assert resp.status_code == 404, url
            assert "Secret" not in resp.get_data(as_text=True)
        token = http.csrf("/")
        for url, data in (("/library/kpis/csat", form()), ("/library/kpis/new", own_form()),
                          ("/library/kpis/csat/archive", {})):
            assert http.client.post(url, data={**data, "csrf_token": token}).status_code == 404, url
        http.logout()
    assert rows(db, a.account)["csat"].name == "Secret satisfaction"
    assert db.session.scalar(select(func.count()).select_from(AccountKpi)
                             .where(AccountKpi.account_id == a.account.id)) == 24
