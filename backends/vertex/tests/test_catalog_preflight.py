"""The vertex catalog refuses, before any upload or create, what the service would refuse after them.

The emulator logs every request it serves: an empty log proves nothing was staged and no
tuning job was sent.
"""

from __future__ import annotations

from typing import Any

import pytest

import tuneport
from tuneport.errors import SpecError, UnsupportedParameter
from tuneport_emulator import Emulator

PAIRS = [("1", "I"), ("2", "II"), ("3", "III")]


def test_an_epoch_count_over_the_maximum_is_refused_locally(emulator: Emulator, client_settings: Any) -> None:
    with tuneport.connect(**client_settings()) as client, pytest.raises(SpecError) as info:
        client.create(base_model="gemini-2.5-flash", training_data=PAIRS, epoch_count=101)
    assert info.value.field == "hyperparameters.epoch_count"
    assert "≤ 100" in str(info.value)
    assert emulator.requests() == []  # no upload, no create


def test_the_maximum_itself_is_accepted(emulator: Emulator, client_settings: Any) -> None:
    with tuneport.connect(**client_settings()) as client:
        job = client.create(base_model="gemini-2.5-flash", training_data=PAIRS, epoch_count=100)
    assert job.base_model == "gemini-2.5-flash"


def test_a_misspelt_model_is_refused_with_did_you_mean(emulator: Emulator, client_settings: Any) -> None:
    with tuneport.connect(**client_settings()) as client, pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="gemini-2.5-flsh", training_data=PAIRS)
    assert info.value.parameter == "base_model"
    assert "did you mean 'gemini-2.5-flash'" in str(info.value)
    assert emulator.requests() == []


def test_a_retired_model_is_refused_on_the_service_but_still_emulated(
    emulator: Emulator, client_settings: Any
) -> None:
    real = tuneport.validate(
        {"base_model": "gemini-2.0-flash-001", "training_data": PAIRS},
        backend="vertex",
        settings={"project": "demo-project", "location": "us-central1"},
        environ={},
    )
    refused = [p for p in real.problems if p.rule == "not-tunable"]
    assert refused, real.problems
    assert "retired" in refused[0].message
    with tuneport.connect(**client_settings()) as client:
        job = client.create(base_model="gemini-2.0-flash-001", training_data=PAIRS)
    assert job.base_model == "gemini-2.0-flash-001"
