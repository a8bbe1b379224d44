"""Conversion: the matrix, the policies, atomic output, layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.datasets.conftest import vertex, where, write_lines
from tuneport.datasets import Example, JsonCodec, convert_dataset, read_examples, read_records, write_examples
from tuneport.errors import DatasetError

PAIRS = [{"text_input": f"q{i}", "output": f"a{i}"} for i in range(3)]


def _own_folder(tmp_path: Path) -> Path:
    """An empty folder for tests that list what is left behind (tmp_path may hold fixtures' folders)."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def test_pairs_go_round_the_matrix_losslessly(tmp_path: Path, codec: JsonCodec) -> None:
    source = write_lines(tmp_path / "g.jsonl", PAIRS)
    expected = list(read_examples(source, codec=codec))
    previous = source
    for i, fmt in enumerate(["vertex", "openai", "gemini", "openai", "vertex", "gemini"]):
        target = tmp_path / f"{i}-{fmt}.jsonl"
        report = convert_dataset(previous, target, to=fmt, codec=codec)
        assert report.lossless
        assert (report.read, report.written, report.skipped) == (3, 3, 0)
        assert list(read_examples(target, codec=codec)) == expected
        previous = target
    assert [json.loads(line) for line in previous.read_text().splitlines()] == PAIRS


def test_written_shapes(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "o.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "what is this?"},
                            {"type": "image_url", "image_url": {"url": "https://x/cat.JPG?s=1"}},
                        ],
                    },
                    {"role": "assistant", "content": "a cat"},
                ]
            }
        ],
    )
    convert_dataset(source, tmp_path / "v.jsonl", to="vertex")
    assert json.loads((tmp_path / "v.jsonl").read_text()) == {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "what is this?"},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x/cat.JPG?s=1"}},
                ],
            },
            {"role": "model", "parts": [{"text": "a cat"}]},
        ],
    }
    convert_dataset(tmp_path / "v.jsonl", tmp_path / "back.jsonl", to="openai")
    assert json.loads((tmp_path / "back.jsonl").read_text()) == json.loads(source.read_text())


MIXED = [
    vertex("q1", "a1"),
    vertex("q2", "a2", "q3", "a3"),
    vertex("q4", "a4", system="be brief"),
    {
        "contents": [
            {"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}]},
            {"role": "model", "parts": [{"text": "a5"}]},
        ]
    },
    '{"contents": oops',
    vertex("q6", "a6", "q7", "a7", "q8", "a8"),
]


def test_policy_error_names_the_line_and_leaves_no_file(tmp_path: Path, codec: JsonCodec) -> None:
    tmp_path = _own_folder(tmp_path)
    source = write_lines(tmp_path / "v.jsonl", MIXED)
    target = tmp_path / "pairs.jsonl"
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, target, to="gemini", codec=codec)
    assert (excinfo.value.line, excinfo.value.field, excinfo.value.first.rule) == (
        2,
        "contents",
        "multi-turn-not-allowed",
    )
    assert [remedy.python() for remedy in excinfo.value.first.remedies] == [
        "policy='skip' leaves such examples out",
        "policy='split' splits them into pairs",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.jsonl"]


def test_policy_error_does_not_clobber_an_existing_target(tmp_path: Path) -> None:
    tmp_path = _own_folder(tmp_path)
    source = write_lines(tmp_path / "v.jsonl", MIXED)
    target = tmp_path / "pairs.jsonl"
    target.write_text("keep me\n")
    with pytest.raises(DatasetError):
        convert_dataset(source, target, to="gemini")
    assert target.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.jsonl", "v.jsonl"]


def test_invalid_source_lines_fail_under_policy_error(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "v.jsonl", [vertex("q", "a"), "{oops"])
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "o.jsonl", to="openai")
    assert (excinfo.value.line, excinfo.value.first.rule) == (2, "malformed-json")
    assert not (tmp_path / "o.jsonl").exists()


def test_policy_skip(tmp_path: Path, codec: JsonCodec) -> None:
    source = write_lines(tmp_path / "v.jsonl", MIXED)
    report = convert_dataset(source, tmp_path / "pairs.csv", to="gemini", policy="skip", codec=codec)
    assert (report.read, report.written, report.converted, report.split, report.skipped) == (6, 1, 1, 0, 5)
    assert where(report.problems) == [
        (2, "contents", "multi-turn-not-allowed"),
        (3, "systemInstruction", "system-not-allowed"),
        (4, "contents[0].parts[0]", "file-part-not-allowed"),
        (5, None, "malformed-json"),
        (6, "contents", "multi-turn-not-allowed"),
    ]
    assert report.problems[0].severity == "warning"
    assert report.problems[0].message.startswith("skipped: ")
    assert report.problems[3].severity == "error"
    assert (tmp_path / "pairs.csv").read_bytes() == b"text_input,output\r\nq1,a1\r\n"


