"""A demo client's history replayed through the real operations on a timeline that only moves forward.

Each stage is entered when the previous gate is approved; its tasks are done on working days strictly between
entering and the gate request; documents are approved one by one after the work they describe, by the role
the register names (top management for policy, objectives, scope and review minutes); the gate is requested by
the client's quality lead and approved a working day or two later by the consultant, at a working hour in the
client's time zone. Gap findings come from the client's sector (app/demo_sectors.py) and are remedied in the
stage whose work remedies them: the corrective action carried out by the client, its evidence attached,
verified by the consultant days later, then closed. Everything ends before today.
"""
from __future__ import annotations

import heapq
import io
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

import tenants
from workflows.stages import STAGE_KEYS

from . import clock
from .demo_evidence import add_record, gap_plan, rate_gap_items, record_days
from .demo_sectors import CB_AREA_OF_CONCERN, CB_MINORS, PROFILES, facts, findings_for, sector_of
from .demo_texts import COMMENTS, evidence_file, na_reason
from .extensions import db
from .models import Client, Document, Finding, Stage, Task, User
from .workspace import operations as ops

# Days a passed stage took (from entering to its gate), and how long the client has been in its current one.
# Implementation runs at least the eight weeks its gate asks; the internal audit leaves a week for the management
# review after the audits.
TOOK = {"initial_audit": (18, 26), "system_design": (30, 42), "implementation": (62, 74), "internal_audit": (32, 40),
        "certification_audit": (58, 64)}
IN_CURRENT = {"initial_audit": (10, 20), "system_design": (16, 30), "implementation": (64, 76),
              "internal_audit": (32, 40), "certification_audit": (50, 56)}
CERTIFIED = {"juniper-cleaning"}  # the certification body's decision recorded, the certificate issued
EXCLUDED_83 = ("design_and_development", "design_development_records")
CB_NAME = "Northgate Certification Ltd"
# Records approved after the event they record (else after the first task that serves the document).
DOC_AFTER = {"stage1_report": "stage1_audit", "stage2_report": "stage2_audit",
             "certification_corrective_action_plan": "close_certification_findings",
             "certification_contract": "certification_application", "internal_audit_reports": "internal_audit_report",
             "management_review_minutes": "management_review", "implementation_plan": "agree_implementation_plan"}


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def weekdays_between(after: date, before: date) -> list[date]:
    """Working days strictly between two days."""
    return [after + timedelta(days=n) for n in range(1, (before - after).days)
            if (after + timedelta(days=n)).weekday() < 5]


@dataclass
class DemoClient:
    """One demo client as its history left it: what the hooks in app/demo.py build on."""

    client: Client
    stage: str  # the current stage's key
    certified: bool
    director: User  # top management
    lead: User  # the quality lead (client admin)
    staff: User
    consultant: User
    rng: random.Random
    tz: str
    passed: dict[str, datetime] = field(default_factory=dict)  # stage → when its gate was approved

    def at(self, day: date, earliest: int = 9, latest: int = 16) -> datetime:
        """A working-hours moment on `day` in the client's time zone, in UTC."""
        local = datetime.combine(day, time(self.rng.randint(earliest, latest), self.rng.randint(0, 59)),
                                 ZoneInfo(self.tz))
        return local.astimezone(timezone.utc)

    def actor(self, who: User) -> ops.Actor:
        return ops.Actor.of(who)


class Events:
    """Things that happen at moments, run in time order (so every rule sees the state of that moment); an event
    may add later ones (the body's acceptance follows the plan it accepts)."""

    def __init__(self):
        self.items: list[tuple[datetime, int, object]] = []
        self.count = 0

    def add(self, moment: datetime, call) -> None:
        self.count += 1
        heapq.heappush(self.items, (moment, self.count, call))

    def run(self) -> None:
        while self.items:
            moment, _, call = heapq.heappop(self.items)
            with clock.frozen_at(moment):
                call()


def plan_days(stage_index: int, rng: random.Random, today: date) -> tuple[date, list[int]]:
    """The start day and how many days each passed stage took, so that the current one began long enough ago."""
    took = [rng.randint(*TOOK[k]) for k in STAGE_KEYS[:stage_index]]
    current = rng.randint(*IN_CURRENT[STAGE_KEYS[stage_index]])
    # A passed stage ends up to three days past its `took` (weekends, the wait for approval): allowed for, so
    # the current stage always has its days, whatever weekday today is.
    return weekday_on_or_after(today - timedelta(days=sum(took) + 3 * len(took) + current)), took


