"""A corpus of bad files: each case names the exact line, field and rule reported.

Every case runs twice (``codec`` fixture): with the accelerated codecs,
where a valid Vertex line takes the msgspec fast path, and with the stdlib
only.  Both must report exactly the same problems.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.datasets.conftest import vertex, where, write_lines
from tuneport.datasets import JsonCodec, validate_dataset
from tuneport.datasets.formats import format_for
from tuneport.datasets.formats.grammar import INVALID, compile_acceptor
from tuneport.datasets.problems import ProblemLog

GOOD = vertex("question", "answer")

U = {"role": "user", "parts": [{"text": "q"}]}
M = {"role": "model", "parts": [{"text": "a"}]}

VERTEX_CASES: list[tuple[str, list[Any], list[tuple[int | None, str | None, str]]]] = [
    ("malformed json", [GOOD, '{"contents": [', GOOD], [(2, None, "malformed-json")]),
    ("not an object", [GOOD, "[1, 2]"], [(2, None, "bad-type")]),
    ("unknown top-level field", [{**GOOD, "extra": 1}], [(1, "extra", "unknown-field")]),
    ("tools unsupported", [{**GOOD, "tools": []}], [(1, "tools", "unsupported-field")]),
    (
        "missing contents",
        [GOOD, {"systemInstruction": {"parts": [{"text": "s"}]}}],
        [(2, "contents", "missing-field")],
    ),
    ("contents not a list", [{"contents": {"role": "user"}}], [(1, "contents", "bad-type")]),
    ("empty contents", [{"contents": []}], [(1, "contents", "empty-conversation")]),
    ("turn not an object", [{"contents": [U, "model"]}], [(1, "contents[1]", "bad-type")]),
    (
        "bad role",
        [{"contents": [U, {"role": "assistant", "parts": [{"text": "a"}]}]}],
        [(1, "contents[1].role", "bad-role")],
    ),
    (
        "missing role",
        [{"contents": [U, {"parts": [{"text": "a"}]}]}],
        [(1, "contents[1].role", "missing-field")],
    ),
    (
        "unknown turn field",
        [{"contents": [U, {**M, "name": "x"}]}],
        [(1, "contents[1].name", "unknown-field")],
    ),
    ("user twice", [{"contents": [U, U, M]}], [(1, "contents[1].role", "role-order")]),
    ("model first", [{"contents": [M, U]}], [(1, "contents[0].role", "role-order")]),
    ("ends with user", [{"contents": [U, M, U]}], [(1, "contents[2].role", "role-order")]),
    ("model twice in four turns", [{"contents": [U, M, M, U]}], [(1, "contents[2].role", "role-order")]),
    ("model second of two", [{"contents": [U, U]}], [(1, "contents[1].role", "role-order")]),
    ("a lone user turn", [{"contents": [U]}], [(1, "contents[0].role", "role-order")]),
    (
        "three exchanges, then out of order",
        [{"contents": [U, M, U, M, U, M]}, {"contents": [U, M, U, M, M, U]}],
        [(2, "contents[4].role", "role-order")],
    ),
    (
        "a file part second in the system instruction",
        [
            {
                **GOOD,
                "systemInstruction": {
                    "role": "system",
                    "parts": [
                        {"text": "s"},
                        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}},
                    ],
                },
            }
        ],
        [(1, "systemInstruction.parts[1]", "file-part-not-allowed")],
    ),
    (
        "two text parts in the system instruction",
        [
            {**GOOD, "systemInstruction": {"parts": [{"text": "s"}, {"text": "t"}]}},
            {**GOOD, "systemInstruction": {"parts": [{"text": "s"}, {"text": ""}]}},
        ],
        [(2, "systemInstruction.parts[1].text", "empty-text")],
    ),
    ("missing parts", [{"contents": [U, {"role": "model"}]}], [(1, "contents[1].parts", "missing-field")]),
    (
        "empty parts",
        [{"contents": [{"role": "user", "parts": []}, M]}],
        [(1, "contents[0].parts", "empty-turn")],
    ),
    ("empty text", [GOOD, vertex("q", "")], [(2, "contents[1].parts[0].text", "empty-text")]),
    (
        "text not a string",
        [{"contents": [U, {"role": "model", "parts": [{"text": 5}]}]}],
        [(1, "contents[1].parts[0].text", "bad-type")],
    ),
    (
        "empty part",
        [{"contents": [{"role": "user", "parts": [{}]}, M]}],
        [(1, "contents[0].parts[0].text", "missing-field")],
    ),
    (
        "text and fileData in one part",
        [
            {
                "contents": [
                    {
                        "role": "user",
                        "parts": [
                            {"text": "q", "fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}
                        ],
                    },
                    M,
                ]
            }
        ],
        [(1, "contents[0].parts[0]", "duplicate-field")],
    ),
    (
        "inlineData unsupported",
        [{"contents": [{"role": "user", "parts": [{"inlineData": {"data": "AA=="}}]}, M]}],
        [(1, "contents[0].parts[0].inlineData", "unsupported-field")],
    ),
    (
        "fileData without mimeType",
        [
            {
                "contents": [
                    {"role": "user", "parts": [U["parts"][0], {"fileData": {"fileUri": "gs://b/x.png"}}]},
                    M,
                ]
            }
        ],
        [(1, "contents[0].parts[1].fileData.mimeType", "missing-field")],
    ),
    (
        "fileData with a blank URI",
        [
            {
                "contents": [
                    {"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": " "}}]},
                    M,
                ]
            }
        ],
        [(1, "contents[0].parts[0].fileData.fileUri", "empty-uri")],
    ),
    (
        "fileData unknown key",
        [
            {
                "contents": [
                    {
                        "role": "user",
                        "parts": [{"fileData": {"mimeType": "a/b", "fileUri": "gs://x", "size": 1}}],
                    },
                    M,
                ]
            }
        ],
        [(1, "contents[0].parts[0].fileData.size", "unknown-field")],
    ),
    (
        "file in the system instruction",
        [
            {
                **GOOD,
                "systemInstruction": {
                    "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}]
                },
            }
        ],
        [(1, "systemInstruction.parts[0]", "file-part-not-allowed")],
    ),
    (
        "system instruction as a string",
        [{**GOOD, "systemInstruction": "be brief"}],
        [(1, "systemInstruction", "bad-type")],
    ),
    (
        "both spellings of the system instruction",
        [
            {
                **GOOD,
                "systemInstruction": {"parts": [{"text": "a"}]},
                "system_instruction": {"parts": [{"text": "b"}]},
            }
        ],
        [(1, "system_instruction", "duplicate-field")],
    ),
    (
        "several problems in one example, all reported",
        [{"contents": [{"role": "user", "parts": [{"text": ""}]}, {"role": "bot", "parts": []}], "x": 1}],
        [
            (1, "x", "unknown-field"),
            (1, "contents[0].parts[0].text", "empty-text"),
            (1, "contents[1].role", "bad-role"),
            (1, "contents[1].parts", "empty-turn"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "records", "expected"), VERTEX_CASES, ids=[c[0] for c in VERTEX_CASES])
def test_vertex_bad_files(
    tmp_path: Path, codec: JsonCodec, name: str, records: list[Any], expected: Any
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", records)
    report = validate_dataset(path, format="vertex", codec=codec)
    assert where(report.errors) == expected
    assert all(p.source == str(path) for p in report.problems)
    assert not report.ok


def test_vertex_snake_case_is_accepted(tmp_path: Path, codec: JsonCodec) -> None:
    record = {
        "system_instruction": {"role": "system", "parts": [{"text": "be brief"}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "q"},
                    {"file_data": {"mime_type": "image/png", "file_uri": "gs://b/x.png"}},
                ],
            },
            M,
        ],
    }
    report = validate_dataset(write_lines(tmp_path / "snake.jsonl", [record]), codec=codec)
    assert report.ok, report.problems
    assert report.format == "vertex"


def test_blank_text_is_a_warning_and_the_example_stays_valid(tmp_path: Path, codec: JsonCodec) -> None:
    report = validate_dataset(write_lines(tmp_path / "blank.jsonl", [vertex("q", "   ")]), codec=codec)
    assert report.ok
    assert where(report.warnings) == [(1, "contents[1].parts[0].text", "blank-text")]
    assert report.valid_example_count == 1


OPENAI_CASES: list[tuple[str, list[Any], list[tuple[int | None, str | None, str]]]] = [
    ("missing messages", [{"msgs": []}], [(1, "msgs", "unknown-field"), (1, "messages", "missing-field")]),
    (
        "system not first",
        [
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "system", "content": "s"},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ],
        [(1, "messages[1].role", "role-order")],
    ),
    (
        "tool role",
        [{"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "t"}]}],
        [(1, "messages[1].role", "bad-role")],
    ),
    (
        "weight unsupported",
        [
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a", "weight": 0},
                ]
            }
        ],
        [(1, "messages[1].weight", "unsupported-field")],
    ),
    (
        "null content",
        [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": None}]}],
        [(1, "messages[1].content", "bad-type")],
    ),
    (
        "image in an assistant message",
        [
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": "a"},
                            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                        ],
                    },
                ]
            }
        ],
        [(1, "messages[1].content[1]", "file-part-not-allowed")],
    ),
    (
        "audio part unsupported",
        [
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ],
        [(1, "messages[0].content[0].type", "unsupported-field")],
    ),
    (
        "text part without text",
        [
            {
                "messages": [
                    {"role": "user", "content": [{"type": "text"}]},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ],
        [(1, "messages[0].content[0].text", "missing-field")],
    ),
    (
        "only a system message",
        [{"messages": [{"role": "system", "content": "s"}]}],
        [(1, "messages", "empty-conversation")],
    ),
    (
        "ends with the user (system shifts the index)",
        [{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}],
        [(1, "messages[1].role", "role-order")],
    ),
    (
        "empty content",
        [{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]}],
        [(1, "messages[0].content", "empty-text")],
    ),
]


@pytest.mark.parametrize(("name", "records", "expected"), OPENAI_CASES, ids=[c[0] for c in OPENAI_CASES])
def test_openai_bad_files(
    tmp_path: Path, codec: JsonCodec, name: str, records: list[Any], expected: Any
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", records)
    report = validate_dataset(path, format="openai", codec=codec)
    assert where(report.errors) == expected


GEMINI_CASES: list[tuple[str, list[Any], list[tuple[int | None, str | None, str]]]] = [
    (
        "missing output",
        [{"text_input": "q", "output": "a"}, {"text_input": "q2"}],
        [(2, "output", "missing-field")],
    ),
    ("missing input", [{"output": "a"}], [(1, "text_input", "missing-field")]),
    (
        "both input spellings",
        [{"text_input": "q", "textInput": "q", "output": "a"}],
        [(1, "textInput", "duplicate-field")],
    ),
    (
        "unknown field",
        [{"input": "q", "output": "a"}],
        [(1, "input", "unknown-field"), (1, "text_input", "missing-field")],
    ),
    ("output not a string", [{"text_input": "q", "output": 2}], [(1, "output", "bad-type")]),
    ("empty output", [{"text_input": "q", "output": ""}], [(1, "output", "empty-text")]),
    ("null input", [{"textInput": None, "output": "a"}], [(1, "textInput", "bad-type")]),
]


@pytest.mark.parametrize(("name", "records", "expected"), GEMINI_CASES, ids=[c[0] for c in GEMINI_CASES])
def test_gemini_bad_files(
    tmp_path: Path, codec: JsonCodec, name: str, records: list[Any], expected: Any
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", records)
    report = validate_dataset(path, format="gemini", codec=codec)
    assert where(report.errors) == expected


def test_gemini_csv_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        'text_input,output,notes\n"a\nmultiline question",answer,n\nq,a\n,empty input,x\n', encoding="utf-8"
    )
    report = validate_dataset(path)
    assert where(report.errors) == [
        (1, "notes", "unknown-field"),
        (4, None, "malformed-csv"),  # the first record spans lines 2-3, so this row is line 4
        (5, "text_input", "empty-text"),
    ]


def test_gemini_csv_without_output_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text_input,answer\nq,a\n", encoding="utf-8")
    report = validate_dataset(path, format="gemini")
    assert where(report.errors) == [
        (1, "answer", "unknown-field"),
        (1, "output", "missing-field"),
        (None, None, "empty-dataset"),
    ]


def test_gemini_json_array_lines_are_where_elements_start(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(
        '[\n  {"text_input": "q1", "output": "a1"},\n  {\n    "text_input": "q2",\n    "output": ""\n  },\n'
        '  {"text_input": "q3", "output": "a3", "x": 1}\n]\n',
        encoding="utf-8",
    )
    report = validate_dataset(path)
    assert report.format == "gemini"
    assert where(report.errors) == [(3, "output", "empty-text"), (7, "x", "unknown-field")]
    assert report.example_count == 3


def test_broken_json_array_reports_the_line_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json"
    path.write_text('[\n{"text_input": "q1", "output": "a1"}\n{"text_input": "q2", "output": "a2"}\n]\n')
    report = validate_dataset(path, format="gemini")
    assert where(report.errors) == [(3, None, "malformed-json")]
    assert report.example_count == 1


def test_invalid_utf8_is_malformed_json(tmp_path: Path, codec: JsonCodec) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text_input": "q", "output": "a"}\n{"text_input": "\xff", "output": "a"}\n')
    report = validate_dataset(path, format="gemini", codec=codec)
    assert where(report.errors) == [(2, None, "malformed-json")]


@pytest.mark.parametrize(
    ("fmt", "cases"), [("vertex", VERTEX_CASES), ("openai", OPENAI_CASES), ("gemini", GEMINI_CASES)]
)
def test_the_fast_paths_accept_exactly_what_the_checker_passes_silently(
    fmt: str, cases: list[tuple[str, list[Any], Any]]
) -> None:
    # Both fast paths are derived from the format's grammar; a record they accept must be one
    # the checker passes with no problem at all, and they must build the same example.
    target = format_for(fmt)
    accept = compile_acceptor(target.grammar)
    fast = target.fast_decoder(JsonCodec.fastest())
    for _, records, _ in cases:
        for record in records:
            if isinstance(record, str):
                continue
            log = ProblemLog("x")
            checked = target._check(record, 1, log)
            silent = not log.problems and checked is not INVALID
            assert accept(record) == (checked if silent else None), record
            if fast is not None:
                assert fast(json.dumps(record).encode()) == (checked if silent else None), record
