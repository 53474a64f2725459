"""Building client states and template items for the workflow tests."""

from dataclasses import replace

import pytest

from workflows import TaskTemplate, approve_gate, copy_template, load_template, new_client_state


def finish_stage(state, stage_key):
    """Every task of the stage done and every document approved."""
    return replace(
        state,
        tasks=tuple(replace(t, status="done") if t.stage == stage_key else t for t in state.tasks),
        documents=tuple(replace(d, status="approved") if d.stage == stage_key else d for d in state.documents),
    )


def client_in(template, stage_key):
    """A client who has passed every gate before `stage_key`."""
    state = new_client_state(template)
    while state.current_stage != stage_key:
        state = approve_gate(template, finish_stage(state, state.current_stage), state.current_stage)
    return state


def set_task(state, key, status):
    return replace(state, tasks=tuple(replace(t, status=status) if t.key == key else t for t in state.tasks))


def set_document(state, key, status):
    return replace(state, documents=tuple(replace(d, status=status) if d.key == key else d for d in state.documents))


def codes(result):
    return [u.code for u in result.unmet]


def task_state(state, key):
    return next(t for t in state.tasks if t.key == key)


def new_task(key="kickoff_lunch", **overrides):
    fields = dict(
        key=key,
        title="Kick-off lunch with the whole team",
        guidance="Explain why the company is going for ISO 9001. Keep it short.",
        clauses=("7.3",),
        role="client_admin",
        duration_days=1,
        required=False,
    )
    fields.update(overrides)
    return TaskTemplate(**fields)


# Fixtures the workflow tests share; a test module takes them with `from workflow_helpers import copy, template`.
@pytest.fixture(scope="module")
def template():
    """The shipped ISO 9001:2015 template at version 2: these tests are about the gate rules of tasks,
    documents, findings and sign-off, so they pin the version whose gates apply only those (version 3's
    evidence criteria have their own tests, which load it by number)."""
    return load_template("iso9001-2015", 2)


@pytest.fixture
def copy(template):
    """A consultancy's own copy of it."""
    return copy_template(template, "acme-9001", "Acme consulting — ISO 9001")
