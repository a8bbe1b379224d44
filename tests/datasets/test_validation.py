"""Validation: limits, dataset-level rules, the problem cap, duplicates, sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.conftest import vertex, where, write_lines
from tuneport.datasets import DatasetLimits, Example, FilePart, JsonCodec, TextPart, Turn, validate_dataset
from tuneport.errors import DatasetError
from tuneport.models import JobSpec

PNG = {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/cat.png"}}
PDF = {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://b/doc.pdf"}}


def with_parts(*user_parts: dict[str, object]) -> dict[str, object]:
    return {
        "contents": [{"role": "user", "parts": list(user_parts)}, {"role": "model", "parts": [{"text": "a"}]}]
    }


def test_gemini_api_limits_on_a_vertex_file(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(
        tmp_path / "v.jsonl",
        [
            vertex("q", "a"),
            vertex("q" * 35, "a", system="be brief"),
            vertex("q", "a", "q2", "a2"),
            with_parts({"text": "look"}, PNG),
            vertex("x" * 41, "a"),
            vertex("q", "y" * 6),
        ],
    )
    limits = DatasetLimits(max_input_chars=40, max_output_chars=5, pairs_only=True, text_only=True)
    report = validate_dataset(path, limits=limits, codec=codec)
    assert where(report.errors) == [
        (2, "systemInstruction", "system-not-allowed"),
        (2, "contents[0]", "input-too-long"),  # the system instruction counts as input
        (3, "contents", "multi-turn-not-allowed"),
        (4, "contents[0].parts[1]", "file-part-not-allowed"),
        (5, "contents[0]", "input-too-long"),
        (6, "contents[1]", "output-too-long"),
    ]
    assert report.example_count == 6
    assert report.valid_example_count == 1


def test_char_limits_name_gemini_fields(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "g.jsonl", [{"text_input": "q" * 11, "output": "a" * 6}])
    report = validate_dataset(path, limits=DatasetLimits(max_input_chars=10, max_output_chars=5))
    assert where(report.errors) == [(1, "text_input", "input-too-long"), (1, "output", "output-too-long")]
    assert "11 characters; the limit is 10" in report.errors[0].message


def test_mime_types(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(tmp_path / "v.jsonl", [with_parts({"text": "q"}, PNG), with_parts(PDF)])
    report = validate_dataset(
        path, limits=DatasetLimits(allowed_mime_types=["image/png", "image/jpeg"]), codec=codec
    )
    assert where(report.errors) == [(2, "contents[0].parts[0]", "mime-type-not-allowed")]


def test_token_limit_is_a_warning(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(tmp_path / "v.jsonl", [vertex("q" * 400, "a" * 400), vertex("q", "a")])
    report = validate_dataset(path, limits=DatasetLimits(max_example_tokens=150), codec=codec)
    assert report.ok
    assert where(report.warnings) == [(1, None, "example-too-long-tokens")]
    assert "about 200 tokens" in report.warnings[0].message


def test_dataset_level_limits(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "v.jsonl", [vertex("q", str(i)) for i in range(5)])
    size = path.stat().st_size
    limits = DatasetLimits(min_examples=10, max_file_bytes=size - 1)
    assert where(validate_dataset(path, limits=limits).errors) == [
        (None, None, "file-too-large"),
        (None, None, "too-few-examples"),
    ]
    limits = DatasetLimits(max_examples=100, max_validation_examples=4, min_examples=10)
    assert validate_dataset(path, limits=limits, role="training").errors[0].rule == "too-few-examples"
    report = validate_dataset(path, limits=limits, role="validation")
    assert where(report.errors) == [(None, None, "too-many-examples")]
    assert "a validation dataset may have at most 4" in report.errors[0].message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n")
    report = validate_dataset(path)
    assert where(report.errors) == [(None, None, "empty-dataset")]
    assert report.example_count == 0


def test_duplicates_are_warnings_naming_the_first_copy(tmp_path: Path, codec: JsonCodec) -> None:
    records = [vertex("q", "a"), vertex("q", "b"), vertex("q", "a"), vertex("q", "b"), vertex("q", "a")]
    # Same content, other key order and spacing: still a duplicate.
    records.append(
        '{ "contents": [{"parts": [{"text": "q"}], "role": "user"},'
        ' {"role": "model", "parts": [{"text": "b"}]}] }'
    )
    report = validate_dataset(write_lines(tmp_path / "v.jsonl", records), codec=codec)
    assert report.ok
    assert where(report.warnings) == [
        (3, None, "duplicate-example"),
        (4, None, "duplicate-example"),
        (5, None, "duplicate-example"),
        (6, None, "duplicate-example"),
    ]
    assert [p.message for p in report.warnings] == [
        "the same example as line 1",
        "the same example as line 2",
        "the same example as line 1",
        "the same example as line 2",
    ]
    assert not validate_dataset(tmp_path / "v.jsonl", check_duplicates=False, codec=codec).problems


def test_all_problems_are_counted_and_the_first_n_kept(tmp_path: Path, codec: JsonCodec) -> None:
    records = [vertex("q", "") for _ in range(250)]
    path = write_lines(tmp_path / "v.jsonl", records)
    report = validate_dataset(path, max_problems=100, limits=DatasetLimits(max_examples=10), codec=codec)
    assert report.error_count == 251
    assert report.truncated
    # The cap holds the first 100 line problems, in order, plus the dataset-level one.
    assert [p.line for p in report.problems[:100]] == list(range(1, 101))
    assert report.problems[-1].rule == "too-many-examples"
    assert len(report.problems) == 101
    with pytest.raises(DatasetError) as excinfo:
        report.raise_for_errors()
    assert excinfo.value.line == 1
    assert excinfo.value.field == "contents[1].parts[0].text"
    assert "251 error(s)" in str(excinfo.value)


def test_in_memory_examples_validate_like_files() -> None:
    good = Example.from_pair("q", "a")
    bad = Example(
        turns=(Turn(role="user", parts=(TextPart(text="q"),)), Turn(role="user", parts=(TextPart(text=" "),)))
    )
    with_file = Example(
        turns=(
            Turn(role="user", parts=(FilePart(uri="gs://b/x.pdf", mime_type="application/pdf"),)),
            Turn(role="model", parts="a"),
        )
    )
    report = validate_dataset([good, bad, with_file, good], limits=DatasetLimits(text_only=True))
    assert report.source == "<examples>"
    assert where(report.problems) == [
        (2, "turns[1].parts[0].text", "blank-text"),
        (2, "turns[1].role", "role-order"),
        (3, "turns[0].parts[0]", "file-part-not-allowed"),
        (4, None, "duplicate-example"),
    ]


def test_job_spec_training_data_validates() -> None:
    spec = JobSpec(base_model="m", training_data=[("q1", "a1"), {"text_input": "q2", "output": "a2"}])
    assert isinstance(spec.training_data, tuple)
    report = validate_dataset(spec.training_data, limits=DatasetLimits(pairs_only=True))
    assert report.ok
    assert report.example_count == 2


def test_in_memory_pairs_and_dicts_are_coerced() -> None:
    report = validate_dataset([("q", "a"), {"text_input": "q2", "output": ""}, 42])
    assert where(report.errors) == [(2, "turns[1].parts[0].text", "empty-text"), (3, None, "bad-type")]


def test_remote_sources_are_left_to_the_service() -> None:
    report = validate_dataset("gs://bucket/train.jsonl")
    assert report.ok
    assert not report.checked
    assert where(report.warnings) == [(None, None, "remote-not-validated")]


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as excinfo:
        validate_dataset(tmp_path / "nope.jsonl")
    assert excinfo.value.first.rule == "file-not-readable"


def test_to_dict_is_json_ready(tmp_path: Path) -> None:
    import json

    report = validate_dataset(write_lines(tmp_path / "v.jsonl", [vertex("q", "")]))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    assert data["problems"][0]["field"] == "contents[1].parts[0].text"
    assert data["format"] == "vertex"


def test_duplicates_match_across_the_fast_and_the_slow_path(tmp_path: Path, codec: JsonCodec) -> None:
    camel = vertex("q", "a", system="s")
    snake = {"system_instruction": camel["systemInstruction"], "contents": camel["contents"]}  # slow path
    report = validate_dataset(write_lines(tmp_path / "v.jsonl", [camel, snake, camel]), codec=codec)
    assert [(p.line, p.message) for p in report.warnings] == [
        (2, "the same example as line 1"),
        (3, "the same example as line 1"),
    ]
