"""Chaos runs: an emulator process per test, and the recorded figures printed at the end of the run."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# --import-mode=importlib does not put this folder on sys.path; the helpers must import.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from chaos_helpers import FAULTS, FIGURES, EmulatorProcess  # noqa: E402


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path / "emulator-state.sqlite", FAULTS)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, figures in FIGURES.items():
        terminalreporter.section(f"chaos figures: {name}")
        for key, value in figures.items():
            text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
            terminalreporter.write_line(f"{key:32} {text}")
