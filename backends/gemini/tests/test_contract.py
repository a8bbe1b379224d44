"""The gemini backend passes the contract kit against the embedded emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tuneport.models import JobState
from tuneport_contract import BackendContract, Harness
from tuneport_emulator import Emulator, EmulatorClock

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("twenty two", "twenty three")]
BASE = "models/gemini-1.5-flash-001-tuning"
KEY = "AIzaSyCONTRACTCANARY00000000000000000000"
_SEEDED_STATES = {JobState.SUCCEEDED: "ACTIVE", JobState.FAILED: "FAILED", JobState.RUNNING: "CREATING"}


class EmulatorBackdoor:
    """Seeds tuned models in any state and moves the emulator's clock."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def seed(self, state: JobState) -> str:
        model: dict[str, Any] = {
            "baseModel": BASE,
            "displayName": "seeded",
            "tuningTask": {
                "trainingData": {"examples": {"examples": [{"textInput": q, "output": a} for q, a in PAIRS]}}
            },
        }
        error = {"code": 3, "message": "seeded failure"} if state is JobState.FAILED else None
        progress = 0.5 if state is not JobState.SUCCEEDED else None
        seeded = self.emulator.seed_gemini_model(
            model, state=_SEEDED_STATES[state], progress=progress, error=error
        )
        return str(seeded["name"]).removeprefix("tunedModels/")

    def advance(self, seconds: float) -> None:
        self.emulator.advance(seconds)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual(), require_key=KEY) as running:
        yield running


class TestGeminiContract(BackendContract):
    @pytest.fixture
    def contract_harness(self, emulator: Emulator) -> Harness:
        return Harness(
            connect={
                "backend": "gemini",
                "endpoint": emulator.url,
                "emulator": True,
                "api_key": KEY,
                "environ": {},
            },
            spec={"base_model": BASE, "training_data": PAIRS, "epoch_count": 1, "batch_size": 2},
            backdoor=EmulatorBackdoor(emulator),
            secrets=[KEY],
            prompt="IV",
        )
