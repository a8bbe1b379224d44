"""The AIP-160 subset the Vertex list methods accept, as a unit."""

from __future__ import annotations

from typing import Any

import pytest

from tuneport_emulator.vertex.filters import FilterField, compile_filter
from tuneport_emulator.vertex.jobs import JOB_FIELDS
from tuneport_emulator.wire import ApiError

FIELDS = {
    **JOB_FIELDS,
    "parents": FilterField("parents", "list"),
    "step": FilterField("step", "number"),
}
RECORD: dict[str, Any] = {
    "state": "JOB_STATE_RUNNING",
    "labels": {"team": "ml", "env-name": "prod"},
    "display_name": "number generator",
    "base_model": "gemini-2.5-flash",
    "create_time": 1717200000.0,
    "parents": ["a", "b"],
    "step": 5,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("state=JOB_STATE_RUNNING", True),
        ('state = "JOB_STATE_RUNNING"', True),
        ("state=3", True),
        ("state!=JOB_STATE_RUNNING", False),
        ("labels.team=ml", True),
        ("labels.team='ml'", True),
        ("labels.env-name:*", True),
        ("labels.other:*", False),
        ("labels:team", True),
        ('display_name="number*"', True),
        ('display_name="number"', False),
        ('tunedModelDisplayName:"number generator"', True),
        ("state=JOB_STATE_RUNNING labels.team=ml", True),  # juxtaposition is AND
        ("state=JOB_STATE_FAILED OR labels.team=ml", True),
        ("state=JOB_STATE_FAILED AND labels.team=ml OR labels.team=x", False),  # OR binds tighter
        ("(state=JOB_STATE_FAILED AND labels.team=ml) OR labels.team=ml", True),
        ("NOT state=JOB_STATE_FAILED", True),
        ("-labels.team:*", False),
        ('create_time>="2024-06-01T00:00:00Z"', True),
        ('create_time<"2024-06-01T00:00:00Z"', False),
        ('parents:"b"', True),
        ("parents:c", False),
        ("step>4 AND step<=5", True),
        ("base_model:*", True),
    ],
)
def test_filters(text: str, expected: bool) -> None:
    assert compile_filter(text, FIELDS)(RECORD) is expected


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        ("state", "must be compared"),
        ("state=", "expected a value"),
        ("state=NOPE", "not a value of state"),
        ("state>JOB_STATE_RUNNING", "only = and !="),
        ("colour=red", "unknown field 'colour'"),
        ("labels=x", "is a map"),
        ("state.x=1", "has no member"),
        ("parents=a", "use ':'"),
        ('state="unterminated', "unterminated string"),
        ("(state=JOB_STATE_RUNNING", "missing ')'"),
        ("state=JOB_STATE_RUNNING)", "unexpected ')'"),
        ("create_time>yesterday", "RFC 3339"),
        ("step>many", "not a number"),
        ("a ! b", "unexpected '!'"),
        ("AND", "expected a field name"),
    ],
)
def test_bad_filters(text: str, contains: str) -> None:
    with pytest.raises(ApiError) as caught:
        compile_filter(text, FIELDS)
    assert caught.value.status == "INVALID_ARGUMENT"
    assert contains in caught.value.message
