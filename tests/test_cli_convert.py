"""`tuneport dataset convert` (#18): a conversion that writes nothing fails and says why, `--system
drop|prepend`, and a summary that says "converted" for a change of format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs, in the CLI's order)
from tuneport.cli.app import EXIT_INVALID, EXIT_USAGE, State, cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=State(), prog_name="tuneport")


def vertex(question: str, answer: str, *more: str, system: str | None = None) -> dict[str, Any]:
    turns = (question, answer, *more)
    record: dict[str, Any] = {
        "contents": [
            {"role": "user" if i % 2 == 0 else "model", "parts": [{"text": text}]}
            for i, text in enumerate(turns)
        ]
    }
    if system is not None:
        record["systemInstruction"] = {"parts": [{"text": system}]}
    return record


def write(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def system_file(folder: Path, count: int = 20) -> Path:
    return write(folder / "sys.jsonl", [vertex(f"q{i}", f"a{i}", system="Be terse.") for i in range(count)])


def test_skipping_every_example_exits_invalid_names_why_and_leaves_no_file(tmp_path: Path) -> None:
    source = system_file(tmp_path)
    target = tmp_path / "out.jsonl"
    result = run("dataset", "convert", str(source), str(target), "--to", "gemini", "--policy", "skip")
    assert result.exit_code == EXIT_INVALID, result.output
    assert f"no example was written to {target}" in result.stderr
    assert "all 20 records were skipped (system-not-allowed in 20)" in result.stderr
    # The way past it, as this command's flag (not the library's keyword).
    fix = "fix: --system drop|prepend drops the system instruction or prepends its text to the question"
    assert result.stderr.count(fix) == 1  # said under the error, not again under the skips
    assert "system=" not in result.stderr
    assert not target.exists()
    assert result.stdout == ""  # no success summary for a conversion that wrote nothing


def test_skipping_every_example_in_json_is_an_error_object(tmp_path: Path) -> None:
    source = system_file(tmp_path, 3)
    result = run(
        "--json",
        "dataset",
        "convert",
        str(source),
        str(tmp_path / "o.jsonl"),
        "--to",
        "gemini",
        "--policy",
        "skip",
    )
    assert result.exit_code == EXIT_INVALID
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DatasetError"
    assert [p["rule"] for p in error["problems"]] == ["empty-dataset"] + ["system-not-allowed"] * 3


def test_an_empty_source_exits_invalid(tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text("")
    result = run("dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "openai")
    assert result.exit_code == EXIT_INVALID
    assert "holds no record" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_a_format_change_is_reported_as_converted(tmp_path: Path) -> None:
    source = system_file(tmp_path)
    result = run("dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "openai")
    assert result.exit_code == 0, result.output
    summary = " ".join(result.stdout.split())  # the console may wrap the line
    assert "read 20, wrote 20 (20 converted, 0 split, 0 skipped)" in summary
    assert "unchanged" not in summary


def test_the_same_format_is_reported_as_unchanged(tmp_path: Path) -> None:
    source = system_file(tmp_path)
    result = run("dataset", "convert", str(source), str(tmp_path / "v.jsonl"), "--to", "vertex")
    assert result.exit_code == 0, result.output
    assert "read 20, wrote 20 (20 unchanged, 0 split, 0 skipped)" in " ".join(result.stdout.split())


def test_system_prepend_to_gemini(tmp_path: Path) -> None:
    source = system_file(tmp_path, 2)
    target = tmp_path / "pairs.jsonl"
    result = run("dataset", "convert", str(source), str(target), "--to", "gemini", "--system", "prepend")
    assert result.exit_code == 0, result.output
    summary = " ".join(result.stdout.split())
    assert (
        "wrote 2 (2 converted, 0 split, 0 skipped); system instruction prepended to the question in 2"
        in summary
    )
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert rows == [{"text_input": f"Be terse.\n\nq{i}", "output": f"a{i}"} for i in range(2)]


def test_system_drop_with_split_in_json(tmp_path: Path) -> None:
    source = write(tmp_path / "sys.jsonl", [vertex("q1", "a1", "q2", "a2", system="Be terse.")])
    target = tmp_path / "pairs.jsonl"
    result = run(
        "--json",
        "dataset",
        "convert",
        str(source),
        str(target),
        "--to",
        "gemini",
        "--system",
        "drop",
        "--policy",
        "split",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["written"], report["split"], report["system"], report["system_changed"]) == (
        2,
        1,
        "drop",
        1,
    )
    assert [json.loads(line)["text_input"] for line in target.read_text().splitlines()] == ["q1", "q2"]


def test_system_for_a_target_that_holds_it_is_a_usage_error(tmp_path: Path) -> None:
    source = system_file(tmp_path, 2)
    result = run(
        "dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "openai", "--system", "drop"
    )
    assert result.exit_code == EXIT_USAGE
    assert "openai format holds system instructions" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_an_unconvertible_example_is_refused_naming_the_flags_past_it(tmp_path: Path) -> None:
    source = system_file(tmp_path, 2)
    result = run("dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "gemini")
    assert result.exit_code == EXIT_INVALID
    assert result.stderr.splitlines()[0] == f"Error: {source}:1: cannot be converted to gemini"
    assert "Gemini API examples have no system instruction" in result.stderr
    assert (
        "fix: --system drop|prepend drops the system instruction or prepends its text to the question; "
        "or --policy skip leaves such examples out"
    ) in result.stderr
    assert "policy='skip'" not in result.stderr
    assert result.stderr.count("no system instruction") == 1  # said once, not in a headline and again
    assert not (tmp_path / "o.jsonl").exists()


def test_a_multi_turn_example_is_refused_offering_skip_and_split(tmp_path: Path) -> None:
    source = write(tmp_path / "chat.jsonl", [vertex("q1", "a1", "q2", "a2")])
    result = run("dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "gemini")
    assert result.exit_code == EXIT_INVALID
    assert (
        "fix: --policy skip leaves such examples out; or --policy split splits them into pairs"
        in result.stderr
    )


def test_skipped_and_split_examples_are_grouped_by_rule_with_their_own_fix(tmp_path: Path) -> None:
    source = write(
        tmp_path / "mixed.jsonl",
        [
            vertex("q", "a"),
            vertex("q1", "a1", "q2", "a2"),
            vertex("q", "a", system="S"),
            "{oops",
        ],
    )
    skipped = run(
        "dataset", "convert", str(source), str(tmp_path / "s.jsonl"), "--to", "gemini", "--policy", "skip"
    )
    assert skipped.exit_code == 0, skipped.output
    lines = skipped.stdout.splitlines()
    assert "read 4, wrote 1 (1 converted, 0 split, 3 skipped)" in lines[0]
    assert lines[1] == "error malformed-json: 1 error"
    assert lines[2].startswith("  line 4: invalid JSON")
    assert lines[3:] == [
        "warning multi-turn-not-allowed: 1 warning",
        "  line 2 contents: skipped: Gemini API examples are one question and one answer; "
        "this one has 4 turns",
        "  fix: --policy split splits them into pairs",
        "warning system-not-allowed: 1 warning",
        "  line 3 systemInstruction: skipped: Gemini API examples have no system instruction",
        "  fix: --system drop|prepend drops the system instruction or prepends its text to the question",
    ]
    split = run(
        "dataset", "convert", str(source), str(tmp_path / "p.jsonl"), "--to", "gemini", "--policy", "split"
    )
    assert split.exit_code == 0, split.output
    # A split is done, not a problem to fix: no fix line (nor the rule's standard one, a conversion).
    assert "  line 2 contents: split into 2 pairs" in split.stdout
    assert "--policy" not in split.stdout
    assert "vertex backend" not in split.stdout


def test_counts_say_when_problems_were_capped(tmp_path: Path) -> None:
    source = write(tmp_path / "chat.jsonl", [vertex("q", "a")] + [vertex("q1", "a1", "q2", "a2")] * 30)
    result = run(
        "dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "gemini", "--policy", "skip"
    )
    assert result.exit_code == 0, result.output
    assert "warning multi-turn-not-allowed: 30 warnings, first 10 shown" in result.stdout


def test_writing_nothing_offers_no_conversion_as_the_fix(tmp_path: Path) -> None:
    # A PDF cannot be written as OpenAI image parts; the rule's standard fix (convert `--to gemini`)
    # would be wrong inside a conversion to openai: only the problems' own remedies are said.
    record = vertex("q", "a")
    record["contents"][0]["parts"] = [
        {"fileData": {"fileUri": "gs://b/x.pdf", "mimeType": "application/pdf"}}
    ]
    source = write(tmp_path / "pdf.jsonl", [record])
    result = run(
        "dataset", "convert", str(source), str(tmp_path / "o.jsonl"), "--to", "openai", "--policy", "skip"
    )
    assert result.exit_code == EXIT_INVALID
    assert "its one record was skipped (file-part-not-allowed in 1)" in result.stderr
    assert "warning file-part-not-allowed: 1 warning" in result.stderr
    assert "fix:" not in result.stderr
    assert "--to gemini" not in result.stderr
