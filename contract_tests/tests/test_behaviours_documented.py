"""docs/contract.md lists every behaviour of the kit, with its number and test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from tuneport_contract import BackendContract

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def _behaviours() -> dict[int, str]:
    found = {}
    for name, function in inspect.getmembers(BackendContract, inspect.isfunction):
        match = re.match(r"test_b(\d+)_", name)
        if match:
            number = int(match.group(1))
            assert function.__doc__ is not None
            assert function.__doc__.startswith(f"Behaviour {number}: "), name
            found[number] = name
    return found


#: Numbers set aside for behaviours to come (docs/contract.md says so): the only gaps allowed.
RESERVED = range(44, 50)


def test_at_least_thirty_numbered_behaviours_without_gaps() -> None:
    numbers = sorted(_behaviours())
    assert len(numbers) >= 30
    assert not set(numbers) & set(RESERVED)
    expected = [n for n in range(1, numbers[-1] + 1) if n not in RESERVED]
    assert numbers == expected


def test_every_behaviour_is_in_the_docs() -> None:
    page = DOCS.read_text(encoding="utf-8")
    for number, name in _behaviours().items():
        assert re.search(rf"^\| {number} \| .+ \| `{name}` \|$", page, re.M), name


def test_the_base_class_is_not_collected() -> None:
    assert not BackendContract.__name__.startswith("Test")
