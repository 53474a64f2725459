"""The certification body's side of a client: application data, stage 1 and 2, the certificate, and the
three-year cycle that follows the decision (the rules are `workflows.cycle`'s)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from workflows import cycle as wc

from ... import clock
from ...extensions import db
from ...models import CertificationRecord, ExternalAudit, WorkspaceSettings
from ...refusal import Refusal
from .common import Actor, check_length, log
from .state import settings

# A date further than this from today is a slip of the keyboard (9999-12-31), not an audit.
DATE_REACH = timedelta(days=366 * 12)


def record() -> CertificationRecord:
    """The client's one certification row (a fresh, unsaved one until something is recorded)."""
    return db.session.get(CertificationRecord, 1) or CertificationRecord(id=1)


def _locked(model, **key):
    """The row to change, created if missing, locked until the commit: two saves at once (a double click)
    run one after the other instead of both inserting."""
    db.session.execute(insert(model).values(**key).on_conflict_do_nothing())
    query = select(model).filter_by(**key).with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(query).one()


def external_audits() -> dict[str, ExternalAudit]:
    return {a.kind: a for a in db.session.scalars(select(ExternalAudit))}


def decided_on() -> date | None:
    s = settings()
    return s.certification_decided_on if s and s.certification_decision == "certified" else None


def client_cycle(audits: dict[str, ExternalAudit] | None = None, today: date | None = None) -> wc.Cycle | None:
    """The cycle after a positive decision, with what is planned and held; None before certification."""
    decided = decided_on()
    if decided is None:
        return None
    audits = external_audits() if audits is None else audits
    return wc.cycle(decided, today or clock.today(),
                    planned={k: a.planned_on for k, a in audits.items() if a.planned_on},
                    held={k: a.held_on for k, a in audits.items() if a.held_on},
                    expires_on=record().expires_on)


def next_audit(audits: dict[str, ExternalAudit] | None = None) -> tuple[date | None, str | None]:
    """The date and kind of the next external audit the client faces (planned, else the latest allowed), for
    the portfolio: stage 1 or 2 before the decision, the cycle's next audit after it."""
    audits = external_audits() if audits is None else audits
    found = client_cycle(audits)
    if found is not None:
        return (found.next_audit.target, found.next_audit.kind) if found.next_audit else (None, None)
    waiting = sorted((a.planned_on, k) for k, a in audits.items() if k in ("stage_1", "stage_2") and a.planned_on
                     and a.held_on is None)
    return waiting[0] if waiting else (None, None)


def next_external_audit(audits: dict[str, ExternalAudit] | None = None) -> date | None:
    return next_audit(audits)[0]


# --- what was typed ----------------------------------------------------------------------------

def parse_day(text: str | None, field: str, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Refusal(f"{what}: {text!r} is not a date; use the date picker or write 2027-03-31.", 422,
                      field=field) from None
    today = clock.today()
    if not today - DATE_REACH <= day <= today + DATE_REACH:
        raise Refusal(f"{what}: {day.isoformat()} is too far from today; give a date between "
                      f"{(today - DATE_REACH).isoformat()} and {(today + DATE_REACH).isoformat()}.", 422, field=field)
    return day


def _count(text: str | None, field: str, what: str, top: int) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:8]) <= top:  # "²" is a digit to Python
        raise Refusal(f"{what} is a whole number from 1 to {top:,}.", 422, field=field)
    return int(text)


@dataclass(frozen=True)
class ApplicationForm:
    body: str = ""
    accreditation: str = ""
    sector: str = ""
    headcount: str = ""
    sites: str = ""
    scope_statement: str = ""


