"""Hyperparameters out of range, of the wrong type, NaN or infinite, negative, or unsupported per backend.

Each case goes through ``client.create()`` against a running emulator and
must raise :class:`SpecError` (invalid value) or :class:`UnsupportedParameter`
(a hyperparameter the backend or base model does not take) naming
``hyperparameters.<name>``, with no request reaching the emulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from badinput_helpers import BASE_MODELS, PAIRS, assert_names, assert_nothing_sent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport.client import TuningClient
from tuneport.errors import SpecError, TuneportError, UnsupportedParameter
from tuneport.models import JobState
from tuneport_emulator import Emulator

Connect = Callable[..., TuningClient]
INT32_OVERFLOW = 2**31

#: (backend, the value of one hyperparameter, error class); the field is ``hyperparameters.<name>``.
BAD_VALUES: list[tuple[str, str, Any, type[TuneportError]]] = [
    # gemini: epoch_count, batch_size, learning_rate, learning_rate_multiplier
    ("gemini", "epoch_count", 0, SpecError),
    ("gemini", "epoch_count", -1, SpecError),
    ("gemini", "epoch_count", 2.5, SpecError),
    ("gemini", "epoch_count", "three", SpecError),
    ("gemini", "epoch_count", True, SpecError),
    ("gemini", "epoch_count", INT32_OVERFLOW, SpecError),
    ("gemini", "epoch_count", 10**30, SpecError),
    ("gemini", "epoch_count", [3], SpecError),
    ("gemini", "epoch_count", math.inf, SpecError),
    ("gemini", "batch_size", 0, SpecError),
    ("gemini", "batch_size", -4, SpecError),
    ("gemini", "batch_size", 10**12, SpecError),
    ("gemini", "batch_size", "4.5", SpecError),
    ("gemini", "batch_size", False, SpecError),
    ("gemini", "batch_size", {"size": 4}, SpecError),
    ("gemini", "learning_rate", 0, SpecError),
    ("gemini", "learning_rate", -0.001, SpecError),
    ("gemini", "learning_rate", math.nan, SpecError),
    ("gemini", "learning_rate", math.inf, SpecError),
    ("gemini", "learning_rate", -math.inf, SpecError),
    ("gemini", "learning_rate", "fast", SpecError),
    ("gemini", "learning_rate", True, SpecError),
    ("gemini", "learning_rate", "NaN", SpecError),
    ("gemini", "learning_rate", "Infinity", SpecError),
    ("gemini", "learning_rate", 1e39, SpecError),
    ("gemini", "learning_rate_multiplier", 0.0, SpecError),
    ("gemini", "learning_rate_multiplier", math.nan, SpecError),
    ("gemini", "learning_rate_multiplier", math.inf, SpecError),
    ("gemini", "learning_rate_multiplier", -2, SpecError),
    ("gemini", "adapter_size", 4, UnsupportedParameter),
    # vertex: epoch_count, learning_rate_multiplier, adapter_size
    ("vertex", "epoch_count", 0, SpecError),
    ("vertex", "epoch_count", True, SpecError),
    ("vertex", "epoch_count", INT32_OVERFLOW, SpecError),
    ("vertex", "epoch_count", "1e3", SpecError),
    ("vertex", "learning_rate_multiplier", 0, SpecError),
    ("vertex", "learning_rate_multiplier", -0.5, SpecError),
    ("vertex", "learning_rate_multiplier", math.nan, SpecError),
    ("vertex", "learning_rate_multiplier", math.inf, SpecError),
    ("vertex", "learning_rate_multiplier", "x", SpecError),
    ("vertex", "adapter_size", 3, SpecError),
    ("vertex", "adapter_size", 32, SpecError),
    ("vertex", "adapter_size", 0, SpecError),
    ("vertex", "adapter_size", -2, SpecError),
    ("vertex", "adapter_size", "four", SpecError),
    ("vertex", "adapter_size", 4.5, SpecError),
    ("vertex", "batch_size", 4, UnsupportedParameter),
    ("vertex", "learning_rate", 0.001, UnsupportedParameter),
]


def create_with(client: TuningClient, backend: str, **fields: Any) -> Any:
    return client.create(base_model=BASE_MODELS[backend], training_data=PAIRS, **fields)


@pytest.mark.parametrize(("backend", "name", "value", "error"), BAD_VALUES)
def test_bad_hyperparameter_is_refused_by_name_before_any_request(
    connect: Connect, emulator: Emulator, backend: str, name: str, value: Any, error: type[TuneportError]
) -> None:
    with pytest.raises(error) as info:
        create_with(connect(backend), backend, **{name: value})
    assert_names(info.value, f"hyperparameters.{name}")
    assert_nothing_sent(emulator)


@pytest.mark.parametrize(
    ("backend", "base_model", "table", "field"),
    [
        (
            "gemini",
            None,
            {"learning_rate": 0.001, "learning_rate_multiplier": 1.0},
            "learning_rate_multiplier",
        ),
        ("vertex", "gemini-2.5-pro", {"adapter_size": 16}, "adapter_size"),
        ("gemini", None, {"epochs": 3}, "epochs"),
        ("vertex", None, {"warmup_steps": 10}, "warmup_steps"),
        ("vertex", None, {"": 1}, ""),
    ],
    ids=["exclusive pair", "adapter size the model lacks", "misspelt", "unknown", "empty name"],
)
def test_bad_hyperparameter_table_is_refused_by_name(
    connect: Connect,
    emulator: Emulator,
    backend: str,
    base_model: str | None,
    table: dict[str, Any],
    field: str,
) -> None:
    client = connect(backend)
    with pytest.raises(SpecError) as info:
        client.create(
            base_model=base_model or BASE_MODELS[backend], training_data=PAIRS, hyperparameters=table
        )
    assert_names(info.value, f"hyperparameters.{field}")
    assert_nothing_sent(emulator)


# --- any value at all ------------------------------------------------------------------------------------

any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["epoch_count", "batch_size", "learning_rate", "learning_rate_multiplier"]),
    value=any_value,
)
def test_any_gemini_hyperparameter_is_created_or_refused_before_sending(
    connect: Connect, running_emulator: Emulator, name: str, value: Any
) -> None:
    """Whatever the value: a job the emulator accepts, or a typed refusal that sent nothing."""
    client = connect("gemini")
    running_emulator.store.clear_requests()
    try:
        job = create_with(client, "gemini", **{name: value})
    except (SpecError, UnsupportedParameter) as refused:
        assert_names(refused, f"hyperparameters.{name}")
        assert_nothing_sent(running_emulator)
    else:
        assert job.state is JobState.RUNNING
        running_emulator.store.clear_requests()
        client.delete(job.id)
