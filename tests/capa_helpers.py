"""A finding's record made to meet the closing rule (workflows/nonconformity.py), for tests whose subject is
something else: the root cause, a completed corrective action verified effective by another person, the
closure evidence. Called inside the client's tenant scope; never commits."""
from __future__ import annotations

from app import clock
from app.models import Finding
from app.workspace import operations as ops

SETUP = ops.Actor(None, "setup")
OWNER = ops.Actor(None, "Action owner")  # add_action reads an owner's id and name only


def meet_closing_rule(finding: Finding, verifier: ops.Actor = SETUP) -> None:
    if finding.severity not in ("major", "minor"):
        return
    ops.update_record(finding, ops.RecordForm(root_cause="No procedure said who does it",
                                              correction="Corrected on the spot",
                                              closure_evidence="Last month's records checked"), SETUP)
    action = ops.add_action(finding, "Write the procedure", OWNER, clock.today().isoformat(), SETUP)
    ops.complete_action(finding, action, SETUP)
    ops.verify_action(finding, action, "", "Sample ten records", "All ten complete", "effective", "", verifier)


def remedy(db, client, finding_id: int) -> None:
    """Over HTTP tests: the record of `finding_id` meets the closing rule, committed."""
    import tenants
    from app.models import Client
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        meet_closing_rule(db.session.get(Finding, finding_id))
        ops.save(db.session.get(Client, client.id))
