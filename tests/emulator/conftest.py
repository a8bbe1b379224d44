"""Fixtures: a real emulator on loopback with a manual clock, and an httpx client to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuneport.emulator import Emulator, EmulatorClock

# --import-mode=importlib does not put this folder on sys.path; the helpers must import.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A started emulator whose clock moves only when the test advances it.

    Teardown fails the test if any handler raised unexpectedly (a 500).
    """
    emu = Emulator(clock=EmulatorClock.manual())
    emu.start()
    try:
        yield emu
    finally:
        errors = emu.internal_errors
        emu.stop()
    assert errors == [], errors[0]["traceback"] if errors else ""


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    """An httpx client on the emulator's base URL."""
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        yield http


@pytest.fixture
def tuned(client: httpx.Client) -> dict[str, Any]:
    """A tuned model just created (CREATING): its create Operation."""
    from emulator_helpers import create_body

    response = client.post("/v1beta/tunedModels", params={"tunedModelId": "numbers"}, json=create_body())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
