"""The demo's KPIs and quality objectives are what issue 16 asks for, for every demo client."""
from sqlalchemy import select

import tenants
import workflows as wf
from app.demo import seed_demo
from app.models import ActivityEntry, Client, ClientSummary, Kpi, KpiTarget, Measurement
from app.workspace import operations as ops


def test_every_demo_client_has_kpis_with_history_and_objectives(ctx, db):
    seed_demo()
    clients = db.session.scalars(select(Client).where(Client.slug.in_(
        [s for s in ("acme-logistics", "brightside-dental", "cedar-accounting", "delta-facilities", "evergreen-it",
                     "fjord-translation", "granite-engineering", "harborview-physio", "iris-marketing",
                     "juniper-cleaning", "kestrel-security", "lumen-training", "meridian-freight",
                     "northstar-payroll", "oakridge-vet")]))).all()
    assert len(clients) == 15
    with_red = 0
    for client in clients:
        with tenants.tenant_scope(db.session, client.schema_name):
            rows = ops.kpi_rows()
            assert 6 <= len(rows) <= 8, client.slug
            assert "csat" in {r.kpi.library_key for r in rows}  # customer satisfaction first (9.1.2)
            for r in rows:
                measured = len(r.measured)
                assert 5 <= measured <= 12, (client.slug, r.kpi.name, measured)
            statuses = [r.position.status for r in rows]
            assert statuses.count(wf.kpi.ON_TRACK) >= 3, (client.slug, statuses)
            assert sum(len(r.position.missing) for r in rows) in (1, 2), client.slug
            with_red += any(r.position.is_red for r in rows)
            changes = db.session.scalars(select(KpiTarget).where(KpiTarget.reason != "")).all()
            assert len(changes) == 1 and "management review" in changes[0].reason, client.slug
            kpi = db.session.get(Kpi, changes[0].kpi_id)
            assert len(kpi.targets) == 2 and kpi.targets[0].target != kpi.targets[1].target
            assert kpi.targets[0].effective_from < changes[0].effective_from  # mid-series, not from the start
            objectives = ops.objective_rows(rows)
            assert 2 <= len(objectives) <= 4, client.slug
            assert all(o.objective.kpis for o in objectives)
            complete = [o for o in objectives if not o.gaps]
            vague = [o for o in objectives if o.gaps]
            assert complete and len(vague) == 1, client.slug
            assert {g.part for g in vague[0].gaps} >= {"resources", "responsible", "due_date", "evaluation"}
            # through the real operations: one log entry per value, one per import (the client's spreadsheet)
            logged = db.session.scalars(select(ActivityEntry.action).where(ActivityEntry.action.like("kpi.%"))).all()
            assert logged.count("kpi.measured") == db.session.query(Measurement).count()
            assert logged.count("kpi.imported") == logged.count("kpi.added") == len(rows)
            assert logged.count("kpi.target_changed") == 1
        summary = db.session.get(ClientSummary, client.id)
        assert summary.red_kpis == sum(1 for r in rows if r.position.is_red)
    assert 6 <= with_red < 15  # some clients have a red KPI, not all
