"""docs/datasets.md documents every rule id (the page and the code stay in step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneport.datasets import Rule

PAGE = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"


@pytest.mark.parametrize("rule", list(Rule), ids=str)
def test_every_rule_is_documented_with_its_severity(rule: Rule) -> None:
    rows = [
        line
        for line in PAGE.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{rule.value}` |")
    ]
    assert rows, f"docs/datasets.md has no table row for rule {rule.value}"
    assert f"| {rule.severity.value} |" in rows[0]
