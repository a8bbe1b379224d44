"""Preference data in the dataset layer: every shape read, validated with lines, measured and converted.

Every file case runs with both JSON codecs: the accelerated one (msgspec fast
paths) and the stdlib one must give the same examples and the same problems.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.datasets import conftest
from tests.datasets.conftest import CHAT_PROMPT, PROMPT, text, where, write_lines
from tuneport.catalog import Catalog, CatalogEntry, MethodRule
from tuneport.datasets import (
    DatasetLimits,
    JsonCodec,
    convert_dataset,
    dataset_stats,
    detect_format,
    detect_method,
    parallel,
    read_examples,
    read_preference_examples,
    read_records,
    validate_dataset,
    write_examples,
)
from tuneport.errors import DatasetError
from tuneport.models import Example, FilePart, JobSpec, PreferenceExample, TuningMethod, Turn
from tuneport.preflight import preflight
from tuneport.protocol import BaseBackend, Capabilities, Operation

#: The shared fixture: every test taking it runs with both JSON codecs.
codec = conftest.codec


def completion(value: str, score: Any, role: str = "model") -> dict[str, Any]:
    return {"completion": text(role, value), "score": score}


def vertex(
    prompt: str = "q", preferred: str = "good", rejected: str = "bad", *, system: str | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "contents": [text("user", prompt)],
        "completions": [completion(preferred, 1), completion(rejected, 0)],
    }
    if system is not None:
        record["systemInstruction"] = {"parts": [{"text": system}]}
    return record


def dpo(prompt: str = "q", preferred: str = "good", rejected: str = "bad") -> dict[str, Any]:
    return {
        "input": {"messages": [{"role": "user", "content": prompt}]},
        "preferred_output": [{"role": "assistant", "content": preferred}],
        "non_preferred_output": [{"role": "assistant", "content": rejected}],
    }


def trl(prompt: Any = "q", chosen: Any = "good", rejected: Any = "bad") -> dict[str, Any]:
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


EXPECTED = PreferenceExample(
    system=PROMPT.system,
    prompt=PROMPT.prompt,
    preferred="Apple!",
    rejected="I like fruit.",
)

SHAPES: dict[str, dict[str, Any]] = {
    "vertex": {
        "system_instruction": {"parts": [{"text": "be brief"}]},
        "contents": [text("user", "hi"), text("model", "hello"), text("user", "fruit?")],
        # The rejected answer first, and a float score: both as Google's frontends accept.
        "completions": [completion("I like fruit.", 0), completion("Apple!", 1.0)],
    },
    "openai": {
        "input": {
            # The last message's content as a list of parts.
            "messages": [
                *CHAT_PROMPT[:-1],
                {"role": "user", "content": [{"type": "text", "text": "fruit?"}]},
            ],
            "tools": [],
            "parallel_tool_calls": True,
        },
        "preferred_output": [{"role": "assistant", "content": "Apple!"}],
        "non_preferred_output": [{"role": "assistant", "content": "I like fruit."}],
    },
    "trl": {
        "prompt": CHAT_PROMPT,
        "chosen": [{"role": "assistant", "content": "Apple!"}],
        "rejected": "I like fruit.",
    },
    "neutral": EXPECTED.model_dump(mode="json"),
}


@pytest.mark.parametrize("fmt", list(SHAPES))
def test_every_shape_reads_into_the_same_preference_example(
    tmp_path: Path, fmt: str, codec: JsonCodec
) -> None:
    path = write_lines(tmp_path / "p.jsonl", ["", SHAPES[fmt], SHAPES[fmt]])
    assert detect_format(path) == fmt
    assert detect_method(path) == "preference"
    records = list(read_records(path, method="preference", codec=codec))
    assert [r.line for r in records] == [2, 3]
    assert [r.example for r in records] == [EXPECTED, EXPECTED]
    report = validate_dataset(path, method="preference", codec=codec)
    assert report.ok
    assert report.format == fmt
    assert report.method == "preference"
    assert where(report.problems) == [(3, None, "duplicate-example")]


def test_a_string_prompt_and_answers_are_one_turn_each(tmp_path: Path, codec: JsonCodec) -> None:
    one = PreferenceExample(prompt="q", preferred="a", rejected="b")
    for fmt, record in (
        ("trl", trl("q", "a", "b")),
        ("openai", dpo("q", "a", "b")),
        ("vertex", vertex("q", "a", "b")),
    ):
        path = write_lines(tmp_path / f"{fmt}.jsonl", [record])
        assert list(read_preference_examples(path, codec=codec)) == [one]


BAD_VERTEX: list[tuple[str, Any, list[tuple[int | None, str | None, str]]]] = [
    (
        "one completion",
        {**vertex(), "completions": [completion("a", 1)]},
        [(1, "completions", "completion-count")],
    ),
    (
        "three completions",
        {**vertex(), "completions": [completion("a", 1), completion("b", 0), completion("c", 0)]},
        [(1, "completions", "completion-count")],
    ),
    ("no completions", {"contents": [text("user", "q")]}, "mismatch"),
    (
        "same scores",
        {**vertex(), "completions": [completion("a", 1), completion("b", 1)]},
        [(1, "completions[1].score", "bad-score")],
    ),
    (
        "score out of range",
        {**vertex(), "completions": [completion("a", 1), completion("b", 2)]},
        [(1, "completions[1].score", "bad-score")],
    ),
    (
        "score as a boolean",
        {**vertex(), "completions": [completion("a", True), completion("b", 0)]},
        [(1, "completions[0].score", "bad-score")],
    ),
    (
        "missing score",
        {**vertex(), "completions": [{"completion": text("model", "a")}, completion("b", 0)]},
        [(1, "completions[0].score", "missing-field")],
    ),
    (
        "a user completion",
        {**vertex(), "completions": [completion("a", 1, role="user"), completion("b", 0)]},
        [(1, "completions[0].completion.role", "bad-role")],
    ),
    (
        "identical completions",
        {**vertex(), "completions": [completion("a", 1), completion("a", 0)]},
        [(1, "completions[1]", "identical-completions")],
    ),
    (
        "empty answer",
        {**vertex(), "completions": [completion("", 1), completion("b", 0)]},
        [(1, "completions[0].completion.parts[0].text", "empty-text")],
    ),
    (
        "prompt ends with a model turn",
        {**vertex(), "contents": [text("user", "q"), text("model", "a")]},
        [(1, "contents[1].role", "role-order")],
    ),
    (
        "prompt starts with a model turn",
        {**vertex(), "contents": [text("model", "a"), text("user", "q")]},
        [(1, "contents[0].role", "role-order")],
    ),
    ("empty prompt", {**vertex(), "contents": []}, [(1, "contents", "empty-conversation")]),
    ("unknown field", {**vertex(), "extra": 1}, [(1, "extra", "unknown-field")]),
    (
        "unknown completion field",
        {**vertex(), "completions": [{**completion("a", 1), "why": "x"}, completion("b", 0)]},
        [(1, "completions[0].why", "unknown-field")],
    ),
]


@pytest.mark.parametrize(("name", "record", "expected"), BAD_VERTEX, ids=[c[0] for c in BAD_VERTEX])
def test_vertex_preference_problems_name_line_field_and_rule(
    tmp_path: Path, codec: JsonCodec, name: str, record: Any, expected: Any
) -> None:
    path = write_lines(tmp_path / "p.jsonl", [vertex("first"), record])
    if expected == "mismatch":
        # The first record tells the method; this one is checked by the preference grammar.
        report = validate_dataset(path, method="preference", codec=codec)
        assert where(report.errors) == [(2, "completions", "missing-field")]
        return
    report = validate_dataset(path, method="preference", codec=codec)
    assert where(report.errors) == [(line + 1, field, rule) for line, field, rule in expected]
    assert report.valid_example_count == 1


BAD_OTHERS: list[tuple[str, Any, list[tuple[int | None, str | None, str]]]] = [
    (
        "dpo: two preferred messages",
        {**dpo(), "preferred_output": [{"role": "assistant", "content": "a"}] * 2},
        [(1, "preferred_output", "completion-count")],
    ),
    (
        "dpo: a user output",
        {**dpo(), "non_preferred_output": [{"role": "user", "content": "a"}]},
        [(1, "non_preferred_output[0].role", "bad-role")],
    ),
    (
        "dpo: input ends with the assistant",
        {
            **dpo(),
            "input": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        },
        [(1, "input.messages[1].role", "role-order")],
    ),
    (
        "dpo: a tool",
        {**dpo(), "input": {"messages": [{"role": "user", "content": "q"}], "tools": [{"type": "function"}]}},
        [(1, "input.tools[0].type", "unknown-field")],
    ),
    (
        "dpo: identical outputs",
        dpo("q", "same", "same"),
        [(1, "non_preferred_output", "identical-completions")],
    ),
    ("dpo: missing input", {k: v for k, v in dpo().items() if k != "input"}, [(1, "input", "missing-field")]),
    ("trl: empty chosen", trl(chosen=""), [(1, "chosen", "empty-text")]),
    ("trl: identical answers", trl(chosen="x", rejected="x"), [(1, "rejected", "identical-completions")]),
    (
        "trl: chosen with two messages",
        trl(chosen=[{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]),
        [(1, "chosen", "completion-count")],
    ),
    ("trl: chosen a number", trl(chosen=3), [(1, "chosen", "bad-type")]),
]


@pytest.mark.parametrize(("name", "record", "expected"), BAD_OTHERS, ids=[c[0] for c in BAD_OTHERS])
def test_openai_and_trl_preference_problems(
    tmp_path: Path, codec: JsonCodec, name: str, record: Any, expected: Any
) -> None:
    good = dpo("first") if name.startswith("dpo") else trl("first")
    path = write_lines(tmp_path / "p.jsonl", [good, record])
    report = validate_dataset(path, method="preference", codec=codec)
    assert where(report.errors) == [(line + 1, field, rule) for line, field, rule in expected]


def test_preference_data_read_as_supervised_names_the_method(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.jsonl", [vertex()])
    with pytest.raises(DatasetError) as excinfo:
        validate_dataset(path)
    assert excinfo.value.problems[0].rule == "method-mismatch"
    assert "method='preference'" in str(excinfo.value)
    assert "source_method='preference'" in str(excinfo.value)  # the SFT conversion is offered
    with pytest.raises(DatasetError, match="method-mismatch"):
        list(read_examples(path))
    sft = write_lines(tmp_path / "sft.jsonl", [{"contents": [text("user", "q"), text("model", "a")]}])
    with pytest.raises(DatasetError, match="not preference examples"):
        validate_dataset(sft, method="preference")


def test_a_format_that_cannot_hold_preference_data_is_refused(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.jsonl", [vertex()])
    with pytest.raises(ValueError, match="gemini format holds supervised examples"):
        validate_dataset(path, method="preference", format="gemini")
    with pytest.raises(ValueError, match="trl format holds preference examples and distillation prompts"):
        convert_dataset(path, tmp_path / "o.jsonl", to="trl")
    with pytest.raises(ValueError, match="unknown tuning method"):
        validate_dataset(path, method="dpo")


# --- in memory ------------------------------------------------------------------------------


def test_in_memory_preference_examples_validate_and_stage_as_vertex(tmp_path: Path) -> None:
    examples = (
        PreferenceExample(prompt="2+2?", preferred="4", rejected="5"),
        {"prompt": "capital of France?", "preferred": "Paris", "rejected": "Lyon"},
    )
    assert validate_dataset(examples, method="preference").ok
    report = convert_dataset(examples, tmp_path / "train.jsonl", to="vertex", method="preference")
    assert (report.read, report.written, report.method, report.source_method) == (
        2,
        2,
        "preference",
        "preference",
    )
    lines = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert lines[0] == {
        "contents": [text("user", "2+2?")],
        "completions": [completion("4", 1), completion("5", 0)],
    }
    assert validate_dataset(tmp_path / "train.jsonl", method="preference").ok


def test_in_memory_problems_have_positions_and_model_paths() -> None:
    examples = (
        PreferenceExample(prompt="q", preferred="a", rejected="b"),
        {"prompt": "q", "preferred": "a", "rejected": "a"},
        {"prompt": "q", "preferred": "  ", "rejected": "b"},
        {"prompt": "q", "preferred": "a"},
    )
    report = validate_dataset(examples, method="preference")
    assert where(report.problems) == [
        (2, "rejected", "identical-completions"),
        (3, "preferred.parts[0].text", "blank-text"),
        (4, "rejected", "bad-type"),
    ]
    mixed = validate_dataset((Example.from_pair("q", "a"),), method="preference")
    assert where(mixed.problems) == [(1, None, "method-mismatch")]
    supervised = validate_dataset(examples[:1])
    assert where(supervised.problems) == [(1, None, "method-mismatch")]


def test_write_examples_writes_preference_examples(tmp_path: Path) -> None:
    examples = [PreferenceExample(prompt="q", preferred="a", rejected="b")]
    assert write_examples(examples, tmp_path / "p.jsonl", format="openai", method="preference") == 1
    assert json.loads((tmp_path / "p.jsonl").read_text()) == dpo("q", "a", "b")
    with pytest.raises(DatasetError, match="trl format holds text only"):
        write_examples(
            [
                PreferenceExample(
                    prompt=(Turn(role="user", parts=(FilePart(uri="gs://b/x.png", mime_type="image/png"),)),),
                    preferred="a",
                    rejected="b",
                )
            ],
            tmp_path / "x.jsonl",
            format="trl",
            method="preference",
        )
    assert not (tmp_path / "x.jsonl").exists()


# --- limits ---------------------------------------------------------------------------------

VERTEX_PREFERENCE = DatasetLimits(
    text_only=True, max_example_tokens=20, max_examples=3, max_validation_examples=2, max_file_bytes=10_000
)


def test_vertex_preference_limits(tmp_path: Path, codec: JsonCodec) -> None:
    with_file = vertex()
    with_file["completions"][1]["completion"]["parts"] = [
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}
    ]
    long_answer = vertex(
        "q" * 40, "a" * 40, "b"
    )  # 10 + 10 tokens: within 20 for the prompt + the longer answer
    too_long = vertex("q" * 40, "a" * 44, "b")  # 10 + 11 tokens
    path = write_lines(tmp_path / "p.jsonl", [vertex(), with_file, long_answer, too_long])
    report = validate_dataset(path, method="preference", limits=VERTEX_PREFERENCE, codec=codec)
    assert where(report.problems) == [
        (2, "completions[1].completion.parts[0]", "file-part-not-allowed"),
        (2, None, "example-too-long-tokens"),  # a file part counts 258 tokens
        (4, None, "example-too-long-tokens"),
        (None, None, "too-many-examples"),
    ]
    assert "the prompt and the longer answer" in report.problems[2].message
    validation = validate_dataset(
        path, method="preference", limits=VERTEX_PREFERENCE, role="validation", codec=codec
    )
    assert [p.message for p in validation.problems if p.rule == "too-many-examples"] == [
        "4 examples; a validation dataset may have at most 2"
    ]


def test_character_limits_and_pairs_only_apply_to_the_prompt_and_each_answer(tmp_path: Path) -> None:
    limits = DatasetLimits(max_input_chars=5, max_output_chars=3, pairs_only=True)
    record = vertex("question", "good", "bad", system="s")
    path = write_lines(tmp_path / "p.jsonl", [record])
    report = validate_dataset(path, method="preference", limits=limits)
    assert where(report.problems) == [
        (1, "systemInstruction", "system-not-allowed"),
        (1, "contents[0]", "input-too-long"),
        (1, "completions[0].completion", "output-too-long"),
    ]


def test_parallel_validation_of_preference_data_matches_a_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 4 * 1024)
    records: list[Any] = [vertex(f"q{i}", f"good {i}", f"bad {i}") for i in range(400)]
    records[7] = vertex("q0", "good 0", "bad 0")  # a duplicate of line 1
    records[250] = {**vertex(), "completions": [completion("a", 1)]}
    path = write_lines(tmp_path / "p.jsonl", records)
    limits = DatasetLimits(text_only=True, max_example_tokens=20)
    serial = validate_dataset(path, method="preference", limits=limits)
    forked = validate_dataset(path, method="preference", limits=limits, workers=3)
    assert forked.problems == serial.problems
    assert (forked.example_count, forked.valid_example_count) == (400, serial.valid_example_count)
    assert where(serial.problems)[:2] == [
        (8, None, "duplicate-example"),
        (251, "completions", "completion-count"),
    ]


# --- stats ----------------------------------------------------------------------------------


def test_stats_count_the_prompt_and_both_answers(tmp_path: Path, codec: JsonCodec) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [
            vertex("q" * 8, "a" * 4, "b" * 12, system="s" * 4),
            vertex("q" * 40, "a" * 80, "b"),
            {"contents": []},
        ],
    )
    stats = dataset_stats(
        path, method="preference", epochs=3, limits=DatasetLimits(max_example_tokens=25), codec=codec
    )
    assert stats.method == "preference"
    assert (stats.example_count, stats.invalid_example_count, stats.examples_with_system) == (3, 1, 1)
    assert set(stats.tokens) == {"system", "prompt", "preferred", "rejected", "example"}
    # Line 1: 1 + 2 + 1 + 3 = 7 tokens; line 2: 10 + 20 + 1 = 31 tokens.
    assert stats.tokens["example"].total == stats.estimated_tokens == 38
    assert stats.billable_tokens == 38 * 3
    assert stats.tokens["preferred"].max == 20
    # The limit applies to the prompt and the longer answer: 10 + 20 > 25.
    assert (stats.truncated_count, stats.truncated_lines) == (1, (2,))
    assert stats.to_dict()["method"] == "preference"


# --- conversion -----------------------------------------------------------------------------


def test_preference_data_round_trips_through_every_format(tmp_path: Path, codec: JsonCodec) -> None:
    source = write_lines(tmp_path / "v.jsonl", [SHAPES["vertex"], vertex("q2", "yes", "no", system="s")])
    original = list(read_preference_examples(source, codec=codec))
    current = source
    for fmt in ("openai", "trl", "neutral", "vertex"):
        target = tmp_path / f"{fmt}.jsonl"
        report = convert_dataset(current, target, to=fmt, method="preference", codec=codec)
        assert (report.read, report.written, report.lossless) == (2, 2, True)
        assert detect_method(target) == "preference"
        assert list(read_preference_examples(target, codec=codec)) == original
        current = target
    # Vertex to Vertex keeps the order of the completions it read.
    again = convert_dataset(source, tmp_path / "again.jsonl", to="vertex", method="preference")
    assert again.lossless
    first = json.loads((tmp_path / "again.jsonl").read_text().splitlines()[0])
    assert [c["score"] for c in first["completions"]] == [0, 1]


def test_preference_data_converts_into_sft_data_of_its_preferred_answers(
    tmp_path: Path, codec: JsonCodec
) -> None:
    source = write_lines(tmp_path / "p.jsonl", [SHAPES["openai"], dpo("q", "a", "b")])
    report = convert_dataset(
        source,
        tmp_path / "sft.jsonl",
        to="vertex",
        method="supervised",
        source_method="preference",
        codec=codec,
    )
    assert (report.method, report.source_method, report.written, report.lossless) == (
        "supervised",
        "preference",
        2,
        False,
    )
    examples = list(read_examples(tmp_path / "sft.jsonl"))
    assert examples[0] == Example(system=EXPECTED.system, turns=(*EXPECTED.prompt, EXPECTED.preferred))
    assert examples[1] == Example.from_pair("q", "a")
    pairs = convert_dataset(
        source, tmp_path / "pairs.csv", to="gemini", source_method="preference", policy="skip"
    )
    assert (pairs.written, pairs.skipped) == (1, 1)  # the multi-turn one with a system does not fit a pair
    prompts = convert_dataset(
        source, tmp_path / "prompts.jsonl", to="trl", method="distillation", source_method="preference"
    )
    assert prompts.written == 2
    assert json.loads((tmp_path / "prompts.jsonl").read_text().splitlines()[1]) == {"prompt": "q"}


def test_nothing_converts_into_preference_data(tmp_path: Path) -> None:
    sft = write_lines(tmp_path / "sft.jsonl", [{"contents": [text("user", "q"), text("model", "a")]}])
    with pytest.raises(ValueError, match="supervised examples cannot be converted into preference examples"):
        convert_dataset(
            sft, tmp_path / "o.jsonl", to="vertex", method="preference", source_method="supervised"
        )
    with pytest.raises(ValueError, match="distillation prompts cannot be converted into supervised examples"):
        convert_dataset(sft, tmp_path / "o.jsonl", to="vertex", source_method="distillation")
    assert not (tmp_path / "o.jsonl").exists()


def test_a_file_part_trl_cannot_hold_is_refused_or_skipped(tmp_path: Path) -> None:
    record = vertex()
    record["contents"][0]["parts"].append({"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}})
    source = write_lines(tmp_path / "p.jsonl", [vertex("ok"), record])
    with pytest.raises(DatasetError) as excinfo:
        convert_dataset(source, tmp_path / "t.jsonl", to="trl", method="preference")
    problem = excinfo.value.problems[0]
    assert (problem.line, problem.field, problem.rule) == (2, "contents[0].parts[1]", "file-part-not-allowed")
    assert not (tmp_path / "t.jsonl").exists()
    skipped = convert_dataset(source, tmp_path / "t.jsonl", to="trl", method="preference", policy="skip")
    assert (skipped.written, skipped.skipped) == (1, 1)


# --- pre-flight -----------------------------------------------------------------------------


class _PreferenceBackend(BaseBackend):
    """Declares supervised and preference tuning; pre-flight never calls it."""

    name: ClassVar[str] = "memory"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation),
        hyperparameters=frozenset({"epoch_count"}),
        methods=frozenset({TuningMethod.SUPERVISED, TuningMethod.PREFERENCE}),
    )


def test_preflight_checks_a_preference_file_by_the_limits_of_its_method(tmp_path: Path) -> None:
    catalog = Catalog()
    catalog.add(
        CatalogEntry(
            backend="memory",
            base_model="m",
            methods={
                TuningMethod.SUPERVISED: MethodRule(),
                TuningMethod.PREFERENCE: MethodRule(limits=DatasetLimits(text_only=True)),
            },
        )
    )
    record = vertex()
    record["completions"][0]["completion"]["parts"] = [
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}
    ]
    path = write_lines(tmp_path / "p.jsonl", [vertex("ok"), record])
    spec = JobSpec(base_model="m", method="preference", training_data=str(path))
    report = preflight(spec, backend=_PreferenceBackend(), catalog=catalog)
    assert [(f.kind, f.problem.line, f.problem.field, f.problem.rule) for f in report.findings] == [
        ("dataset", 2, "completions[0].completion.parts[0]", "file-part-not-allowed")
    ]
    in_memory = JobSpec(
        base_model="m",
        method="preference",
        training_data=({"prompt": "q", "preferred": "a", "rejected": "b"},),
    )
    assert preflight(in_memory, backend=_PreferenceBackend(), catalog=catalog).findings == []
    # A preference file given as supervised data is a dataset finding (not a raise past other findings).
    supervised = preflight(
        JobSpec(base_model="m", training_data=str(path)), backend=_PreferenceBackend(), catalog=catalog
    )
    assert [(f.kind, f.problem.rule) for f in supervised.findings] == [("dataset", "method-mismatch")]


def test_the_same_pair_in_the_other_order_is_a_duplicate(tmp_path: Path, codec: JsonCodec) -> None:
    swapped = vertex("q", "good", "bad")
    swapped["completions"].reverse()
    path = write_lines(
        tmp_path / "p.jsonl", [vertex("q", "good", "bad"), swapped, vertex("q", "bad", "good")]
    )
    report = validate_dataset(path, method="preference", codec=codec)
    # Line 3 prefers the other answer: another example, not a duplicate.
    assert where(report.problems) == [(2, None, "duplicate-example")]
    assert report.problems[0].message == "the same example as line 1"
