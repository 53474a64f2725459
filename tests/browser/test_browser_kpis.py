"""In real headless Chromium: client staff enter a KPI value that turns it red; the trend chart draws
under the CSP; the KPI list, a KPI's page and the objectives page, screenshot for review."""
import os

import pytest
from sqlalchemy import select

import tenants
from app import clock
from app.models import Kpi
from app.workspace import operations as ops
from conftest import PASSWORD
from workflows import kpi as wk

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser

# Believable months: (library key, values oldest first; None = not entered)
HISTORY = {
    "on_time_delivery": [93, 95.5, 96, 94, 97, 96.5, 92, 95, 96, 97.5],
    "csat": [88, 91, 92, 90, 93, 94, 92, 95, 93, 94],
    "complaints_per_100_jobs": [1.8, 1.6, 1.4, 1.5, 1.2, 1.1, None, 0.9, 1.0, 0.8],
    "right_first_time": [91, 90, 88, 86, 84, 85, 83, 80, 78, 74],
    "first_response_time": [5.5, 5, 4.5, 4.2, 4, 3.8, 3.5, 3.9, 3.6, 3.4],
}


@pytest.fixture()
def measured_client(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        actor = ops.Actor(w.staff.id, "Sam Staff")
        last = wk.period_containing(clock.today(), "monthly").previous()
        first = last
        for _ in range(9):
            first = first.previous()
        periods = wk.periods_between(first, last)
        with tenants.tenant_scope(db.session, w.client.schema_name):
            ids = {}
            for key, series in HISTORY.items():
                kpi = ops.add_from_library(key, w.staff.id, {w.staff.id}, actor)
                db.session.flush()
                ids[key] = kpi.id
                for period, value in zip(periods, series):
                    if value is not None:
                        ops.record_measurement(kpi, period.key, str(value), "", actor)
            ops.change_target(db.session.get(Kpi, ids["on_time_delivery"]), periods[5].key, "96", "93", "85",
                              "Raised after the new scheduling tool, agreed at the management review", actor)
            ops.add_from_library("training_completion", w.client_admin.id, {w.client_admin.id}, actor)
            ops.save_objective(None, ops.ObjectiveForm(
                title="Deliver 95 % of jobs on time", what="Plan every job in the scheduling tool and review late ones weekly",
                resources="Scheduling tool licence; two hours a week of the operations lead", responsible="Operations lead",
                due_on=f"{clock.today().year}-12-31", evaluation="On-time delivery KPI, reviewed monthly",
                kpi_ids=(ids["on_time_delivery"],)), actor)
            ops.save_objective(None, ops.ObjectiveForm(title="Fewer complaints", kpi_ids=(ids["complaints_per_100_jobs"],)),
                               actor)
            ops.save(w.client)
        return {"slug": w.client.slug, "staff": w.staff.email, "kpi_id": ids["csat"], "current": periods[-1].next().key}


def test_staff_enter_a_value_that_turns_a_kpi_red(page, measured_client):
    c = measured_client
    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.click("nav.subnav >> text=KPIs")
    page.wait_for_selector("#kpi-table")
    page.set_viewport_size({"width": 1280, "height": 900})
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "kpis-list.png"), full_page=True)
    page.click("text=Customer satisfaction (CSAT)")
    page.wait_for_url(f"**/kpis/{c['kpi_id']}")
    # Chart.js drew the trend (its script and data came from this origin: the CSP allows nothing else).
    assert page.evaluate("() => !!window.Chart && !!window.Chart.getChart(document.querySelector('canvas[data-kpi-chart]'))")
    page.fill("#m-period", c["current"])
    page.fill("#m-value", "61,5")
    page.click("#enter button[type=submit]")
    page.wait_for_selector(".flash.success")
    assert "Off track" in page.locator(".kpi-head").inner_text()
    page.screenshot(path=os.path.join(SCREENSHOTS, "kpi-detail.png"), full_page=True)
    page.click("nav.subnav >> text=Objectives")
    page.wait_for_selector("article.objective")
    assert "6.2.2 a: missing what will be done" in page.inner_text("main")
    page.screenshot(path=os.path.join(SCREENSHOTS, "objectives.png"), full_page=True)
