"""Invalid job specs given to ``client.create()`` on each backend, against a running emulator.

Every case must raise a typed error (:class:`SpecError`,
:class:`UnsupportedParameter` or :class:`ConfigError`) naming the offending
field, and nothing may reach the emulator: no create, no dataset upload, not
even a read.  Hyperparameters are in test_bad_hyperparameters.py and dataset
contents in test_bad_datasets.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from badinput_helpers import BASE_MODELS, PAIRS, assert_names, assert_nothing_sent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport.client import TuningClient
from tuneport.errors import ConfigError, SpecError, TuneportError, UnsupportedParameter
from tuneport_emulator import Emulator

Connect = Callable[..., TuningClient]

#: (backend, fields replacing the valid defaults, error class, the field the error must name)
BAD_SPECS: list[tuple[str, dict[str, Any], type[TuneportError], str]] = [
    # base_model
    ("gemini", {"base_model": ""}, SpecError, "base_model"),
    ("vertex", {"base_model": ""}, SpecError, "base_model"),
    ("gemini", {"base_model": 5}, SpecError, "base_model"),
    ("vertex", {"base_model": None}, SpecError, "base_model"),
    ("vertex", {"base_model": " gemini-2.5-flash"}, SpecError, "base_model"),
    ("vertex", {"base_model": "gemini 2.5 flash"}, SpecError, "base_model"),
    ("gemini", {"base_model": "models/gemini-1.5-flash-001-tuning\n"}, SpecError, "base_model"),
    ("gemini", {"base_model": "models/gemini-9"}, UnsupportedParameter, "base_model"),
    ("gemini", {"base_model": "gemini-1.5-pro"}, UnsupportedParameter, "base_model"),
    ("gemini", {"base_model": "../models/gemini-1.0-pro-001"}, UnsupportedParameter, "base_model"),
    # training_data: missing, wrong type, empty
    ("gemini", {"training_data": None}, SpecError, "training_data"),
    ("vertex", {"training_data": 123}, SpecError, "training_data"),
    ("gemini", {"training_data": []}, SpecError, "training_data"),
    ("vertex", {"training_data": ""}, SpecError, "training_data"),
    ("gemini", {"training_data": "   "}, SpecError, "training_data"),
    ("vertex", {"training_data": {"1": "2"}}, SpecError, "training_data"),
    ("gemini", {"training_data": [("only an input",)]}, SpecError, "training_data"),
    ("vertex", {"training_data": [{"text_input": "q"}]}, SpecError, "training_data"),
    ("gemini", {"training_data": [("q", "a"), {"role": "user"}]}, SpecError, "training_data"),
    ("vertex", {"training_data": 4.5}, SpecError, "training_data"),
    # training_data: sources a backend does not read
    ("gemini", {"training_data": "gs://tuneport-staging/train.jsonl"}, UnsupportedParameter, "training_data"),
    ("gemini", {"training_data": "https://example.test/train.jsonl"}, UnsupportedParameter, "training_data"),
    ("vertex", {"training_data": "https://example.test/train.jsonl"}, SpecError, "training_data"),
    ("vertex", {"training_data": "s3://bucket/train.jsonl"}, SpecError, "training_data"),
    ("vertex", {"training_data": "gs://"}, SpecError, "training_data"),
    ("vertex", {"training_data": "gs://tuneport-staging"}, SpecError, "training_data"),
    ("vertex", {"training_data": "gs://tuneport-staging/"}, SpecError, "training_data"),
    ("vertex", {"training_data": "gs://Upper_Case/train.jsonl"}, SpecError, "training_data"),
    ("vertex", {"validation_data": "gs://x"}, SpecError, "validation_data"),
    ("vertex", {"validation_data": []}, SpecError, "validation_data"),
    ("gemini", {"validation_data": PAIRS}, UnsupportedParameter, "validation_data"),
    # names and labels
    ("gemini", {"display_name": "x" * 41}, SpecError, "display_name"),
    ("vertex", {"display_name": "x" * 129}, SpecError, "display_name"),
    ("gemini", {"display_name": 5}, SpecError, "display_name"),
    ("vertex", {"description": ["a", "list"]}, SpecError, "description"),
    ("vertex", {"labels": "team=ml"}, SpecError, "labels"),
    ("vertex", {"labels": {"team": 1}}, SpecError, "labels.team"),
    # backend extras
    ("gemini", {"extras": {"tuned_model_idd": "my-model"}}, SpecError, "extras.tuned_model_idd"),
    ("gemini", {"extras": {"tuned_model_id": "Bad_Id"}}, SpecError, "extras.tuned_model_id"),
    ("gemini", {"extras": {"tuned_model_id": "../escape"}}, SpecError, "extras.tuned_model_id"),
    ("gemini", {"extras": {"tuned_model_id": 7}}, SpecError, "extras.tuned_model_id"),
    ("gemini", {"extras": {"tuned_model_id": "a" * 41}}, SpecError, "extras.tuned_model_id"),
    ("gemini", {"extras": {"temperature": 5}}, SpecError, "extras.temperature"),
    ("gemini", {"extras": {"top_p": "high"}}, SpecError, "extras.top_p"),
    ("gemini", {"extras": {"top_k": 1.5}}, SpecError, "extras.top_k"),
    ("gemini", {"extras": {"temperature": float("nan")}}, SpecError, "extras.temperature"),
    ("vertex", {"extras": {"bogus": 1}}, SpecError, "extras.bogus"),
    ("vertex", {"extras": {"tuning_mode": "TUNING_MODE_SIDEWAYS"}}, SpecError, "extras.tuning_mode"),
    ("gemini", {"extras": "tuned_model_id=x"}, SpecError, "extras"),
    # unknown and mistyped fields
    ("gemini", {"epochs": 3}, SpecError, "epochs"),
    ("vertex", {"trainingData": "gs://tuneport-staging/train.jsonl"}, SpecError, "trainingData"),
    ("vertex", {"hyperparameters": "fast"}, SpecError, "hyperparameters"),
]


def spec_fields(backend: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A valid spec for ``backend`` with ``changes`` applied (``None`` removes a field)."""
    fields: dict[str, Any] = {"base_model": BASE_MODELS[backend], "training_data": PAIRS, **changes}
    return {key: value for key, value in fields.items() if value is not None}


