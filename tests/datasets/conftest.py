"""Shared helpers of the dataset tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuneport.datasets import JsonCodec
from tuneport.models import PromptExample, TextPart, Turn


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "memory: generates a large file and checks a subprocess's peak RSS (slow, ~10-20 s)"
    )


def json_codec(mode: str) -> JsonCodec:
    """The accelerated codec (orjson/msgspec, when installed) or the stdlib one."""
    return JsonCodec.stdlib() if mode == "stdlib" else JsonCodec.fastest()


@pytest.fixture(params=["accelerated", "stdlib"])
def codec(request: pytest.FixtureRequest) -> JsonCodec:
    """Every test using it runs twice: the fast path and the pure-stdlib path must agree."""
    return json_codec(request.param)


def write_lines(path: Path, records: list[Any]) -> Path:
    """Write JSONL: dicts are dumped, strings written as they are."""
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(record if isinstance(record, str) else json.dumps(record, ensure_ascii=False))
            f.write("\n")
    return path


def text(role: str, value: str) -> dict[str, Any]:
    """A Vertex turn of one text part."""
    return {"role": role, "parts": [{"text": value}]}


def vertex(*turns: str, system: str | None = None) -> dict[str, Any]:
    """A Vertex example of text turns, user first."""
    example: dict[str, Any] = {
        "contents": [text("user" if i % 2 == 0 else "model", value) for i, value in enumerate(turns)]
    }
    if system is not None:
        example["systemInstruction"] = {"parts": [{"text": system}]}
    return example


def where(problems: Any) -> list[tuple[int | None, str | None, str | None]]:
    """``(line, field, rule)`` of each problem, in order."""
    return [(p.line, p.field, p.rule) for p in problems]


#: A prompt (a system instruction and three turns) that every method's data is written around.
PROMPT = PromptExample(
    system=(TextPart(text="be brief"),),
    prompt=(
        Turn(role="user", parts=(TextPart(text="hi"),)),
        Turn(role="model", parts=(TextPart(text="hello"),)),
        Turn(role="user", parts=(TextPart(text="fruit?"),)),
    ),
)
#: :data:`PROMPT` as OpenAI chat messages (the system message first).
CHAT_PROMPT: list[dict[str, Any]] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "fruit?"},
]
