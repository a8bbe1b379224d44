"""Shared helpers of the dataset tests."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuneport.datasets import _json


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "memory: generates a large file and checks a subprocess's peak RSS (slow, ~10-20 s)"
    )


@contextlib.contextmanager
def json_backend(mode: str) -> Iterator[None]:
    """Run with the accelerated codecs (orjson/msgspec, when installed) or the stdlib only."""
    saved = (_json.BACKEND, _json.loads, _json.dumps, _json.dumps_line, _json._msgspec)
    try:
        if mode == "stdlib":
            _json.use_stdlib()
        yield
    finally:
        _json.BACKEND, _json.loads, _json.dumps, _json.dumps_line, _json._msgspec = saved


@pytest.fixture(params=["accelerated", "stdlib"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test using it runs twice: the fast path and the pure-stdlib path must agree."""
    with json_backend(request.param):
        yield request.param


def write_lines(path: Path, records: list[Any]) -> Path:
    """Write JSONL: dicts are dumped, strings written as they are."""
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(record if isinstance(record, str) else json.dumps(record, ensure_ascii=False))
            f.write("\n")
    return path


def vertex(*turns: str, system: str | None = None) -> dict[str, Any]:
    """A Vertex example of text turns, user first."""
    example: dict[str, Any] = {
        "contents": [
            {"role": "user" if i % 2 == 0 else "model", "parts": [{"text": text}]}
            for i, text in enumerate(turns)
        ]
    }
    if system is not None:
        example["systemInstruction"] = {"parts": [{"text": system}]}
    return example


def where(problems: Any) -> list[tuple[int | None, str | None, str | None]]:
    """``(line, field, rule)`` of each problem, in order."""
    return [(p.line, p.field, p.rule) for p in problems]
