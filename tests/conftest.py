"""Shared fixtures: an isolated environment, a plugin host with the fake backends, clients."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.client import AsyncTuningClient, TuningClient
from tuneport.plugins import PluginHost
from tuneport.waiting import ManualClock

# pytest runs with --import-mode=importlib, which does not put this directory
# on sys.path; the helper module must be importable by the test modules.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from fake_service import CANARY_KEY, FakePlugin, FakeService  # noqa: E402

#: Environment variables that would change how tuneport resolves its configuration.
_LEAKY_VARIABLES = {"GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"}


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No stray ``tuneport.toml``, user config dir or ``TUNEPORT_*`` variable leaks in.

    Returns the (empty) working directory the test runs in.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))  # the CLI's offline emulator state
    for name in list(os.environ):
        if name.startswith("TUNEPORT_") or name in _LEAKY_VARIABLES:
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def host() -> PluginHost:
    """A plugin host with the real (installed) plugins discoverable and the fake backends registered."""
    plugin_host = PluginHost(environ={})
    plugin_host.register_plugin(FakePlugin(), name="fake", distribution="tuneport-fake-tests", version="0.0")
    return plugin_host


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service() -> FakeService:
    """The fake service; it requires the canary API key."""
    return FakeService(api_key=CANARY_KEY)


@pytest.fixture
def fake_cli_options(host: PluginHost, service: FakeService, clock: ManualClock) -> dict[str, Any]:
    """``connect`` options of a CLI run on the fake service (``State(connect_options=...)``)."""
    return {
        "plugins": host,
        "transport": service.transport(),
        "clock": clock,
        "environ": {},
        "backend": "fake",
        "api_key": CANARY_KEY,
    }


@pytest.fixture
def make_client(
    host: PluginHost, service: FakeService, clock: ManualClock
) -> Iterator[Callable[..., TuningClient]]:
    """Build sync clients on the fake service (closed at teardown); keywords go to ``connect``."""
    made: list[TuningClient] = []

    def make(**options: Any) -> TuningClient:
        options.setdefault("backend", "fake")
        options.setdefault("api_key", CANARY_KEY)
        if "http_client" not in options:
            options.setdefault("transport", service.transport())
        made_client = tuneport.connect(plugins=host, clock=clock, environ={}, **options)
        made.append(made_client)
        return made_client

    yield make
    for made_client in made:
        made_client.close()


@pytest.fixture
def client(make_client: Callable[..., TuningClient]) -> TuningClient:
    return make_client()


@pytest.fixture
async def make_async_client(
    host: PluginHost, service: FakeService, clock: ManualClock
) -> AsyncIterator[Callable[..., AsyncTuningClient]]:
    """Build async clients on the fake service (with a coroutine handler), closed at teardown."""
    made: list[AsyncTuningClient] = []

    def make(**options: Any) -> AsyncTuningClient:
        options.setdefault("backend", "fake")
        options.setdefault("api_key", CANARY_KEY)
        if "http_client" not in options:
            options.setdefault("transport", service.async_transport())
        made_client = tuneport.connect_async(plugins=host, clock=clock, environ={}, **options)
        made.append(made_client)
        return made_client

    yield make
    for made_client in made:
        await made_client.aclose()


@pytest.fixture
async def aclient(make_async_client: Callable[..., AsyncTuningClient]) -> AsyncTuningClient:
    return make_async_client()
