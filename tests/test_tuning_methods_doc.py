"""docs/tuning-methods.md: its table of what each backend supports is what the backends declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneport.models import TuningMethod
from tuneport.plugins import PluginHost
from tuneport.protocol import Capabilities

PAGE = Path(__file__).resolve().parent.parent / "docs" / "tuning-methods.md"
YES, NO = "\u2713", "\u2013"  # a check mark; an en dash
FLAGS = {"continuous tuning": "continuous_tuning", "checkpoints": "checkpoints"}
FLAGS |= {"default checkpoint": "default_checkpoint", "evaluation": "evaluation"}


def _table() -> dict[str, dict[str, bool]]:
    """Backend name → capability row → whether the page says it is supported."""
    lines = PAGE.read_text(encoding="utf-8").split("## What each backend supports", 1)[1].splitlines()
    rows = [line for line in lines if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    backends = [name.split()[0] for name in header[1:]]
    table: dict[str, dict[str, bool]] = {name: {} for name in backends}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for name, mark in zip(backends, cells[1:], strict=True):
            assert mark in (YES, NO), row
            table[name][cells[0]] = mark == YES
    return table


def _declared(caps: Capabilities, row: str) -> bool:
    if row in {m.value for m in TuningMethod}:
        return TuningMethod(row) in caps.methods
    if row in FLAGS:
        return bool(getattr(caps, FLAGS[row]))
    return row in caps.spec_fields


@pytest.mark.parametrize("backend", ["gemini", "vertex", "inmemory"])
def test_the_capability_table_is_what_the_backend_declares(backend: str) -> None:
    entry = PluginHost(environ={}).backends()[backend]
    caps = entry.backend_class.declared_capabilities
    rows = _table()[backend]
    assert {row for row in rows if row not in FLAGS and row not in {m.value for m in TuningMethod}} == {
        "tuning_mode",
        "output_uri",
        "custom_base_model",
        "encryption_key",
        "service_account",
    }
    assert rows == {row: _declared(caps, row) for row in rows}
