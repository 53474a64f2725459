import pytest

from workflows import STAGE_KEYS, is_before, next_stage, stage_index, stage_label
from workflows.stages import previous_stage


def test_five_stages_in_order_with_labels():
    assert STAGE_KEYS == (
        "initial_audit",
        "system_design",
        "implementation",
        "internal_audit",
        "certification_audit",
    )
    assert stage_label("initial_audit") == "Initial audit (gap analysis)"
    assert stage_label("certification_audit") == "Certification audit"


def test_index_next_previous_and_ordering():
    assert [stage_index(k) for k in STAGE_KEYS] == [0, 1, 2, 3, 4]
    assert next_stage("initial_audit") == "system_design"
    assert next_stage("certification_audit") is None
    assert previous_stage("initial_audit") is None
    assert previous_stage("implementation") == "system_design"
    assert is_before("system_design", "internal_audit")
    assert not is_before("internal_audit", "system_design")
    assert not is_before("implementation", "implementation")


@pytest.mark.parametrize("fn", [stage_index, stage_label, next_stage])
def test_unknown_stage_is_rejected(fn):
    with pytest.raises(ValueError, match="Unknown stage"):
        fn("stage_two")