def replay(dc: DemoClient, start: date, took: list[int], stage_index: int, before_gate=None) -> None:
    """The client's whole history, stage by stage: entered → tasks → gate requested → approved → next.
    `before_gate(key)` adds what a stage's gate reads besides tasks and documents, once its work is done and
    before its gate is requested."""
    rng, today = dc.rng, clock.today()
    ctx = _Context(dc)
    entered = datetime.combine(start, time(9), timezone.utc)
    for index, key in enumerate(STAGE_KEYS[:stage_index + 1]):
        approve_day = None
        if index < stage_index:
            request_day = weekday_on_or_after(entered.date() + timedelta(days=took[index] - 3))
            approve_day = weekday_on_or_after(request_day + timedelta(days=rng.randint(1, 2)))
            share = 1.0
        elif key == "certification_audit":
            share = 1.0 if dc.client.slug in CERTIFIED else 8 / 9
            left = weekdays_between(entered.date(), today)
            request_day, approve_day = (left[-2], left[-1]) if share == 1.0 else (today, None)
        else:
            share = rng.choice([0.25, 0.4, 0.6, 1.0])
            request_day = weekdays_between(entered.date(), today)[-1] if share == 1.0 else today
        ctx.stage(key, weekdays_between(entered.date(), request_day), share)
        if before_gate is not None and share == 1.0:
            before_gate(key)
        if share == 1.0:
            ctx.events.add(dc.at(request_day, 14, 15), lambda k=key: ops.request_gate_review(
                k, "Everything for this stage is done and uploaded; please review.", dc.actor(dc.lead)))
        if approve_day is not None:
            approved = dc.at(approve_day, 13, 16)
            ctx.events.add(approved, lambda k=key: ops.approve_gate(k, ctx.approval_comment(k),
                                                                   dc.actor(dc.consultant)))
            dc.passed[key] = entered = approved
        ctx.events.run()
    dc.certified = "certification_audit" in dc.passed


