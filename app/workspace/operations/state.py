"""Reading one client's state: its settings, pinned template, stages and what the gate rules see."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select

import tenants
import workflows as wf
from workflows.stages import STAGE_KEYS

from ...extensions import db
from ...models import Document, Finding, GateReview, Stage, Task, WorkspaceSettings


def settings() -> WorkspaceSettings:
    return db.session.get(WorkspaceSettings, 1)


def lock_gate_state() -> WorkspaceSettings:
    """Take this client's gate lock and re-read what the gate rules look at under it.

    Every change to the gates — a review request, an approval, a send-back, a reopening, the certification
    decision — starts here: the settings row (one per client) is locked with SELECT … FOR UPDATE until the
    request's one commit or rollback, so two such changes at once run one after the other and the second sees
    what the first did (a double click gets a 409 instead of writing the same record twice). Stages and
    pending reviews are reloaded from the database, never taken from what the session read before the lock.
    """
    fresh = {"populate_existing": True}
    s = db.session.scalars(select(WorkspaceSettings).with_for_update().execution_options(**fresh)).one()
    db.session.scalars(select(Stage).execution_options(**fresh)).all()
    db.session.scalars(select(GateReview).where(GateReview.status == "requested").execution_options(**fresh)).all()
    return s


def template() -> wf.Template:
    """The client's pinned template, parsed once per process for each version it has been on."""
    s = settings()
    return _pinned(tenants.current_schema(), s.template_key, s.template_version)


@lru_cache(maxsize=512)
def _pinned(schema: str, key: str, version: int) -> wf.Template:
    # A client's snapshot changes only together with its version (apply_template), and schema names
    # are never reused for another client, so the three name one snapshot for good.
    return wf.read_template(settings().template_snapshot)


def current_stage_key() -> str:
    return db.session.scalar(select(Stage.key).where(Stage.status == "current").order_by(Stage.position)) \
        or STAGE_KEYS[-1]


def client_state() -> wf.ClientState:
    stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
    tasks = db.session.execute(select(Task.key, Task.stage, Task.required, Task.status, Task.title)).all()
    docs = db.session.execute(select(Document.key, Document.stage, Document.required, Document.status,
                                     Document.title)).all()
    findings = db.session.execute(select(Finding.id, Finding.stage, Finding.severity, Finding.status,
                                         Finding.title)).all()
    s = settings()
    current = next((st.key for st in stages if st.status == "current"), STAGE_KEYS[-1])
    return wf.ClientState(
        current_stage=current,
        tasks=[wf.TaskState(*row) for row in tasks],
        documents=[wf.DocumentState(*row) for row in docs],
        findings=[wf.FindingState(*row) for row in findings],
        signoffs={st.key for st in stages if st.status == "passed"},
        certification_decision=s.certification_decision if s else None,
    )


def gate(stage_key: str, state: wf.ClientState | None = None) -> wf.GateResult:
    return wf.evaluate_gate(template(), state or client_state(), stage_key)


def pending_review(stage_key: str) -> GateReview | None:
    return db.session.scalar(select(GateReview).where(GateReview.stage == stage_key,
                                                      GateReview.status == "requested"))


def sent_back_review(stage_key: str) -> GateReview | None:
    """The stage's latest review if the consultant sent it back, until the client asks again (a new request
    is then the latest)."""
    latest = db.session.scalar(select(GateReview).where(GateReview.stage == stage_key)
                               .order_by(GateReview.requested_at.desc(), GateReview.id.desc()).limit(1))
    return latest if latest is not None and latest.status == "sent_back" else None
