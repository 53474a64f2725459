"""The evidence pack's selection rule (workflows/evidence_pack.py): what goes in, where, and what is missing."""
from workflows import evidence_pack as wp

TITLES = {"7.5": "Documented information", "8.5": "Production and service provision", "9.1": "Monitoring, "
          "measurement, analysis and evaluation", "10.2": "Nonconformity and corrective action", "5.2": "Policy"}


def file(name, sha="ab" * 32):
    return wp.StoredFile(f"documents/{name}", name, sha, 10)


def doc(ref, identifier, title, *versions, clauses=("7.5.1",), kind="document", required=True, records=()):
    return wp.Document(ref, identifier, title, kind, clauses, required, "Mia Owner", tuple(versions), tuple(records))


def build(documents=(), findings=(), evidence=(), decisions=(), gap=()):
    return wp.build(documents, findings, evidence, decisions, gap, TITLES)


def test_only_the_effective_version_is_packed_and_the_superseded_ones_are_history():
    d = doc(1, "DOC-007", "Control of documents",
            wp.Version(1, "superseded", "Top Boss", "2026-01-02", file("v1.pdf")),
            wp.Version(2, "obsolete", "Top Boss", "2026-02-02", file("v2.pdf")),
            wp.Version(3, "approved", "Top Boss", "2026-03-02", file("v3.pdf")),
            wp.Version(4, "draft"))
    pack = build([d])
    assert [i.path for i in pack.files] == ["7.5 Documented information/DOC-007 Control of documents v3.pdf"]
    assert pack.files[0].file.storage_path == "documents/v3.pdf" and pack.files[0].approver == "Top Boss"
    listed = [(i.kind, i.title, i.path) for i in pack.sections[0].items]
    assert ("history", "DOC-007 Control of documents v1 (superseded)", None) in listed
    assert ("history", "DOC-007 Control of documents v2 (obsolete)", None) in listed
    assert not any("v4" in title for _, title, _ in listed)  # a draft is neither packed nor listed
    assert pack.missing == []


def test_an_item_of_several_clauses_is_packed_once_under_its_first_and_listed_under_each():
    d = doc(1, "QP-01", "Quality policy", wp.Version(1, "approved", "Top Boss", "2026-01-02", file("p.pdf")),
            clauses=("5.2", "7.5.3", "8.5.1"))
    pack = build([d])
    assert [i.path for i in pack.files] == ["5.2 Policy/QP-01 Quality policy v1.pdf"]
    assert [s.heading for s in pack.sections] == ["5.2 Policy", "7.5 Documented information",
                                                  "8.5 Production and service provision"]
    assert all(s.items[0].path == "5.2 Policy/QP-01 Quality policy v1.pdf" for s in pack.sections)


def test_every_record_instance_goes_in_with_its_date():
    r = doc(2, "REC-004", "KPI report", kind="record", clauses=("9.1.3",), records=[
        wp.RecordInstance("2026-01-31", "Ann"), wp.RecordInstance("2026-02-28", "Ann", file=file("feb.xlsx")),
        wp.RecordInstance("2026-03-31", "Ann", file=file("mar.pdf"))])
    pack = build([r])
    folder = "9.1 Monitoring, measurement, analysis and evaluation"
    assert [i.path for i in pack.files] == [f"{folder}/REC-004 KPI report 2026-02-28.xlsx",
                                            f"{folder}/REC-004 KPI report 2026-03-31.pdf"]
    assert [i.detail for i in pack.sections[0].items] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert pack.sections[0].items[0].path is None  # an instance without a file is listed, not lost


def test_missing_names_documents_without_an_effective_version_records_without_instances_and_closed_findings():
    pack = build(
        [doc(1, "DOC-001", "Scope", wp.Version(1, "draft")),
         doc(2, "DOC-002", "Optional guide", required=False),
         doc(3, "REC-001", "Training record", kind="record", clauses=("7.2",))],
        findings=[wp.Finding(5, "No calibration", ("7.1.5",), "minor", "closed", "2026-01-01", "2026-02-01"),
                  wp.Finding(6, "Late reviews", ("9.3",), "minor", "closed", "2026-01-01", "2026-02-01",
                             closure_evidence="Minutes of 2026-02-01"),
                  wp.Finding(7, "Open one", ("8.4",), "major", "open", "2026-01-01"),
                  wp.Finding(8, "Evidenced by a file", ("8.4",), "minor", "closed", "2026-01-01", "2026-02-01",
                             evidence_files=1)])
    assert [(m.what, m.why) for m in pack.missing] == [
        ("DOC-001 Scope", "required document with no effective version"),
        ("REC-001 Training record", "required record with no instance"),
        ("Finding #5 No calibration", "closed with no evidence of its closure")]
    by_clause = {s.clause: [m.what for m in s.missing] for s in pack.sections}
    assert by_clause["7.5"] == ["DOC-001 Scope"] and by_clause["7.1"] == ["Finding #5 No calibration"]


def test_findings_list_their_actions_and_verification_and_decisions_their_justification():
    f = wp.Finding(3, "Supplier not evaluated", wp.split_clauses("8.4.1, 8.4.2"), "major", "closed", "2026-01-01",
                   "2026-03-01", closure_evidence="Evaluation form",
                   actions=(wp.Action("Evaluate suppliers", "Bob", True, "effective", "Carol"),))
    pack = build(findings=[f], decisions=[wp.Decision("Design and development", ("8.3",), "We design nothing.")])
    items = {i.kind: i for s in pack.sections for i in s.items}
    assert "Evaluate suppliers (Bob; done; verified effective by Carol)" in items["finding"].note
    assert items["finding"].clauses == ("8.4.1", "8.4.2") and pack.files == []
    assert items["decision"].note == "We design nothing."


def test_evidence_is_named_readably_and_names_are_made_safe_and_unique():
    ev = [wp.Evidence(i, "Calibrate: the tools/gauges", ("7.1.5",), "Sam", "2026-01-0%d" % (i + 1),
                      wp.StoredFile(f"attachments/{i}", "cert.PDF", "cd" * 32, 5)) for i in range(3)]
    pack = build(evidence=ev)
    assert [i.path for i in pack.files] == ["7.1/Calibrate the tools gauges - cert.pdf",
                                            "7.1/Calibrate the tools gauges - cert (2).pdf",
                                            "7.1/Calibrate the tools gauges - cert (3).pdf"]
    assert wp.safe_name("../../etc\x00/passwd") == "etc passwd" and wp.safe_name("...") == "untitled"


def test_untagged_items_go_in_general_last_and_text_only_versions_are_packed_as_text():
    d = doc(9, "DOC-009", "Handbook", wp.Version(2, "approved", "Ann", "2026-01-01", has_text=True), clauses=())
    pack = build([d], gap=[wp.GapRating("4.1", "Conforming", "Ann", "2026-01-01")])
    assert [s.clause for s in pack.sections] == ["4.1", "General"]
    assert pack.files[0].path == "General/DOC-009 Handbook v2.txt" and pack.files[0].text_of == (9, 2)
