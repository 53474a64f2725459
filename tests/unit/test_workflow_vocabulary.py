import workflows as wf
from workflows import vocabulary


def test_task_statuses_and_labels():
    assert wf.TASK_STATUSES == ("todo", "in_progress", "done", "not_applicable")
    assert wf.TASK_STATUS_LABELS == {
        "todo": "To do",
        "in_progress": "In progress",
        "done": "Done",
        "not_applicable": "Not applicable",
    }
    assert wf.OPEN_TASK_STATUSES == ("todo", "in_progress")
    assert wf.FINISHED_TASK_STATUSES == ("done", "not_applicable")


def test_document_statuses_and_labels():
    assert wf.DOCUMENT_STATUSES == ("draft", "in_review", "approved", "obsolete")
    assert wf.DOCUMENT_STATUS_LABELS == {
        "draft": "Draft",
        "in_review": "In review",
        "approved": "Approved",
        "obsolete": "Obsolete",
    }


def test_findings_and_decisions():
    assert wf.FINDING_SEVERITIES == ("major", "minor", "observation", "opportunity")
    assert wf.FINDING_SEVERITY_LABELS == {
        "major": "Major",
        "minor": "Minor",
        "observation": "Observation",
        "opportunity": "Opportunity",
    }
    assert wf.FINDING_STATUSES == ("open", "closed")
    assert wf.FINDING_STATUS_LABELS == {"open": "Open", "closed": "Closed"}
    assert wf.OPEN_FINDING_STATUSES == ("open",)
    assert wf.CERTIFICATION_DECISION_LABELS == {
        "certified": "Certified",
        "not_certified": "Not certified",
        "pending": "Pending",
    }
    assert wf.STAGE_STATUSES == ("upcoming", "current", "passed")


def test_labels_follow_the_statuses_in_order_and_the_sets_partition_them():
    for values, labels in (
        (wf.TASK_STATUSES, wf.TASK_STATUS_LABELS),
        (wf.DOCUMENT_STATUSES, wf.DOCUMENT_STATUS_LABELS),
        (wf.FINDING_SEVERITIES, wf.FINDING_SEVERITY_LABELS),
        (wf.FINDING_STATUSES, wf.FINDING_STATUS_LABELS),
        (wf.CERTIFICATION_DECISIONS, wf.CERTIFICATION_DECISION_LABELS),
    ):
        assert tuple(labels) == values
    assert sorted(wf.OPEN_TASK_STATUSES + wf.FINISHED_TASK_STATUSES) == sorted(wf.TASK_STATUSES)
    assert set(wf.OPEN_FINDING_STATUSES) < set(wf.FINDING_STATUSES)


def test_the_package_exports_the_vocabulary_itself():
    for name in (
        "TASK_STATUSES",
        "TASK_STATUS_LABELS",
        "OPEN_TASK_STATUSES",
        "DOCUMENT_STATUS_LABELS",
        "FINDING_SEVERITY_LABELS",
        "CERTIFICATION_DECISIONS",
    ):
        assert getattr(wf, name) is getattr(vocabulary, name)
        assert name in wf.__all__
