"""`tuneport metrics JOB` on a real terminal (a pty): the loss curve is drawn in color under the
table, as wide as the terminal allows; piped, the same chart comes without color codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_process import on_a_terminal, run_piped

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"  # the embedded emulator tunes it
BRAILLE = range(0x2800, 0x2900)


@pytest.fixture
def job_id(isolated_environment: Path) -> str:
    """A finished job of the offline profile (the embedded emulator), made by another process."""
    train = isolated_environment / "train.jsonl"
    train.write_text(
        "".join(json.dumps({"text_input": str(n), "output": str(n + 1)}) + "\n" for n in range(5))
    )
    created = run_piped("--json", "create", "-m", BASE_MODEL, "-t", str(train), "--wait")
    assert created.returncode == 0, created.stderr
    made: str = json.loads(created.stdout)["id"]
    return made


def _braille_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(ord(ch) in BRAILLE for ch in line)]


def test_on_a_terminal_the_loss_curve_is_drawn_in_color_under_the_table(job_id: str) -> None:
    code, shown = on_a_terminal("metrics", job_id, columns=100)
    assert code == 0, shown
    lines = _braille_lines(shown)
    assert lines
    assert "\x1b[" in "".join(lines)  # colored dots
    assert shown.index("series") < shown.index(lines[0])
    assert "train_loss" in shown[shown.index(lines[0]) :]  # the chart's legend
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    frame = [line for line in plain.splitlines() if "┌" in line and "┐" in line][-1]
    assert len(frame.strip()) > 80  # as wide as the terminal, not a fixed 80


def test_piped_the_chart_comes_without_color_codes(job_id: str) -> None:
    piped = run_piped("metrics", job_id)
    assert piped.returncode == 0, piped.stderr
    assert _braille_lines(piped.stdout)
    assert "\x1b[" not in piped.stdout
