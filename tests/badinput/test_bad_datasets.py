"""Datasets with bad lines, given to ``client.create()`` on each backend against a running emulator.

Each bad file must raise :class:`DatasetError` whose problems name the line
(1-based, blank lines counted) and the field (a path in the file's own
format; ``None`` when the line is not a record at all) with the rule broken,
and nothing may reach the emulator: no upload of the file, no create.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from badinput_helpers import BASE_MODELS, BUCKET, assert_nothing_sent, assert_problem_at

from tuneport.client import TuningClient
from tuneport.errors import DatasetError
from tuneport_emulator import Emulator

Connect = Callable[..., TuningClient]

PAIR = {"text_input": "question", "output": "answer"}
USER = {"role": "user", "parts": [{"text": "question"}]}
MODEL = {"role": "model", "parts": [{"text": "answer"}]}
CHAT = {"contents": [USER, MODEL]}
OPENAI = {"messages": [{"role": "user", "content": "question"}, {"role": "assistant", "content": "answer"}]}
FILE_PART = {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/cat.png"}}

#: (name, lines of the file: JSON values or raw text, line, field, rule) for both backends.
BAD_JSONL: list[tuple[str, list[Any], int, str | None, str]] = [
    ("gemini: output missing", [PAIR, {"text_input": "q2"}], 2, "output", "missing-field"),
    ("gemini: input missing", [PAIR, {"output": "a2"}], 2, "text_input", "missing-field"),
    ("gemini: output a number", [PAIR, {"text_input": "q", "output": 5}], 2, "output", "bad-type"),
    ("gemini: output null", [PAIR, {"text_input": "q", "output": None}], 2, "output", "bad-type"),
    ("gemini: input a list", [{"text_input": ["q"], "output": "a"}], 1, "text_input", "bad-type"),
    ("gemini: unknown field", [PAIR, {**PAIR, "score": 1}], 2, "score", "unknown-field"),
    ("gemini: both spellings", [{**PAIR, "textInput": "q"}], 1, "textInput", "duplicate-field"),
    ("gemini: empty output", [PAIR, {"text_input": "q", "output": ""}], 2, "output", "empty-text"),
    ("json: cut short", [PAIR, '{"text_input": "q", "output"'], 2, None, "malformed-json"),
    ("json: trailing comma", [PAIR, '{"text_input": "q", "output": "a",}'], 2, None, "malformed-json"),
    ("json: NUL byte", [PAIR, "\x00"], 2, None, "malformed-json"),
    ("json: an array", [PAIR, "[1, 2]"], 2, None, "bad-type"),
    ("json: a string", [PAIR, '"just a string"'], 2, None, "bad-type"),
    (
        "blank lines are counted",
        [PAIR, "", "", {"text_input": 1, "output": "a"}],
        4,
        "text_input",
        "bad-type",
    ),
    (
        "vertex: bad role",
        [CHAT, {"contents": [USER, {**MODEL, "role": "assistant"}]}],
        2,
        "contents[1].role",
        "bad-role",
    ),
    (
        "vertex: role missing",
        [CHAT, {"contents": [USER, {"parts": MODEL["parts"]}]}],
        2,
        "contents[1].role",
        "missing-field",
    ),
    ("vertex: user twice", [{"contents": [USER, USER, MODEL]}], 1, "contents[1].role", "role-order"),
    (
        "vertex: ends with user",
        [CHAT, {"contents": [USER, MODEL, USER]}],
        2,
        "contents[2].role",
        "role-order",
    ),
    ("vertex: no turns", [CHAT, {"contents": []}], 2, "contents", "empty-conversation"),
    (
        "vertex: contents missing",
        [CHAT, {"systemInstruction": {"parts": []}}],
        2,
        "contents",
        "missing-field",
    ),
    (
        "vertex: empty parts",
        [{"contents": [{"role": "user", "parts": []}, MODEL]}],
        1,
        "contents[0].parts",
        "empty-turn",
    ),
    (
        "vertex: text a number",
        [{"contents": [USER, {"role": "model", "parts": [{"text": 5}]}]}],
        1,
        "contents[1].parts[0].text",
        "bad-type",
    ),
    (
        "vertex: unknown turn field",
        [{"contents": [USER, {**MODEL, "name": "x"}]}],
        1,
        "contents[1].name",
        "unknown-field",
    ),
    ("vertex: tools", [{**CHAT, "tools": []}], 1, "tools", "unsupported-field"),
    (
        "vertex: inline data",
        [{"contents": [{"role": "user", "parts": [{"inlineData": {"data": "AA=="}}]}, MODEL]}],
        1,
        "contents[0].parts[0].inlineData",
        "unsupported-field",
    ),
    (
        "openai: bad role",
        [OPENAI, {"messages": [OPENAI["messages"][0], {"role": "bot", "content": "a"}]}],
        2,
        "messages[1].role",
        "bad-role",
    ),
    (
        "openai: weight",
        [{"messages": [OPENAI["messages"][0], {**OPENAI["messages"][1], "weight": 1}]}],
        1,
        "messages[1].weight",
        "unsupported-field",
    ),
    (
        "openai: content missing",
        [{"messages": [{"role": "user"}, OPENAI["messages"][1]]}],
        1,
        "messages[0].content",
        "missing-field",
    ),
]

#: Files that only the gemini backend refuses: the Gemini API tunes on text pairs within its limits.
BAD_FOR_GEMINI: list[tuple[str, list[Any], int, str | None, str]] = [
    (
        "input too long",
        [PAIR, {"text_input": "x" * 40_001, "output": "a"}],
        2,
        "text_input",
        "input-too-long",
    ),
    ("output too long", [PAIR, {"text_input": "q", "output": "x" * 5_001}], 2, "output", "output-too-long"),
    (
        "system instruction",
        [{"systemInstruction": {"parts": [{"text": "be brief"}]}, "contents": [USER, MODEL]}],
        1,
        "systemInstruction",
        "system-not-allowed",
    ),
    ("two exchanges", [{"contents": [USER, MODEL, USER, MODEL]}], 1, "contents", "multi-turn-not-allowed"),
    (
        "a file part",
        [{"contents": [{"role": "user", "parts": [FILE_PART]}, MODEL]}],
        1,
        "contents[0].parts[0]",
        "file-part-not-allowed",
    ),
]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def create_from(client: TuningClient, backend: str, **fields: Any) -> Any:
    return client.create(base_model=BASE_MODELS[backend], **fields)


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize(
    ("lines", "line", "field", "rule"), [case[1:] for case in BAD_JSONL], ids=[case[0] for case in BAD_JSONL]
)
def test_bad_line_is_named_and_nothing_is_sent(
    connect: Connect,
    emulator: Emulator,
    tmp_path: Path,
    backend: str,
    lines: list[Any],
    line: int,
    field: str | None,
    rule: str,
) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", lines)
    with pytest.raises(DatasetError) as info:
        create_from(connect(backend), backend, training_data=data)
    assert_problem_at(info.value, line, field, rule)
    assert all(p.source == str(data) for p in info.value.problems)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize(
    ("lines", "line", "field", "rule"),
    [case[1:] for case in BAD_FOR_GEMINI],
    ids=[case[0] for case in BAD_FOR_GEMINI],
)
def test_line_the_gemini_api_cannot_tune_on_is_named(
    connect: Connect,
    emulator: Emulator,
    tmp_path: Path,
    lines: list[Any],
    line: int,
    field: str | None,
    rule: str,
) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", lines)
    with pytest.raises(DatasetError) as info:
        create_from(connect("gemini"), "gemini", training_data=data)
    assert_problem_at(info.value, line, field, rule)
    assert_nothing_sent(emulator)


# --- other layouts and empty files ----------------------------------------------------------------------

OTHER_LAYOUTS = [
    ("short CSV row", "train.csv", "text_input,output\nq,a\nq2\n", 3, "malformed-csv"),
    ("CSV without its header", "train.csv", "q,a\nq2,a2\n", 1, "unknown-format"),
    (
        "JSON array cut short",
        "train.json",
        '[\n{"text_input": "q", "output": "a"},\n{"text_input": "q2", "output": \n',
        4,
        "malformed-json",
    ),
]


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize(
    ("name", "text", "line", "rule"), [c[1:] for c in OTHER_LAYOUTS], ids=[c[0] for c in OTHER_LAYOUTS]
)
def test_bad_csv_or_json_array_names_the_line(
    connect: Connect,
    emulator: Emulator,
    tmp_path: Path,
    backend: str,
    name: str,
    text: str,
    line: int,
    rule: str,
) -> None:
    data = tmp_path / name
    data.write_text(text)
    with pytest.raises(DatasetError) as info:
        create_from(connect(backend), backend, training_data=data)
    assert_problem_at(info.value, line, None, rule)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("text", ["", "\n\n  \n"], ids=["empty file", "blank lines only"])
def test_file_without_examples_is_named(
    connect: Connect, emulator: Emulator, tmp_path: Path, text: str
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(text)
    with pytest.raises(DatasetError) as info:
        create_from(connect("vertex"), "vertex", training_data=data)
    assert info.value.first.rule == "empty-dataset"
    assert str(data) in str(info.value)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_unreadable_file_is_named(connect: Connect, emulator: Emulator, tmp_path: Path, what: str) -> None:
    data = tmp_path / "nope.jsonl" if what == "missing" else tmp_path
    with pytest.raises(DatasetError) as info:
        create_from(connect("gemini"), "gemini", training_data=data)
    assert info.value.first.rule == "file-not-readable"
    assert str(data) in str(info.value)
    assert_nothing_sent(emulator)


# --- validation data, several problems, examples in memory -------------------------------------------------


def test_bad_validation_file_blocks_the_upload_of_the_training_file(
    connect: Connect, emulator: Emulator, tmp_path: Path
) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", [CHAT])
    validation = write_jsonl(tmp_path / "valid.jsonl", [CHAT, {"contents": [USER, {**MODEL, "role": "bot"}]}])
    with pytest.raises(DatasetError) as info:
        create_from(connect("vertex"), "vertex", training_data=training, validation_data=validation)
    assert_problem_at(info.value, 2, "contents[1].role", "bad-role")
    assert {p.source for p in info.value.problems if p.severity == "error"} == {str(validation)}
    assert emulator.storage_object(BUCKET, training.name) is None
    assert_nothing_sent(emulator)


def test_every_bad_line_is_named(connect: Connect, emulator: Emulator, tmp_path: Path) -> None:
    lines = [PAIR, {"text_input": "q"}, PAIR, "{", {"text_input": "q", "output": 7}]
    data = write_jsonl(tmp_path / "train.jsonl", lines)
    with pytest.raises(DatasetError) as info:
        create_from(connect("gemini"), "gemini", training_data=data)
    assert_problem_at(info.value, 2, "output", "missing-field")
    assert_problem_at(info.value, 4, None, "malformed-json")
    assert_problem_at(info.value, 5, "output", "bad-type")
    assert_nothing_sent(emulator)


@pytest.mark.parametrize(
    ("examples", "line", "field", "rule"),
    [
        ([("q", "a"), ("q2", "")], 2, "turns[1].parts[0].text", "empty-text"),
        ([("q", "a"), ("x" * 40_001, "a")], 2, "turns[0]", "input-too-long"),
        ([{"text_input": "", "output": "a"}], 1, "turns[0].parts[0].text", "empty-text"),
    ],
    ids=["empty output", "input too long", "empty input"],
)
def test_bad_example_in_memory_names_its_position(
    connect: Connect,
    emulator: Emulator,
    examples: list[Any],
    line: int,
    field: str,
    rule: str,
) -> None:
    with pytest.raises(DatasetError) as info:
        create_from(connect("gemini"), "gemini", training_data=examples)
    problems = [(p.source, p.line, p.field, p.rule) for p in info.value.problems]
    assert ("training_data", line, field, rule) in problems
    assert f"training_data:{line}: {field}" in str(info.value)
    assert_nothing_sent(emulator)