def test_policy_split(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "v.jsonl", MIXED)
    report = convert_dataset(source, tmp_path / "pairs.jsonl", to="gemini", policy="split")
    assert (report.read, report.written, report.converted, report.split, report.skipped) == (6, 6, 1, 2, 3)
    assert [(p.line, p.rule, p.message.split(":")[0]) for p in report.problems] == [
        (2, "multi-turn-not-allowed", "split into 2 pairs"),
        (3, "system-not-allowed", "skipped"),
        (4, "file-part-not-allowed", "skipped"),
        (5, "malformed-json", "invalid JSON"),
        (6, "multi-turn-not-allowed", "split into 3 pairs"),
    ]
    written = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert [(r["text_input"], r["output"]) for r in written] == [
        ("q1", "a1"),
        ("q2", "a2"),
        ("q3", "a3"),
        ("q6", "a6"),
        ("q7", "a7"),
        ("q8", "a8"),
    ]


def test_openai_cannot_hold_a_pdf(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "v.jsonl",
        [
            {
                "contents": [
                    {
                        "role": "user",
                        "parts": [{"fileData": {"mimeType": "application/pdf", "fileUri": "gs://b/d.pdf"}}],
                    },
                    {"role": "model", "parts": [{"text": "a"}]},
                ]
            }
        ],
    )
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "o.jsonl", to="openai")
    assert (excinfo.value.line, excinfo.value.field, excinfo.value.first.rule) == (
        1,
        "contents[0].parts[0]",
        "file-part-not-allowed",
    )


def test_vertex_needs_a_mime_type(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "o.jsonl",
        [
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/img"}}],
                    },
                    {"role": "assistant", "content": "a"},
                ]
            }
        ],
    )
    # Its only example skipped, the conversion writes nothing: an error (#18), and no empty file.
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "v.jsonl", to="vertex", policy="skip")
    assert where(excinfo.value.problems) == [
        (None, None, "empty-dataset"),
        (1, "messages[0].content[0]", "file-part-not-allowed"),
    ]
    assert "file-part-not-allowed in 1" in excinfo.value.first.message
    assert not (tmp_path / "v.jsonl").exists()


def test_layouts(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "g.jsonl", PAIRS)
    expected = list(read_examples(source))
    for name in ("p.json", "p.csv", "p.jsonl"):
        convert_dataset(source, tmp_path / name, to="gemini")
        assert list(read_examples(tmp_path / name)) == expected
    assert [r.line for r in read_records(tmp_path / "p.json")] == [2, 3, 4]
    assert [r.line for r in read_records(tmp_path / "p.csv")] == [2, 3, 4]
    with pytest.raises(ValueError, match="cannot be written as csv"):
        convert_dataset(source, tmp_path / "v.csv", to="vertex")
    with pytest.raises(ValueError, match="is the source"):
        convert_dataset(source, source, to="gemini")
    with pytest.raises(ValueError, match="unknown conversion policy"):
        convert_dataset(source, tmp_path / "x.jsonl", to="gemini", policy="drop")  # type: ignore[arg-type]


def test_in_memory_source_and_write_examples(tmp_path: Path) -> None:
    examples = [Example.from_pair("q", "a"), Example.from_pair("q2", "a2")]
    assert write_examples(examples, tmp_path / "v.jsonl", format="vertex") == 2
    assert list(read_examples(tmp_path / "v.jsonl")) == examples
    report = convert_dataset(examples, tmp_path / "o.jsonl", to="openai")
    assert report.source == "<examples>"
    assert list(read_examples(tmp_path / "o.jsonl")) == examples


def test_write_examples_refuses_what_the_format_cannot_hold(tmp_path: Path) -> None:
    tmp_path = _own_folder(tmp_path)
    multi = Example.model_validate(
        {
            "turns": [
                {"role": "user", "parts": "q"},
                {"role": "model", "parts": "a"},
                {"role": "user", "parts": "q"},
                {"role": "model", "parts": "a"},
            ]
        }
    )
    with pytest.raises(DatasetError) as excinfo:
        write_examples([Example.from_pair("q", "a"), multi], tmp_path / "g.jsonl", format="gemini")
    assert (excinfo.value.line, excinfo.value.first.rule) == (2, "multi-turn-not-allowed")
    assert not list(tmp_path.iterdir())
    bad = Example.model_validate({"turns": [{"role": "model", "parts": "a"}]})
    with pytest.raises(DatasetError) as excinfo:
        write_examples([bad], tmp_path / "v.jsonl", format="vertex")
    assert (excinfo.value.line, excinfo.value.field, excinfo.value.first.rule) == (
        1,
        "turns[0].role",
        "role-order",
    )
