"""Demo: the records a client in implementation keeps at a rhythm — the monthly KPI report and the quarterly
customer-satisfaction results, from the day it entered implementation, owned by its quality lead — so that
"Records due" on My work and the record pages show what comes next. Inside the client's tenant scope; never
commits."""
from __future__ import annotations

from sqlalchemy import select

from workflows.stages import IMPLEMENTATION

from .extensions import db
from .models import Document, Stage

RHYTHMS = {"kpi_reports": "monthly", "customer_satisfaction_results": "quarterly"}


def keep_records(stage_key: str, lead_id: int) -> None:
    if stage_key != IMPLEMENTATION:
        return
    entered = db.session.get(Stage, IMPLEMENTATION).entered_at
    for doc in db.session.scalars(select(Document).where(Document.key.in_(RHYTHMS))):
        doc.record_frequency, doc.expected_since, doc.owner_id = RHYTHMS[doc.key], entered.date(), lead_id
