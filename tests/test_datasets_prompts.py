"""Distillation prompts in the dataset layer, and the `tuneport dataset` commands for every method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.datasets import conftest
from tests.datasets.conftest import CHAT_PROMPT, PROMPT, text, where, write_lines
from tuneport.cli import commands, data  # noqa: F401  (registers the verbs, in the CLI's order)
from tuneport.cli.app import State, cli
from tuneport.datasets import (
    DatasetLimits,
    JsonCodec,
    convert_dataset,
    dataset_stats,
    detect_format,
    detect_method,
    read_prompt_examples,
    read_records,
    validate_dataset,
    write_examples,
)
from tuneport.errors import DatasetError
from tuneport.models import PromptExample

#: The shared fixture: every test taking it runs with both JSON codecs.
codec = conftest.codec


EXPECTED = PROMPT
SHAPES: dict[str, dict[str, Any]] = {
    "vertex": {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [text("user", "hi"), text("model", "hello"), text("user", "fruit?")],
    },
    "openai": {"messages": CHAT_PROMPT},
    "trl": {"prompt": CHAT_PROMPT},
    "neutral": EXPECTED.model_dump(mode="json"),
}


@pytest.mark.parametrize("fmt", list(SHAPES))
def test_every_prompt_shape_reads_into_the_same_prompt(tmp_path: Path, fmt: str, codec: JsonCodec) -> None:
    path = write_lines(tmp_path / "p.jsonl", [SHAPES[fmt], "", SHAPES[fmt]])
    assert detect_format(path) == fmt
    records = list(read_records(path, method="distillation", codec=codec))
    assert [(r.line, r.example) for r in records] == [(1, EXPECTED), (3, EXPECTED)]
    report = validate_dataset(path, method="distillation", codec=codec)
    assert report.ok
    assert report.method == "distillation"


def test_the_shape_tells_prompts_only_where_it_can(tmp_path: Path) -> None:
    # Vertex contents and OpenAI messages hold supervised examples and prompts alike.
    tmp = tmp_path
    assert detect_method(write_lines(tmp / "v.jsonl", [SHAPES["vertex"]])) is None
    assert detect_method(write_lines(tmp / "o.jsonl", [SHAPES["openai"]])) is None
    assert detect_method(write_lines(tmp / "t.jsonl", [{"prompt": "q"}])) == "distillation"
    assert detect_method(write_lines(tmp / "n.jsonl", [SHAPES["neutral"]])) == "distillation"
    assert detect_method(write_lines(tmp / "g.jsonl", [{"text_input": "q", "output": "a"}])) == "supervised"


def test_a_prompt_file_read_as_supervised_keeps_todays_report(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.jsonl", [SHAPES["vertex"]])
    assert where(validate_dataset(path).problems) == [(1, "contents[2].role", "role-order")]
    with pytest.raises(
        DatasetError, match=r"not supervised examples \[method-mismatch\] \(method='distillation'"
    ):
        validate_dataset(write_lines(tmp_path / "t.jsonl", [{"prompt": "q"}]))


BAD: list[tuple[str, Any, list[tuple[int | None, str | None, str]]]] = [
    (
        "vertex: ends with a model turn",
        {"contents": [text("user", "q"), text("model", "a")]},
        [(1, "contents[1].role", "role-order")],
    ),
    (
        "vertex: empty text",
        {"contents": [text("user", "")]},
        [(1, "contents[0].parts[0].text", "empty-text")],
    ),
    (
        "vertex: completions are not prompts",
        {"contents": [text("user", "q")], "x": 1},
        [(1, "x", "unknown-field")],
    ),
    (
        "openai: ends with the assistant",
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        [(1, "messages[1].role", "role-order")],
    ),
    (
        "openai: a late system message",
        {"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}]},
        [(1, "messages[1].role", "role-order")],
    ),
    ("trl: empty prompt", {"prompt": ""}, [(1, "prompt", "empty-text")]),
    ("trl: no messages", {"prompt": []}, [(1, "prompt", "empty-conversation")]),
]


@pytest.mark.parametrize(("name", "record", "expected"), BAD, ids=[c[0] for c in BAD])
def test_prompt_problems_name_line_field_and_rule(
    tmp_path: Path, codec: JsonCodec, name: str, record: Any, expected: Any
) -> None:
    fmt = name.split(":", maxsplit=1)[0]
    path = write_lines(tmp_path / "p.jsonl", [record])
    report = validate_dataset(path, method="distillation", format=fmt, codec=codec)
    assert where(report.errors) == expected


def test_in_memory_prompts_are_strings_or_prompt_examples(tmp_path: Path) -> None:
    prompts = (
        "What is 2+2?",
        PromptExample(prompt="Name a fruit."),
        {"prompt": "Why?", "system": [{"kind": "text", "text": "be brief"}]},
    )
    assert validate_dataset(prompts, method="distillation").ok
    report = convert_dataset(prompts, tmp_path / "p.jsonl", to="vertex", method="distillation")
    assert report.written == 3
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert lines[0] == {"contents": [text("user", "What is 2+2?")]}
    assert lines[2]["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert list(read_prompt_examples(tmp_path / "p.jsonl"))[1] == PromptExample(prompt="Name a fruit.")
    bad = validate_dataset(
        ("ok", "", {"prompt": [{"role": "user", "parts": "a"}, {"role": "model", "parts": "b"}]}),
        method="distillation",
    )
    assert where(bad.problems) == [(2, "prompt[0].parts[0].text", "empty-text"), (3, "prompt", "bad-type")]
    assert write_examples(["q"], tmp_path / "w.jsonl", format="trl", method="distillation") == 1
    assert json.loads((tmp_path / "w.jsonl").read_text()) == {"prompt": "q"}


def test_prompts_round_trip_through_every_format(tmp_path: Path, codec: JsonCodec) -> None:
    current = write_lines(tmp_path / "v.jsonl", [SHAPES["vertex"], {"contents": [text("user", "q")]}])
    original = list(read_prompt_examples(current, codec=codec))
    for fmt in ("openai", "trl", "neutral", "vertex"):
        target = tmp_path / f"{fmt}.jsonl"
        report = convert_dataset(current, target, to=fmt, method="distillation", codec=codec)
        assert (report.written, report.lossless) == (2, True)
        assert list(read_prompt_examples(target, codec=codec)) == original
        current = target


def test_supervised_examples_convert_into_prompts_without_their_last_answer(tmp_path: Path) -> None:
    sft = write_lines(
        tmp_path / "sft.jsonl",
        [
            {"contents": [text("user", "q"), text("model", "a")]},
            {
                "contents": [
                    text("user", "hi"),
                    text("model", "hello"),
                    text("user", "fruit?"),
                    text("model", "x"),
                ]
            },
        ],
    )
    report = convert_dataset(
        sft, tmp_path / "p.jsonl", to="openai", method="distillation", source_method="supervised"
    )
    assert (report.written, report.source_method, report.method) == (2, "supervised", "distillation")
    prompts = list(read_prompt_examples(tmp_path / "p.jsonl"))
    assert prompts[0] == PromptExample(prompt="q")
    assert prompts[1].prompt == EXPECTED.prompt


def test_prompt_stats_and_limits(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(tmp_path / "p.jsonl", [{"prompt": "q" * 40}, {"prompt": "q" * 8}, SHAPES["trl"]])
    limits = DatasetLimits(max_example_tokens=5)
    stats = dataset_stats(path, method="distillation", epochs=2, limits=limits, codec=codec)
    assert set(stats.tokens) == {"system", "prompt", "example"}
    # 10 + 2 + 6 tokens (the last: 2 of system, 0.5 + 1.25 + 1.5 of prompt); billed capped at 5 each.
    assert stats.estimated_tokens == 18
    assert stats.billable_tokens == (5 + 2 + 5) * 2
    assert (stats.truncated_count, stats.truncated_lines, stats.multi_turn_examples) == (2, (1, 3), 1)
    report = validate_dataset(path, method="distillation", limits=limits, codec=codec)
    assert where(report.problems) == [
        (1, None, "example-too-long-tokens"),
        (3, None, "example-too-long-tokens"),
    ]


# --- the CLI ----------------------------------------------------------------------------------


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=State(), prog_name="tuneport")


def preference_file(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "prefs.jsonl",
        [
            {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
            {"prompt": "2+3?", "chosen": "5", "rejected": "5"},
        ],
    )


def test_cli_validate_tells_the_method_from_the_data(tmp_path: Path) -> None:
    path = preference_file(tmp_path)
    result = run("--json", "dataset", "validate", str(path))
    assert result.exit_code == 4, result.output
    report = json.loads(result.stdout)
    assert (report["method"], report["format"]) == ("preference", "trl")
    assert [(p["line"], p["rule"]) for p in report["problems"]] == [(2, "identical-completions")]
    human = run("dataset", "validate", str(path))
    assert "preference data" in human.stdout
    assert "error identical-completions: 1 error\n" in human.stdout
    forced = run("dataset", "validate", str(path), "--method", "supervised")
    assert forced.exit_code != 0
    assert "method-mismatch" in forced.output


def test_cli_stats_and_convert_by_method(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "prefs.jsonl", [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}])
    stats = run("--json", "dataset", "stats", str(path), "--epochs", "2")
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["method"] == "preference"
    assert set(json.loads(stats.stdout)["tokens"]) == {"system", "prompt", "preferred", "rejected", "example"}
    vertex = run("dataset", "convert", str(path), str(tmp_path / "v.jsonl"), "--to", "vertex")
    assert vertex.exit_code == 0, vertex.output
    assert json.loads((tmp_path / "v.jsonl").read_text())["completions"][0]["score"] == 1
    sft = run(
        "--json",
        "dataset",
        "convert",
        str(path),
        str(tmp_path / "sft.jsonl"),
        "--to",
        "openai",
        "--method",
        "supervised",
    )
    assert sft.exit_code == 0, sft.output
    assert json.loads(sft.stdout)["source_method"] == "preference"
    assert json.loads((tmp_path / "sft.jsonl").read_text()) == {
        "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    }
    prompts = run(
        "dataset",
        "convert",
        str(tmp_path / "sft.jsonl"),
        str(tmp_path / "p.jsonl"),
        "--to",
        "trl",
        "--method",
        "distillation",
        "--from-method",
        "supervised",
    )
    assert prompts.exit_code == 0, prompts.output
    assert json.loads((tmp_path / "p.jsonl").read_text()) == {"prompt": "2+2?"}
    refused = run(
        "dataset",
        "convert",
        str(tmp_path / "sft.jsonl"),
        str(tmp_path / "x.jsonl"),
        "--to",
        "vertex",
        "--method",
        "preference",
        "--from-method",
        "supervised",
    )
    assert refused.exit_code == 2
    assert "cannot be converted into preference examples" in refused.output


def test_cli_validate_against_a_model_uses_the_limits_of_the_method(tmp_path: Path) -> None:
    image = {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}
    record = {
        "contents": [{"role": "user", "parts": [{"text": "q"}, image]}],
        "completions": [
            {"completion": {"role": "model", "parts": [{"text": "a"}]}, "score": 1},
            {"completion": {"role": "model", "parts": [{"text": "b"}]}, "score": 0},
        ],
    }
    path = write_lines(tmp_path / "prefs.jsonl", [record])
    result = run("--json", "dataset", "validate", str(path), "-b", "vertex", "-m", "gemini-2.5-flash")
    assert result.exit_code == 4, result.output
    problems = json.loads(result.stdout)["problems"]
    # Vertex preference data is text only (the catalog's preference limits); its supervised data is not.
    assert [(p["line"], p["field"], p["rule"]) for p in problems] == [
        (1, "contents[0].parts[1]", "file-part-not-allowed")
    ]


def test_json_array_of_prompts_keeps_element_lines(tmp_path: Path, codec: JsonCodec) -> None:
    path = tmp_path / "p.json"
    path.write_text('[\n{"prompt": "a"},\n{"prompt": ""},\n{"prompt": "c"}\n]\n', encoding="utf-8")
    report = validate_dataset(path, method="distillation", codec=codec)
    assert where(report.problems) == [(3, "prompt", "empty-text")]
    assert report.format == "trl"
