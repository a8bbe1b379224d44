"""The acme backend passes tuneport's contract kit, through both clients, on the fake service."""

from __future__ import annotations

import pytest
from fake_acme import KEY, PAIRS, FakeAcme

from tuneport.plugins import PluginHost
from tuneport_contract import BackendContract, Harness


class TestAcmeContract(BackendContract):
    @pytest.fixture
    def contract_harness(self, host: PluginHost, acme: FakeAcme) -> Harness:
        return Harness(
            connect={
                "backend": "acme",
                "plugins": host,
                "api_key": KEY,
                "environ": {},
                "transport": acme.transport(),
            },
            spec={"base_model": "acme-small-2", "training_data": PAIRS, "epoch_count": 2},
            backdoor=acme,  # seed(state) -> job id; advance(seconds)
            secrets=[KEY],
            prompt="3",
        )
