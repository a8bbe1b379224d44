"""The vertex backend passes the contract kit against the embedded emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tuneport.emulator import Emulator, EmulatorClock
from tuneport.models import JobState
from tuneport_contract import BackendContract, Harness

PROJECT = "tuneport-contract"
PARENT = f"projects/{PROJECT}/locations/us-central1"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("twenty two", "twenty three")]
_STATES = {
    JobState.SUCCEEDED: "JOB_STATE_SUCCEEDED",
    JobState.FAILED: "JOB_STATE_FAILED",
    JobState.RUNNING: "JOB_STATE_RUNNING",
}


class EmulatorBackdoor:
    """Seeds tuning jobs in any state and moves the emulator's clock."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def seed(self, state: JobState) -> str:
        error = {"code": 3, "message": "seeded failure"} if state is JobState.FAILED else None
        job = self.emulator.seed_vertex_job(
            {
                "baseModel": "gemini-2.5-flash",
                "supervisedTuningSpec": {"trainingDatasetUri": "gs://seeded/t.jsonl"},
            },
            parent=PARENT,
            state=_STATES[state],
            progress=0.5 if state is JobState.RUNNING else None,
            error=error,
            examples=PAIRS,
        )
        return str(job["name"]).rsplit("/", 1)[-1]

    def advance(self, seconds: float) -> None:
        self.emulator.advance(seconds)


@pytest.fixture
def contract_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as running:
        yield running


class TestVertexContract(BackendContract):
    @pytest.fixture
    def contract_harness(self, contract_emulator: Emulator) -> Harness:
        return Harness(
            connect={
                "backend": "vertex",
                "endpoint": contract_emulator.url,
                "emulator": True,
                "project": PROJECT,
                "location": "us-central1",
                "staging_bucket": "gs://tuneport-contract",
                "environ": {},
            },
            spec={"base_model": "gemini-2.5-flash", "training_data": PAIRS, "epoch_count": 1},
            backdoor=EmulatorBackdoor(contract_emulator),
            prompt="IV",
        )
