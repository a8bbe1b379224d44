"""The vertex catalog refuses, before any upload or create, what the service would refuse after them.

The emulator logs every request it serves: an empty log proves nothing was staged and no
tuning job was sent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.errors import SpecError, UnsupportedCapability, UnsupportedParameter
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


def test_a_model_past_its_tuning_cutoff_is_refused_before_any_upload(
    emulator: Emulator, client_settings: Any, tmp_path: Path
) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    retires = today + dt.timedelta(days=7)
    config = tmp_path / "tuneport.toml"
    config.write_text(f'[catalog.vertex."gemini-2.5-flash"]\ndiscontinued = {retires.isoformat()}\n')
    with (
        tuneport.connect(**client_settings(config=config)) as client,
        pytest.raises(UnsupportedCapability) as info,
    ):
        client.create(base_model="gemini-2.5-flash", training_data=PAIRS)
    ended = retires - dt.timedelta(days=30)
    assert f"new tuning on gemini-2.5-flash ended on {ended}, 30 days before it retires on {retires}" in str(
        info.value
    )
    assert emulator.requests() == []


def test_3_1_flash_lite_tunes_only_where_google_tunes_it(emulator: Emulator, client_settings: Any) -> None:
    elsewhere = client_settings(location="asia-east1")
    with tuneport.connect(**elsewhere) as client, pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="gemini-3.1-flash-lite", training_data=PAIRS)
    assert info.value.parameter == "location"
    assert "us-central1, europe-west4" in str(info.value)
    assert emulator.requests() == []
    with tuneport.connect(**client_settings(location="europe-west4")) as client:
        job = client.create(base_model="gemini-3.1-flash-lite", training_data=PAIRS, epoch_count=2)
    assert job.base_model == "gemini-3.1-flash-lite"


def test_3_5_flash_tunes(emulator: Emulator, client_settings: Any) -> None:
    with tuneport.connect(**client_settings()) as client:
        job = client.create(base_model="gemini-3.5-flash", training_data=PAIRS, adapter_size=4)
    assert job.base_model == "gemini-3.5-flash"
