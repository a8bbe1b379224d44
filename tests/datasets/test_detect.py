"""Format detection by content, and the explicit override."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.conftest import vertex, write_lines
from tuneport.datasets import DatasetFormat, JsonCodec, detect_format, read_examples, validate_dataset
from tuneport.errors import DatasetError

OPENAI = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (vertex("q", "a"), DatasetFormat.VERTEX),
        ({"system_instruction": {"parts": [{"text": "s"}]}}, DatasetFormat.VERTEX),
        (OPENAI, DatasetFormat.OPENAI),
        ({"text_input": "q", "output": "a"}, DatasetFormat.GEMINI),
        ({"textInput": "q", "output": "a"}, DatasetFormat.GEMINI),
    ],
)
def test_jsonl_formats(tmp_path: Path, record: dict[str, object], expected: DatasetFormat) -> None:
    assert detect_format(write_lines(tmp_path / "data.txt", [record])) is expected


def test_majority_wins_and_malformed_lines_are_ignored(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", ["{oops", OPENAI, vertex("q", "a"), OPENAI])
    assert detect_format(path) is DatasetFormat.OPENAI


def test_json_array_and_csv(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_text('\ufeff[\n {"text_input": "q", "output": "a"}\n]')
    assert detect_format(array) is DatasetFormat.GEMINI
    csv_file = tmp_path / "a.data"
    csv_file.write_text("textInput,output\nq,a\n")
    assert detect_format(csv_file) is DatasetFormat.GEMINI


def test_unknown_format_asks_for_an_override(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", [{"prompt": "q", "completion": "a"}])
    with pytest.raises(DatasetError) as excinfo:
        detect_format(path)
    assert excinfo.value.first.rule == "unknown-format"
    assert "format=" in str(excinfo.value)


def test_override_beats_detection(tmp_path: Path) -> None:
    # Detected as Vertex, read as OpenAI on request: every line then fails as OpenAI.
    path = write_lines(tmp_path / "d.jsonl", [vertex("q", "a")])
    report = validate_dataset(path, format="openai")
    assert report.format is DatasetFormat.OPENAI
    assert {p.rule for p in report.errors} == {"unknown-field", "missing-field"}
    with pytest.raises(ValueError, match="unknown dataset format"):
        validate_dataset(path, format="jsonl")


def test_bom_on_the_first_line(tmp_path: Path, codec: JsonCodec) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text_input": "q", "output": "a"}\n')
    assert detect_format(path, codec=codec) is DatasetFormat.GEMINI
    assert [e.turns[1].text for e in read_examples(path, codec=codec)] == ["a"]


def test_remote_and_in_memory_have_no_format() -> None:
    with pytest.raises(DatasetError):
        detect_format("gs://b/x.jsonl")
    with pytest.raises(TypeError):
        detect_format([("q", "a")])
