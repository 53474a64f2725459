"""Demo texts: comments on tasks, small generated evidence files and the reason an excluded requirement does not
apply. Filled with the client's facts (app/demo_sectors.py)."""
from __future__ import annotations

from datetime import date

# task key → (the consultant's question, the client's answer)
COMMENTS = {
    "collect_existing_information": ("Could you share the {tool} export of last quarter's {unit}s? It shows how the "
                                     "work actually runs.", "Uploaded the export; {director} has the contracts folder."),
    "quality_policy": ("The draft says “exceed expectations”: can we tie it to something {short} measures?",
                       "Reworded around on-time {unit}s and complaints; {director} is happy with it."),
    "risk_register": ("Losing a key client and {tool} going down are missing from the register.",
                      "Both added, with an owner and a review date."),
    "supplier_evaluation": ("Who are the three providers that matter most for {unit}s?",
                            "Listed and scored them; the spreadsheet is attached to this task."),
    "competence_and_training": ("Does the matrix cover temporary and part-time people too?",
                                "Yes, added them this week; two refresher sessions booked."),
    "customer_satisfaction_survey": ("Send the survey after the {unit} is closed, not before.",
                                     "Changed the trigger in {tool}; first results are in."),
    "conduct_internal_audits": ("I'll audit operations; can someone who doesn't work in sales audit sales?",
                                "{director} will audit sales, with the checklist you sent."),
    "stage1_audit": ("The body asked for the scope wording and the N/A reasons before stage 1.",
                     "Sent both on Monday; the auditor confirmed the date."),
}

# task key → (file name, a function of the facts and the day giving the file's text)
EVIDENCE = {
    "supplier_evaluation": ("approved-providers-{day}.csv", lambda v, d: (
        "provider,what they supply,criteria,score (of 5),evaluated on\n"
        f"{v['tool']},software,availability; support response,4,{d}\n"
        f"Key subcontractor,{v['unit']} capacity,on time; quality; insurance,4,{d}\n"
        f"Office supplies,stationery,not critical: no evaluation needed,-,{d}\n")),
    "competence_and_training": ("competence-matrix-{day}.csv", lambda v, d: (
        "person,role,required competence,evidence,next review\n"
        f"{v['director']},top management,QMS awareness,briefing {d},{d}\n"
        f"Team lead,{v['unit']} delivery,playbook; {v['tool']},training record,{d}\n")),
    "customer_satisfaction_survey": ("customer-survey-results-{day}.csv", lambda v, d: (
        "question,responses,score 4-5 (%)\n"
        f"Overall satisfaction with the {v['unit']},{v['n'] * 3},88\nWould recommend us,{v['n'] * 3},81\n")),
    "internal_audit_report": ("internal-audit-report-{day}.txt", lambda v, d: (
        f"Internal audit report — {v['short']}\nDate: {d}\nScope: all processes and clauses 4–10\n"
        "Conclusion: the system conforms and is effectively implemented, with the findings recorded in ISOpath.\n")),
    "management_review": ("management-review-agenda-{day}.txt", lambda v, d: (
        f"Management review — {v['short']}, {d}\nChair: {v['director']}\nInputs: actions from before, changes, "
        "customer feedback, objectives, process performance, nonconformities, audit results, providers, "
        "resources, risks, improvement.\n")),
}


def evidence_file(task_key: str, values: dict, day: date) -> tuple[str, bytes] | None:
    made = EVIDENCE.get(task_key)
    if made is None:
        return None
    name, text = made
    return name.format(day=day.isoformat()), text(values, day.isoformat()).encode()


def na_reason(scope: str) -> str:
    return (f"Scope: {scope}. The firm works to each client's contract specification and designs no services "
            "of its own, so design and development (8.3) does not apply; the exclusion and its reason are stated "
            "in the QMS scope and do not affect conformity of the services.")
