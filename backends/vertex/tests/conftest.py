"""Fixtures: the vertex backend, through the sync and the async client, against a real emulator.

The emulator serves on loopback with a manual clock.  The client's clock is
a :class:`~tuneport.waiting.ManualClock` *linked* to it: whenever the client
sleeps (polling a job in ``wait()``, or a long-running operation in
``delete()``), the emulator's time moves forward by as much, so waiting
takes no wall time and jobs still progress.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import tuneport
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator, EmulatorClock

# The contract kit is opt-in: this is how a backend's suite turns it on.
pytest_plugins = ["tuneport_contract.plugin"]

PROJECT = "tuneport-test"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
BUCKET = "tuneport-staging"


class LinkedClock(ManualClock):
    """A manual client clock whose sleeps also advance the emulator's clock."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.emulator.advance(max(seconds, 0.0))


class Api:
    """The same calls on a sync or an async client (each awaited when the client is async)."""

    def __init__(self, client: Any, kind: str) -> None:
        self.client = client
        self.kind = kind

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return call

    async def list_all(self, **kwargs: Any) -> list[Any]:
        iterator = self.client.list(**kwargs)
        if hasattr(iterator, "__aiter__"):
            return [job async for job in iterator]
        return list(iterator)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A started emulator with a manual clock; fails the test if a handler raised (a 500)."""
    emu = Emulator(clock=EmulatorClock.manual())
    emu.start()
    try:
        yield emu
    finally:
        errors = emu.internal_errors
        emu.stop()
    assert errors == [], errors[0]["traceback"] if errors else ""


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    """Plain HTTP to the emulator, to look behind the backend."""
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        yield client


def settings(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    """Keyword settings of a vertex client pointed at ``emulator``."""
    return {
        "backend": "vertex",
        "project": PROJECT,
        "location": LOCATION,
        "endpoint": emulator.url,
        "emulator": True,
        "staging_bucket": f"gs://{BUCKET}",
        "environ": {},
        "clock": LinkedClock(emulator),
        **overrides,
    }


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, emulator: Emulator) -> AsyncIterator[Api]:
    """The vertex backend through the sync or the async client."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # catalog notices about deprecated models in some tests
        if request.param == "sync":
            with tuneport.connect(**settings(emulator)) as client:
                yield Api(client, "sync")
        else:
            async with tuneport.connect_async(**settings(emulator)) as aclient:
                yield Api(aclient, "async")


@pytest.fixture
def client_settings(emulator: Emulator) -> Any:
    """``settings(**overrides)``: keyword settings for ``tuneport.connect`` on this emulator."""

    def make(**overrides: Any) -> dict[str, Any]:
        return settings(emulator, **overrides)

    return make