@pytest.mark.parametrize(("backend", "changes", "error", "field"), BAD_SPECS)
def test_bad_spec_is_refused_by_name_before_any_request(
    connect: Connect,
    emulator: Emulator,
    backend: str,
    changes: dict[str, Any],
    error: type[TuneportError],
    field: str,
) -> None:
    client = connect(backend)
    with pytest.raises(error) as info:
        client.create(**spec_fields(backend, changes))
    assert_names(info.value, field)
    assert_nothing_sent(emulator)


# --- specs a vertex client cannot address or stage ------------------------------------------------------


def test_vertex_without_a_project_names_the_setting(connect: Connect, emulator: Emulator) -> None:
    client = connect("vertex", project=None)
    with pytest.raises(ConfigError) as info:
        client.create(**spec_fields("vertex", {}))
    assert_names(info.value, "project")
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("field", ["training_data", "validation_data"])
def test_vertex_local_data_without_a_staging_bucket(
    connect: Connect, emulator: Emulator, tmp_path: Path, field: str
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text('{"text_input": "q", "output": "a"}\n')
    client = connect("vertex", staging_bucket=None)
    uri = "gs://tuneport-staging/train.jsonl"
    changes = {"training_data": uri, field: data} if field == "validation_data" else {field: data}
    with pytest.raises(SpecError) as info:
        client.create(**spec_fields("vertex", changes))
    assert_names(info.value, field)
    assert_nothing_sent(emulator)


def test_spec_and_keywords_together_is_a_type_error(connect: Connect, emulator: Emulator) -> None:
    client = connect("gemini")
    spec = client.spec(**spec_fields("gemini", {}))
    with pytest.raises(TypeError, match="either a JobSpec or keywords"):
        client.create(spec, display_name="both")
    assert_nothing_sent(emulator)


# --- any display name ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=41, max_size=60))
def test_any_overlong_display_name_is_refused_on_gemini(
    connect: Connect, running_emulator: Emulator, name: str
) -> None:
    running_emulator.store.clear_requests()
    with pytest.raises(SpecError) as info:
        connect("gemini").create(**spec_fields("gemini", {"display_name": name}))
    assert_names(info.value, "display_name")
    assert_nothing_sent(running_emulator)
