"""Conversion (#18): system instructions into targets that cannot hold one, a conversion that writes
nothing, and the remedies an unconvertible example names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.datasets.conftest import vertex, write_lines
from tuneport.datasets import JsonCodec, convert_dataset
from tuneport.errors import DatasetError, Remedy


def _own_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def _pairs(path: Path) -> list[tuple[str, str]]:
    return [(r["text_input"], r["output"]) for r in map(json.loads, path.read_text().splitlines())]


def _with_system(count: int = 3) -> list[dict[str, Any]]:
    return [vertex(f"q{i}", f"a{i}", system="Be terse.") for i in range(count)]


# --- a conversion that writes nothing ------------------------------------------------------------


def test_skipping_every_example_raises_empty_dataset_and_leaves_no_file(
    tmp_path: Path, codec: JsonCodec
) -> None:
    folder = _own_folder(tmp_path)
    source = write_lines(folder / "sys.jsonl", _with_system(20))
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, folder / "out.jsonl", to="gemini", policy="skip", codec=codec)
    error = excinfo.value
    assert error.first.rule == "empty-dataset"
    assert error.first.severity == "error"
    assert "all 20 records were skipped" in error.first.message
    assert "system-not-allowed in 20" in error.first.message
    assert error.first.remedies == (
        Remedy("system", choices=("drop", "prepend"), effect=error.first.remedies[0].effect),
    )
    # The skipped examples' own problems come along (for --json and scripts).
    assert [p.rule for p in error.problems[1:]] == ["system-not-allowed"] * 20
    assert str(error).startswith(
        f"{source}: no example was written to {folder / 'out.jsonl'}\n"
        f"  {source}: all 20 records were skipped (system-not-allowed in 20) [empty-dataset] "
        "(system='drop'|'prepend' drops the system instruction or prepends its text to the question)"
    )
    assert "--system" not in str(error)  # the library names its keywords, not the CLI's flags
    assert error.first.remedies[0].python() == (
        "system='drop'|'prepend' drops the system instruction or prepends its text to the question"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["sys.jsonl"]


def test_writing_nothing_keeps_an_existing_target_as_it_was(tmp_path: Path) -> None:
    folder = _own_folder(tmp_path)
    source = write_lines(folder / "sys.jsonl", _with_system())
    target = folder / "out.jsonl"
    target.write_text("keep me\n")
    with pytest.raises(DatasetError):
        convert_dataset(source, target, to="gemini", policy="skip")
    assert target.read_text() == "keep me\n"
    assert sorted(p.name for p in folder.iterdir()) == ["out.jsonl", "sys.jsonl"]


def test_an_empty_source_writes_nothing_and_says_so(tmp_path: Path) -> None:
    folder = _own_folder(tmp_path)
    source = folder / "empty.jsonl"
    source.write_text("")
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, folder / "out.jsonl", to="openai")
    assert excinfo.value.first.rule == "empty-dataset"
    assert "holds no record" in excinfo.value.first.message
    assert excinfo.value.first.remedies == ()
    assert sorted(p.name for p in folder.iterdir()) == ["empty.jsonl"]


def test_nothing_written_under_skip_for_multi_turn_offers_split(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "v.jsonl", [vertex("q1", "a1", "q2", "a2"), "{oops"])
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "out.jsonl", to="gemini", policy="skip")
    first = excinfo.value.first
    assert "all 2 records were skipped" in first.message
    assert "multi-turn-not-allowed in 1" in first.message
    assert "invalid in 1" in first.message
    assert [(r.option, r.value) for r in first.remedies] == [("policy", "split")]
    assert "[empty-dataset] (policy='split' splits them into pairs)" in str(excinfo.value)


# --- what a conversion reports ---------------------------------------------------------------


def test_report_says_whether_examples_changed_format(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "v.jsonl", _with_system())
    across = convert_dataset(source, tmp_path / "o.jsonl", to="openai")
    same = convert_dataset(source, tmp_path / "v2.jsonl", to="vertex")
    assert (across.converted, across.unchanged, across.same_format) == (3, 0, False)
    assert (same.converted, same.unchanged, same.same_format) == (3, 3, True)
    assert across.to_dict()["unchanged"] == 0
    assert same.to_dict()["unchanged"] == 3
    # Keys scripts already read stay.
    assert {"read", "written", "converted", "split", "skipped"} <= across.to_dict().keys()


# --- --system drop | prepend ---------------------------------------------------------------------


def test_system_drop_removes_the_instruction(tmp_path: Path, codec: JsonCodec) -> None:
    source = write_lines(tmp_path / "sys.jsonl", _with_system())
    report = convert_dataset(source, tmp_path / "out.jsonl", to="gemini", system="drop", codec=codec)
    assert (report.written, report.converted, report.skipped, report.system_changed) == (3, 3, 0, 3)
    assert (report.system, report.to_dict()["system"], report.to_dict()["system_changed"]) == (
        "drop",
        "drop",
        3,
    )
    assert report.problems == ()
    assert _pairs(tmp_path / "out.jsonl") == [("q0", "a0"), ("q1", "a1"), ("q2", "a2")]


def test_system_prepend_puts_its_text_before_the_question(tmp_path: Path, codec: JsonCodec) -> None:
    records = [*_with_system(2), vertex("q2", "a2")]
    source = write_lines(tmp_path / "sys.jsonl", records)
    report = convert_dataset(source, tmp_path / "out.csv", to="gemini", system="prepend", codec=codec)
    assert (report.written, report.converted, report.system_changed) == (3, 3, 2)
    assert (tmp_path / "out.csv").read_bytes() == (
        b'text_input,output\r\n"Be terse.\n\nq0",a0\r\n"Be terse.\n\nq1",a1\r\nq2,a2\r\n'
    )


def test_system_prepend_with_split_prefixes_every_pair(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sys.jsonl", [vertex("q1", "a1", "q2", "a2", system="Be terse.")])
    report = convert_dataset(source, tmp_path / "out.jsonl", to="gemini", system="prepend", policy="split")
    assert (report.written, report.split, report.system_changed) == (2, 1, 1)
    assert _pairs(tmp_path / "out.jsonl") == [("Be terse.\n\nq1", "a1"), ("Be terse.\n\nq2", "a2")]


def test_system_drop_with_split(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sys.jsonl", [vertex("q1", "a1", "q2", "a2", system="Be terse.")])
    report = convert_dataset(source, tmp_path / "out.jsonl", to="gemini", system="drop", policy="split")
    assert (report.written, report.split, report.system_changed) == (2, 1, 1)
    assert _pairs(tmp_path / "out.jsonl") == [("q1", "a1"), ("q2", "a2")]


def test_system_prepend_of_a_file_part_is_reported_where_the_source_has_it(tmp_path: Path) -> None:
    record = vertex("q", "a")
    record["systemInstruction"] = {
        "parts": [{"fileData": {"fileUri": "gs://b/x.pdf", "mimeType": "application/pdf"}}]
    }
    source = write_lines(tmp_path / "sys.jsonl", [record, vertex("q1", "a1")])
    report = convert_dataset(source, tmp_path / "out.jsonl", to="gemini", system="prepend", policy="skip")
    assert (report.written, report.skipped, report.system_changed) == (1, 1, 0)
    assert [(p.line, p.field, p.rule) for p in report.problems] == [
        (1, "systemInstruction.parts[0]", "file-part-not-allowed")
    ]


def test_system_is_refused_for_a_target_that_holds_system_instructions(tmp_path: Path) -> None:
    folder = _own_folder(tmp_path)
    source = write_lines(folder / "sys.jsonl", _with_system())
    with pytest.raises(ValueError, match="openai format holds system instructions"):
        convert_dataset(source, folder / "out.jsonl", to="openai", system="drop")
    assert sorted(p.name for p in folder.iterdir()) == ["sys.jsonl"]


def test_an_unknown_system_handling_is_refused(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sys.jsonl", _with_system())
    with pytest.raises(ValueError, match="unknown system handling 'keep'"):
        convert_dataset(source, tmp_path / "out.jsonl", to="gemini", system="keep")  # type: ignore[arg-type]


# --- the remedies of an unconvertible example ------------------------------------------------------


def test_a_system_instruction_error_offers_system_and_skip(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sys.jsonl", _with_system())
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "out.jsonl", to="gemini")
    first = excinfo.value.first
    assert (first.line, first.rule) == (1, "system-not-allowed")
    assert [(r.option, r.value, r.choices) for r in first.remedies] == [
        ("system", None, ("drop", "prepend")),
        ("policy", "skip", ()),
    ]
    assert [r.cli() for r in first.remedies] == [
        "--system drop|prepend drops the system instruction or prepends its text to the question",
        "--policy skip leaves such examples out",
    ]
    assert [r.python() for r in first.remedies] == [
        "system='drop'|'prepend' drops the system instruction or prepends its text to the question",
        "policy='skip' leaves such examples out",
    ]
    assert str(excinfo.value) == (
        f"{source}:1: cannot be converted to gemini\n"
        f"  {source}:1: systemInstruction: Gemini API examples have no system instruction "
        "[system-not-allowed] "
        "(system='drop'|'prepend' drops the system instruction or prepends its text to the question; "
        "or policy='skip' leaves such examples out)"
    )


def test_a_multi_turn_error_offers_skip_and_split(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "v.jsonl", [vertex("q1", "a1", "q2", "a2")])
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "out.jsonl", to="gemini")
    assert [(r.option, r.value) for r in excinfo.value.first.remedies] == [
        ("policy", "skip"),
        ("policy", "split"),
    ]
    assert str(excinfo.value).endswith(
        "(policy='skip' leaves such examples out; or policy='split' splits them into pairs)"
    )