def save_application(form: ApplicationForm, actor: Actor) -> None:
    """The body chosen and what the client tells it when applying (headcount and sites set the audit days)."""
    s, row = settings(), _locked(CertificationRecord, id=1)
    body = check_length(form.body.strip(), WorkspaceSettings.certification_body, "body", "The certification body")
    values = {
        "accreditation": check_length(form.accreditation.strip(), CertificationRecord.accreditation, "accreditation",
                                      "The accreditation"),
        "sector": check_length(form.sector.strip(), CertificationRecord.sector, "sector", "The sector"),
        "headcount": _count(form.headcount, "headcount", "The headcount", 1_000_000),
        "sites": _count(form.sites, "sites", "The number of sites", 10_000),
        "scope_statement": form.scope_statement.strip(),
    }
    before = {"body": s.certification_body, **{k: getattr(row, k) for k in values}}
    s.certification_body = body or None
    for name, value in values.items():
        setattr(row, name, value)
    log(actor, "certification.application", "certification", None,
        f"Certification application data updated{f' ({body})' if body else ''}", before=before,
        after={"body": body, **values})


def save_certificate(number: str, scope: str, issued: str, expires: str, actor: Actor) -> None:
    """The certificate as the body issued it; its expiry defaults to three years from the decision."""
    decided = decided_on()
    if decided is None:
        raise Refusal("A certificate is recorded after the body's positive decision: record the decision on the "
                      "Gates page first.", 409)
    row = _locked(CertificationRecord, id=1)
    number = check_length(number.strip(), CertificationRecord.certificate_number, "certificate_number",
                          "The certificate number")
    issued_on = parse_day(issued, "issued_on", "Issued on") or decided
    expires_on = parse_day(expires, "expires_on", "Expires on") or wc.certificate_expiry(decided)
    if expires_on <= issued_on:
        raise Refusal("The certificate must expire after it was issued.", 422, field="expires_on")
    before = {"number": row.certificate_number, "expires_on": row.expires_on and row.expires_on.isoformat()}
    row.certificate_number, row.certificate_scope = number, scope.strip()
    row.issued_on, row.expires_on = issued_on, expires_on
    log(actor, "certification.certificate", "certification", None,
        f"Certificate {number or '(no number)'} recorded, valid until {expires_on.isoformat()}", before=before,
        after={"number": number, "expires_on": expires_on.isoformat()})


@dataclass(frozen=True)
class AuditForm:
    planned_on: str = ""
    held_on: str = ""
    result: str = ""
    reference: str = ""
    notes: str = ""


def save_audit(kind: str, form: AuditForm, actor: Actor) -> ExternalAudit:
    if kind not in wc.AUDIT_LABELS:
        raise Refusal(f"There is no audit called {kind!r}.", 404)
    planned_on = parse_day(form.planned_on, "planned_on", "Planned on")
    held_on = parse_day(form.held_on, "held_on", "Held on")
    result = form.result.strip() or None
    if result is not None and result not in wc.AUDIT_RESULTS:
        raise Refusal("Choose the audit's result from the list.", 422, field="result")
    if result is not None and held_on is None:
        raise Refusal("An audit has a result once it was held: give the date it was held on.", 422, field="held_on")
    if result == "concerns" and kind != "stage_1":
        raise Refusal("Areas of concern are what a stage 1 audit reports; later audits raise nonconformities.", 422,
                      field="result")
    try:
        wc.check_audit_dates(kind, planned_on, held_on, clock.today(), decided_on())
    except wc.CycleError as err:
        raise Refusal.of(err) from err
    reference = check_length(form.reference.strip(), ExternalAudit.reference, "reference", "The body's reference")
    audit = _locked(ExternalAudit, kind=kind)
    before = {"planned_on": audit.planned_on and audit.planned_on.isoformat(),
              "held_on": audit.held_on and audit.held_on.isoformat(), "result": audit.result}
    audit.planned_on, audit.held_on, audit.result = planned_on, held_on, result
    audit.reference, audit.notes = reference, form.notes.strip()
    audit.updated_by_name, audit.updated_at = actor.name, clock.now()
    after = {"planned_on": planned_on and planned_on.isoformat(), "held_on": held_on and held_on.isoformat(),
             "result": result}
    label = wc.AUDIT_LABELS[kind]
    what = (f"held on {held_on.isoformat()}" + (f": {wc.AUDIT_RESULTS[result].lower()}" if result else "")
            if held_on else f"planned for {planned_on.isoformat()}" if planned_on else "dates cleared")
    log(actor, "certification.audit", "external_audit", kind, f"{label} {what}", before=before, after=after)
    return audit
