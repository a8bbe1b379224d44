"""Reading examples as pydantic objects: streaming, line numbers, first error raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.conftest import vertex, write_lines
from tuneport.datasets import Example, FilePart, JsonCodec, TextPart, read_examples, read_records
from tuneport.errors import DatasetError


def test_records_carry_physical_line_numbers(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(tmp_path / "v.jsonl", [vertex("q1", "a1"), "", "   ", vertex("q2", "a2", system="s")])
    records = list(read_records(path, codec=codec))
    assert [r.line for r in records] == [1, 4]
    assert records[1].example.system == (TextPart(text="s"),)
    assert records[0].source == str(path)


def test_file_parts_become_file_parts(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(
        tmp_path / "o.jsonl",
        [
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/webp;base64,AAAA"}}
                        ],
                    },
                    {"role": "assistant", "content": "a"},
                ]
            }
        ],
    )
    (example,) = read_examples(path, codec=codec)
    assert example.turns[0].parts == (FilePart(uri="data:image/webp;base64,AAAA", mime_type="image/webp"),)


def test_the_first_error_raises_with_its_line(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(tmp_path / "v.jsonl", [vertex("q", "a"), vertex("q", "")])
    examples = read_examples(path, codec=codec)
    assert next(examples) == Example.from_pair("q", "a")
    with pytest.raises(DatasetError) as excinfo:
        next(examples)
    assert (excinfo.value.line, excinfo.value.field, excinfo.value.first.rule) == (
        2,
        "contents[1].parts[0].text",
        "empty-text",
    )
    assert str(path) in str(excinfo.value)


def test_remote_sources_cannot_be_read() -> None:
    with pytest.raises(DatasetError) as excinfo:
        read_examples("gs://bucket/train.jsonl")
    assert excinfo.value.first.rule == "remote-source"


def test_in_memory_sources_read_back() -> None:
    assert list(read_examples([("q", "a")])) == [Example.from_pair("q", "a")]
