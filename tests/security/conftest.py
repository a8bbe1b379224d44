"""Fixtures of the canary scans: the canary, a DEBUG capture of every logger, an emulator, fake ADC."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# --import-mode=importlib does not put this folder on sys.path; the helpers must import.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from canary_gather import DebugLog  # noqa: E402
from canary_scan import Canary, Evidence  # noqa: E402

from tuneport_emulator import Emulator, EmulatorClock  # noqa: E402


@pytest.fixture
def canary() -> Canary:
    return Canary.plant()


@pytest.fixture
def evidence() -> Evidence:
    return Evidence()


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[DebugLog]:
    """Root and every existing logger at DEBUG (non-propagating ones get the handler too)."""
    caplog.set_level(logging.DEBUG)
    handler = DebugLog()
    root = logging.getLogger()
    root.addHandler(handler)
    changed: list[tuple[logging.Logger, int, bool]] = []
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            changed.append((logger, logger.level, logger.disabled))
            logger.disabled = False
            if logger.level > logging.DEBUG:
                logger.setLevel(logging.DEBUG)
            if not logger.propagate:
                logger.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level, disabled in changed:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(handler)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A started emulator on a manual clock; fails the test if a handler raised (a 500)."""
    emu = Emulator(clock=EmulatorClock.manual())
    emu.start()
    try:
        yield emu
    finally:
        errors = emu.internal_errors
        emu.stop()
    assert errors == [], errors[0]["traceback"] if errors else ""


@pytest.fixture(autouse=True)
def fake_adc(monkeypatch: pytest.MonkeyPatch, canary: Canary) -> object:
    """Application Default Credentials are a valid OAuth token: the canary access token."""
    import google.auth
    from google.oauth2.credentials import Credentials

    credentials = Credentials(token=canary.access_token)  # type: ignore[no-untyped-call]
    monkeypatch.setattr(google.auth, "default", lambda scopes=None, **_: (credentials, None))
    return credentials
