"""docs/cli.md is generated from ``--help``; this keeps the two in step."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_matches_help_output() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == _generator().render(), "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_every_verb_of_the_design_is_documented() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    verbs = [
        "backends",
        "models",
        "create",
        "list",
        "get",
        "wait",
        "cancel",
        "delete",
        "generate",
        "metrics",
        "checkpoints",
        "dataset validate",
        "dataset convert",
        "dataset stats",
        "emulator",
        "demo",
    ]
    for verb in verbs:
        assert f"## `tuneport {verb}`" in page or f"### `tuneport {verb}`" in page, verb
