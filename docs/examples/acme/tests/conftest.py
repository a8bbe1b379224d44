"""Fixtures of the acme tests: the fake service, a plugin host holding the plugin, a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_acme import KEY, FakeAcme
from tuneport_acme import plugin

import tuneport
from tuneport.plugins import PluginHost
from tuneport.waiting import ManualClock

# Opt in to the contract kit (it is not a pytest11 entry point: it runs only where asked).
pytest_plugins = ["tuneport_contract.plugin"]


@pytest.fixture
def host() -> PluginHost:
    """Only the plugin under test, registered in-process: no install, no other plugin."""
    plugin_host = PluginHost(entry_points=lambda: [], environ={})
    plugin_host.register_plugin(plugin, name="acme", distribution="tuneport-acme")
    return plugin_host


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def acme(clock: ManualClock) -> FakeAcme:
    """The fake service, on the tests' clock: a client's pauses move it on."""
    return FakeAcme(api_key=KEY, clock=clock)


@pytest.fixture
def client(host: PluginHost, acme: FakeAcme, clock: ManualClock) -> Iterator[tuneport.TuningClient]:
    with tuneport.connect(
        backend="acme",
        plugins=host,
        environ={"ACME_API_KEY": KEY},  # instead of the machine's variables
        transport=acme.transport(),
        clock=clock,
    ) as sync_client:
        yield sync_client