class _Context:
    def __init__(self, dc: DemoClient):
        self.dc, self.events = dc, Events()
        self.slug = dc.client.slug
        self.sector = sector_of(self.slug)
        self.values = facts(self.slug, dc.client.name)
        self.findings: list[tuple[Finding, dict]] = []

    # --- who does what ---
    def doer(self, task: Task) -> User:
        return {"consultant": self.dc.consultant, "client_admin": self.dc.lead}.get(task.role, self.dc.staff)

    def approval_comment(self, key: str) -> str:
        return {"initial_audit": "Gap report agreed with top management; plan signed off.",
                "system_design": "Documents reviewed clause by clause; policy and objectives approved by top management.",
                "implementation": "Records sampled for three months of live work; the gap majors are closed and verified.",
                "internal_audit": "Audit programme complete, management review held; ready for stage 1.",
                "certification_audit": "Certificate received from the body; surveillance to be planned."}[key]

    # --- one stage ---
    def stage(self, key: str, days: list[date], share: float) -> None:
        dc, rng = self.dc, self.dc.rng
        tasks = db.session.scalars(select(Task).where(Task.stage == key).order_by(Task.position)).all()
        doing = int(round(len(tasks) * share))
        finished: dict[str, date] = {}
        # A task that remedies a gap finding is done in the first half, leaving time to verify the action.
        early = {f["remedy_task"] for _, f in self.findings if f.get("remedy_stage") == key}
        if key == "internal_audit":
            early.add("conduct_internal_audits")  # the management review follows it within the stage
        for i, task in enumerate(tasks):
            place = min(len(days) - 1, int(i * len(days) / max(1, len(tasks))) + rng.randint(0, 1))
            slot = days[min(place, len(days) // 2) if task.key in early else place]
            if i < doing:
                finished[task.key] = slot
                self._finish(task, slot)
            elif i == doing:
                self.events.add(dc.at(days[-1]), lambda t=task: ops.set_task_status(t, "in_progress", None,
                                                                                   dc.actor(self.doer(t))))
            comment = COMMENTS.get(task.key)
            if comment and i <= doing:
                before = [d for d in days if d < finished.get(task.key, days[-1])] or days[:1]
                asked = before[len(before) // 2]
                self.events.add(dc.at(asked, 9, 12), lambda t=task, c=comment: ops.add_comment(
                    t, c[0].format(**self.values), dc.actor(dc.consultant)))
                self.events.add(dc.at(asked, 14, 16), lambda t=task, c=comment: ops.add_comment(
                    t, c[1].format(**self.values), dc.actor(self.doer(t))))
        if share == 1.0:
            self._approve_documents(key, days, finished)
        if key == "initial_audit":
            raised_on = finished.get("gap_operation", days[len(days) // 2])
            self.events.add(dc.at(raised_on, 15, 16), self._raise_gap_findings)
            self._rate_gap_items([d for d in days if d >= raised_on], share)
        if key == "implementation":
            entered = db.session.get(Stage, key).entered_at.date()
            for record, day, note in record_days(entered, days[-1]):
                self.events.add(dc.at(day, 10, 16), lambda r=record, d=day, n=note: add_record(
                    r, d, n, rng, dc.actor(dc.lead)))
        if key == "certification_audit":
            self._certification(days, finished)
        self.events.run()  # findings exist before their remedies are planned
        self._remedies(key, days, finished)

    def _finish(self, task: Task, day: date) -> None:
        dc = self.dc
        who = self.doer(task)
        moment = dc.at(day, 10, 16)
        if task.key in EXCLUDED_83 and self.sector.get("excludes_83"):
            self.events.add(moment, lambda: ops.set_task_status(task, "not_applicable", na_reason(
                self.sector["scope"].format(**self.values)), dc.actor(dc.consultant), by_consultant=True))
            return
        made = evidence_file(task.key, self.values, day)
        if made:
            self.events.add(moment - timedelta(minutes=25), lambda: _attach(task, *made, dc.actor(who)))
        self.events.add(moment, lambda: ops.set_task_status(task, "done", None, dc.actor(who)))

    def _approve_documents(self, key: str, days: list[date], finished: dict[str, date]) -> None:
        """Each document approved on its own day after the work it comes from (a record after the event it
        records), by the role the register names; one the work finished late for, on the request's morning."""
        dc, rng = self.dc, self.dc.rng
        for doc in db.session.scalars(select(Document).where(Document.stage == key).order_by(Document.id)):
            if doc.key == "certificate":
                continue  # approved with the body's decision
            source = DOC_AFTER.get(doc.key, doc.key)
            served = ([finished[source]] if source in finished
                      else [finished[k] for k in doc.task_keys or () if k in finished][:1])
            after = [d for d in days if d > (served[0] if served else days[len(days) // 2])]
            day = after[min(len(after) - 1, rng.randint(0, 3))] if after else None
            if doc.approver_role == "top_management":
                who, role = dc.director, "top_management"
            else:
                who, role = dc.consultant, "consultant"
            moment = (dc.at(day, 9, 16) if day else  # else the request's day, before the request (afternoon)
                      dc.at(weekday_on_or_after(days[-1] + timedelta(days=1)), 9, 12))
            self.events.add(moment, lambda d=doc, w=who, r=role: ops.set_document_status(
                d, "approved", dc.actor(w), r))

    # --- findings ---
    def _gap_findings(self) -> list[dict]:
        place = sorted(s for s, p in PROFILES.items() if p["sector"] == PROFILES[self.slug]["sector"]).index(self.slug)
        return findings_for(self.slug, self.dc.client.name, place)

    def _rate_gap_items(self, days: list[date], share: float) -> None:
        """The gap checklist rated over the days from the findings on (all of it before the gate is requested)."""
        dc = self.dc
        plan = gap_plan(self._gap_findings(), bool(self.sector.get("excludes_83")), random.Random(self.slug))
        plan = plan if share == 1.0 else plan[:int(len(plan) * share)]
        parts = min(len(days), 4)
        scope = self.sector["scope"].format(**self.values)
        for i in range(parts):
            chunk = plan[i * len(plan) // parts:(i + 1) * len(plan) // parts]
            self.events.add(dc.at(days[i], 9, 16), lambda c=chunk: rate_gap_items(c, scope, dc.actor(dc.consultant)))

    def _raise_gap_findings(self) -> None:
        for f in self._gap_findings():
            finding = ops.raise_finding(
                "initial_audit", "", f["title"], f["clause"], "", self.dc.actor(self.dc.consultant),
                source="gap_analysis", kind=f["kind"], grade=f["grade"], process=f["process"],
                requirement=f["requirement"], evidence=f["evidence"], statement=f["statement"])
            self.findings.append((finding, f))

    def _remedies(self, key: str, days: list[date], finished: dict[str, date]) -> None:
        """Nonconformities whose remedy is this stage's work: the record and the action first; the action done
        (with its evidence) only once the remedying task is done; verified by the consultant days later; closed."""
        dc = self.dc
        n = len(days)
        for finding, f in self.findings:
            if f["kind"] in ("observation", "opportunity"):
                if key == "implementation" and n > 4:
                    self.events.add(dc.at(days[int(n * 0.7)]), lambda fd=finding: ops.close_finding(
                        fd, "Decided: taken into the KPI set and reviewed at the management review; no action now.",
                        dc.actor(dc.consultant)))
                continue
            if f.get("remedy_stage") != key or n < 6:
                continue
            owner = dc.lead if f["grade"] == "major" else dc.staff
            record = int(n * 0.1)
            self.events.add(dc.at(days[record], 10, 12), lambda fd=finding, ff=f, o=owner, d=days[record]:
                            self._remedy_step("record", fd, ff, o, d))
            remedy_day = finished.get(f["remedy_task"])
            if remedy_day is None:
                continue  # the remedy is not in place yet: the action stays open
            done = max(int(n * 0.6), next((i for i, d in enumerate(days) if d > remedy_day), n), record + 1)
            for step, index, hours in (("done", done, (10, 12)), ("verify", done + 3, (10, 12)),
                                       ("close", done + 3, (14, 16))):
                if index >= n:
                    break
                self.events.add(dc.at(days[index], *hours), lambda s=step, fd=finding, ff=f, o=owner, d=days[index]:
                                self._remedy_step(s, fd, ff, o, d))

    def _remedy_step(self, step: str, finding: Finding, f: dict, owner: User, day: date) -> None:
        dc = self.dc
        if step == "record":
            ops.update_record(finding, replace(
                ops.RecordForm.of(finding), correction="Open cases from the sample put right the same week",
                correction_by=owner.name, correction_on=day.isoformat(), action_needed="yes",
                action_needed_reason="Systemic: the same gap would recur on every job", cause_method="category",
                cause_category=f["category"], root_cause=f["cause"],
                similar_elsewhere="Checked the other service lines: same practice, covered by the same action"),
                dc.actor(dc.lead))
            ops.add_action(finding, f["action"], owner, (day + timedelta(days=42)).isoformat(), dc.actor(dc.lead))
        elif step == "done":
            action = finding.actions[-1]
            _attach(action.task, f"closure-evidence-{finding.id}.txt",
                    f"Evidence for finding #{finding.id}: {finding.title}\nAction: {f['action']}\n"
                    f"Done on {day.isoformat()} by {owner.name}.\n".encode(), dc.actor(owner))
            ops.complete_action(finding, action, dc.actor(owner))
        elif step == "verify":
            ops.verify_action(finding, finding.actions[-1], day.isoformat(), "Sample of the following weeks' work",
                              "No repeat of the nonconformity in the sample", "effective", f["check"],
                              dc.actor(dc.consultant))
            ops.update_record(finding, ops.RecordForm.from_form({"closure_evidence": f["check"]}, finding),
                              dc.actor(dc.consultant))
        else:
            ops.close_finding(finding, f"Corrective action taken and verified effective: {f['check']}.",
                              dc.actor(dc.consultant))

    # --- the certification body ---
    def _certification(self, days: list[date], finished: dict[str, date]) -> None:
        dc = self.dc
        actor = dc.actor(dc.lead)
        if "certification_application" in finished:
            self.events.add(dc.at(finished["certification_application"], 9, 9), lambda: ops.save_application(
                ops.ApplicationForm(body=CB_NAME, accreditation="UKAS 0123", sector=self.sector["iaf"],
                                    headcount=str(12 + len(self.slug)), sites="1",
                                    scope_statement=self.sector["scope"].format(**self.values)), actor))
        s1, s2 = finished.get("stage1_audit"), finished.get("stage2_audit")
        if s1:
            self.events.add(dc.at(s1, 9, 9), lambda: ops.save_audit("stage_1", ops.AuditForm(
                held_on=s1.isoformat(), result="passed", reference=f"S1-{s1.year}-{len(self.slug):03d}"), actor))
            self.events.add(dc.at(s1, 15, 15), lambda: self._area_of_concern(s1, s2))
        if not s2:
            return
        ref = f"S2-{s2.year}-{len(self.slug) + 100:03d}"
        self.events.add(dc.at(s2, 9, 9), lambda: ops.save_audit("stage_2", ops.AuditForm(
            held_on=s2.isoformat(), result="minor", reference=ref), actor))
        minor = CB_MINORS.get(PROFILES[self.slug]["sector"], CB_MINORS["knowledge"])
        texts = {k: v.format(**self.values) for k, v in minor.items()}
        closed = finished.get("close_certification_findings")
        later = [d for d in days if d > s2 and (closed is None or d < closed)]
        decided = finished.get("record_certification_decision")
        self.events.add(dc.at(s2, 16, 16), lambda: self._cb_minor(texts, ref, later, decided))

    def _area_of_concern(self, s1: date, s2: date | None) -> None:
        """Stage 1's area of concern (an observation), closed on a decision before stage 2 where it was held."""
        dc = self.dc
        texts = {k: v.format(**self.values) for k, v in CB_AREA_OF_CONCERN.items()}
        finding = ops.raise_finding(
            "certification_audit", "", texts["title"], texts["clause"], "", dc.actor(dc.consultant),
            source="cb_stage_1", kind="observation", process=texts["process"], requirement=texts["requirement"],
            evidence=texts["evidence"], statement=texts["statement"], cb_reference=f"S1-{s1.year}/AoC1")
        if s2:
            addressed = max(s2 - timedelta(days=1), s1 + timedelta(days=1))
            self.events.add(dc.at(addressed, 10, 12), lambda: ops.close_finding(
                finding, "Decided: every process of the process map added to the audit programme and the two "
                "missing ones audited before stage 2.", dc.actor(dc.consultant)))

    def _cb_minor(self, texts: dict, ref: str, later: list[date], decided: date | None) -> None:
        dc = self.dc
        finding = ops.raise_finding(
            "certification_audit", "", texts["title"], texts["clause"], "", dc.actor(dc.consultant),
            source="cb_stage_2", kind="system_nonconformity", grade="minor", process=texts["process"],
            requirement=texts["requirement"], evidence=texts["evidence"], statement=texts["statement"],
            cb_reference=f"{ref}/NC1")
        if len(later) < 3:
            return
        plan_day, accepted = later[len(later) // 3], later[-1]

        def plan():
            ops.update_record(finding, replace(
                ops.RecordForm.of(finding), correction="The last two months analysed and the result shown to top management",
                correction_by=dc.lead.name, action_needed="yes", action_needed_reason="Systemic: nobody owned it",
                cause_method="five_whys", root_cause="Why not done? No one was asked to.\nWhy? No owner was named "
                                                     "when the KPIs were set up."), dc.actor(dc.lead))
            ops.add_action(finding, "Name the owner and add the monthly review to the management meeting agenda",
                           dc.staff, (accepted + timedelta(days=60)).isoformat(), dc.actor(dc.lead))

        self.events.add(dc.at(plan_day, 10, 12), plan)
        self.events.add(dc.at(accepted, 10, 12), lambda: ops.save_cb_response(
            finding, f"{ref}/NC1", plan_day.isoformat(), accepted.isoformat(), "next_audit", dc.actor(dc.lead)))
        if self.slug in CERTIFIED and decided:  # the decision, the morning its task is done
            self.events.add(dc.at(decided, 9, 9), lambda: self._decision(decided))

    def _decision(self, day: date) -> None:
        dc = self.dc
        ops.record_certification_decision("certified", CB_NAME, day, dc.actor(dc.consultant))
        ops.save_certificate(f"NGC-{day.year}-{len(self.slug) * 37:05d}",
                             self.sector["scope"].format(**self.values), day.isoformat(), "", dc.actor(dc.lead))
        certificate = db.session.scalar(select(Document).where(Document.key == "certificate"))
        if certificate is not None:
            ops.set_document_status(certificate, "approved", dc.actor(dc.consultant), "consultant")


def _attach(task: Task, filename: str, content: bytes, actor: ops.Actor) -> None:
    """A small generated evidence file on a task, stored as an upload is."""
    config = current_app.config
    ops.add_attachment(task, FileStorage(stream=io.BytesIO(content), filename=filename), actor, config["UPLOAD_ROOT"],
                       tenants.current_schema(), config["MAX_UPLOAD_MB"] << 20)
