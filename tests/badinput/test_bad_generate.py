"""Bad ``generate()`` requests on each backend, against a tuned model of the running emulator.

What the client can judge (types, ranges, NaN, infinity, unknown fields,
what a tuned Gemini API model cannot take) is refused with :class:`SpecError`
naming the field before any request.  What only the service knows (its own
limits) comes back as :class:`BadRequestError` whose message and
``BadRequest`` details name the field, after exactly one refused call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from badinput_helpers import GEMINI_MODEL_ID, assert_names, assert_nothing_sent

from tuneport.client import TuningClient
from tuneport.errors import BadRequestError, SpecError
from tuneport_emulator import Emulator

Connect = Callable[..., TuningClient]
FILE_PART = {"kind": "file", "uri": "gs://tuneport-staging/cat.png", "mime_type": "image/png"}

#: (prompt, other fields, the field named) refused by both backends before any request.
BAD_REQUESTS: list[tuple[Any, dict[str, Any], str]] = [
    (None, {}, "contents"),
    ([], {}, "contents"),
    (123, {}, "contents"),
    ([{"role": "assistant", "parts": "hi"}], {}, "contents.0.role"),
    ([{"role": "user"}], {}, "contents.0.parts"),
    ([{"role": "user", "parts": [{"kind": "image", "data": "AA=="}]}], {}, "contents.0.parts.0"),
    ("ping", {"temperature": -0.1}, "temperature"),
    ("ping", {"temperature": math.nan}, "temperature"),
    ("ping", {"temperature": math.inf}, "temperature"),
    ("ping", {"temperature": "hot"}, "temperature"),
    ("ping", {"temperature": True}, "temperature"),
    ("ping", {"top_p": 1.5}, "top_p"),
    ("ping", {"top_p": -0.1}, "top_p"),
    ("ping", {"top_p": math.nan}, "top_p"),
    ("ping", {"top_k": 0}, "top_k"),
    ("ping", {"top_k": 2.5}, "top_k"),
    ("ping", {"top_k": 2**31}, "top_k"),
    ("ping", {"max_output_tokens": -1}, "max_output_tokens"),
    ("ping", {"max_output_tokens": 10**12}, "max_output_tokens"),
    ("ping", {"max_output_tokens": False}, "max_output_tokens"),
    ("ping", {"candidate_count": 0}, "candidate_count"),
    ("ping", {"candidate_count": 2**31}, "candidate_count"),
    ("ping", {"stop_sequences": "STOP"}, "stop_sequences"),
    ("ping", {"stop_sequences": [1, 2]}, "stop_sequences.0"),
    ("ping", {"system_instruction": 5}, "system_instruction"),
    ("ping", {"response_mime_type": 5}, "response_mime_type"),
    ("ping", {"bogus": 1}, "bogus"),
    ("ping", {"generationConfig": {"temperature": 1}}, "generationConfig"),
    ("ping", {"extras": "x"}, "extras"),
]


@pytest.fixture
def target(vertex_job_id: str) -> Callable[[str], str]:
    """The tuned model to call on each backend."""
    return lambda backend: GEMINI_MODEL_ID if backend == "gemini" else vertex_job_id


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize(("prompt", "fields", "field"), BAD_REQUESTS)
def test_bad_request_is_refused_by_name_before_any_request(
    connect: Connect,
    emulator: Emulator,
    target: Callable[[str], str],
    backend: str,
    prompt: Any,
    fields: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(SpecError) as info:
        connect(backend).generate(target(backend), prompt, **fields)
    assert_names(info.value, field)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize(
    ("prompt", "fields", "field"),
    [
        ("x" * 40_001, {}, "contents"),
        ("ping", {"response_mime_type": "application/json"}, "response_mime_type"),
        ([{"role": "user", "parts": [FILE_PART]}], {}, "contents[0].parts[0]"),
    ],
    ids=["input too long", "JSON mode", "file part"],
)
def test_what_a_tuned_gemini_model_cannot_take_is_refused_locally(
    connect: Connect, emulator: Emulator, prompt: Any, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(SpecError) as info:
        connect("gemini").generate(GEMINI_MODEL_ID, prompt, **fields)
    assert_names(info.value, field)
    assert_nothing_sent(emulator)


# --- limits only the service knows ----------------------------------------------------------------------

SERVICE_REFUSALS = [
    ("gemini", {"temperature": 5}, "generation_config.temperature"),
    ("vertex", {"temperature": 5}, "generation_config.temperature"),
    ("gemini", {"temperature": 1e39}, "generation_config.temperature"),
    ("gemini", {"candidate_count": 9}, "generation_config.candidate_count"),
    ("vertex", {"candidate_count": 9}, "generation_config.candidate_count"),
    ("gemini", {"stop_sequences": ["."] * 6}, "generation_config.stop_sequences"),
    ("vertex", {"stop_sequences": ["."] * 6}, "generation_config.stop_sequences"),
    ("vertex", {"max_output_tokens": 100_000}, "generation_config.max_output_tokens"),
    ("gemini", {"system_instruction": "be brief"}, "system_instruction"),
]


@pytest.mark.parametrize(("backend", "fields", "field"), SERVICE_REFUSALS)
def test_service_refusal_is_a_typed_error_naming_the_field(
    connect: Connect,
    emulator: Emulator,
    target: Callable[[str], str],
    backend: str,
    fields: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(BadRequestError) as info:
        connect(backend).generate(target(backend), "ping", **fields)
    error = info.value
    assert error.status == "INVALID_ARGUMENT"
    violations = [
        violation["field"]
        for detail in error.body["error"].get("details", [])
        for violation in detail.get("fieldViolations", [])
    ]
    assert field in violations, violations
    generate_calls = [r for r in emulator.requests() if r["route"] and "generateContent" in r["route"]]
    assert [r["status"] for r in generate_calls] == [400]
