"""The example backend passes the contract kit."""

from __future__ import annotations

import uuid

import pytest

from tuneport.models import JobState
from tuneport_contract import BackendContract, Harness
from tuneport_inmemory import InMemoryService, service

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]


class Backdoor:
    """Seeds jobs and moves the in-memory service's clock."""

    def __init__(self, target: InMemoryService) -> None:
        self.target = target

    def seed(self, state: JobState) -> str:
        return self.target.seed(state.value, PAIRS)

    def advance(self, seconds: float) -> None:
        self.target.advance(seconds)


class TestInMemoryContract(BackendContract):
    @pytest.fixture
    def contract_harness(self) -> Harness:
        namespace = f"contract-{uuid.uuid4().hex}"  # a fresh service per test
        return Harness(
            connect={"backend": "inmemory", "namespace": namespace, "environ": {}},
            spec={"base_model": "inmemory-base", "training_data": PAIRS, "epoch_count": 2},
            backdoor=Backdoor(service(namespace)),
            prompt="IV",
        )
