"""Fixtures the workflow unit tests share."""
import pytest

from workflows import copy_template, load_template


@pytest.fixture(scope="module")
def template():
    """The shipped ISO 9001:2015 template."""
    return load_template()


@pytest.fixture
def copy(template):
    """A consultancy's own copy of it."""
    return copy_template(template, "acme-9001", "Acme consulting — ISO 9001")
