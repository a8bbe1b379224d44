"""The cross-file rule: a validation dataset no larger than its share of the training data (#17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tuneport.catalog import Catalog, CatalogEntry, MethodRule
from tuneport.datasets import convert_dataset
from tuneport.datasets.limits import DatasetLimits
from tuneport.datasets.split_rules import Measured, format_bytes, validation_share_problems
from tuneport.models import Example, JobSpec, TuningMethod
from tuneport.preflight import preflight
from tuneport.protocol import BaseBackend, Capabilities, Operation

SUPERVISED = DatasetLimits(max_validation_examples=5000, max_validation_share_bytes=0.25)
PREFERENCE = DatasetLimits(
    max_validation_examples=5000, max_validation_share_rows=0.30, validation_share_rows_over=1000
)


class _Backend(BaseBackend):
    """Declares supervised and preference tuning; pre-flight never calls it."""

    name: ClassVar[str] = "memory"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation),
        methods=frozenset({TuningMethod.SUPERVISED, TuningMethod.PREFERENCE}),
        data_sources=frozenset({"inline", "file", "uri"}),
        validation_data=True,
    )


def _catalog() -> Catalog:
    catalog = Catalog()
    catalog.add(
        CatalogEntry(
            backend="memory",
            base_model="m",
            limits=SUPERVISED,
            validation_data=True,
            methods={
                TuningMethod.SUPERVISED: MethodRule(),
                TuningMethod.PREFERENCE: MethodRule(limits=PREFERENCE),
            },
        )
    )
    return catalog


def _example(n: int, answer_chars: int) -> dict[str, Any]:
    return {
        "contents": [
            {"role": "user", "parts": [{"text": f"question {n}"}]},
            {"role": "model", "parts": [{"text": "a" * answer_chars}]},
        ]
    }


def _preference(n: int) -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": f"question {n}"}]}],
        "completions": [
            {"score": 1, "completion": {"role": "model", "parts": [{"text": "good"}]}},
            {"score": 0, "completion": {"role": "model", "parts": [{"text": "bad"}]}},
        ],
    }


def _write(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def _shares(spec: JobSpec) -> list[Any]:
    report = preflight(spec, backend=_Backend(), catalog=_catalog())
    return [f for f in report.findings if f.problem.rule == "validation-share"]


def test_an_80_20_split_with_longer_held_out_rows_is_refused_naming_both_files(tmp_path: Path) -> None:
    # Google's example: 80/20 by rows, the held-out rows slightly longer than average.
    train = _write(tmp_path / "train.jsonl", [_example(n, 100) for n in range(80)])
    val = _write(tmp_path / "val.jsonl", [_example(n, 150) for n in range(20)])
    found = _shares(JobSpec(base_model="m", training_data=train, validation_data=val))
    assert len(found) == 1
    finding = found[0]
    assert (finding.kind, finding.problem.field, finding.problem.severity) == (
        "dataset",
        "validation_data",
        "error",
    )
    train_bytes, val_bytes = Path(train).stat().st_size, Path(val).stat().st_size
    share = round(val_bytes / train_bytes * 100)
    assert finding.problem.message == (
        f"validation_data (val.jsonl, {format_bytes(val_bytes)}) is {share}% of training_data "
        f"(train.jsonl, {format_bytes(train_bytes)}): memory takes at most 25% of the training file's bytes"
    )


def test_a_validation_file_within_the_share_passes(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [_example(n, 100) for n in range(80)])
    val = _write(tmp_path / "val.jsonl", [_example(n, 100) for n in range(19)])
    assert _shares(JobSpec(base_model="m", training_data=train, validation_data=val)) == []


def test_in_memory_examples_are_measured_as_the_jsonl_they_are_staged_as(tmp_path: Path) -> None:
    train = tuple(Example.from_pair(f"q{n}", "a" * 100) for n in range(8))
    val = tuple(Example.from_pair(f"q{n}", "a" * 100) for n in range(3))
    found = _shares(JobSpec(base_model="m", training_data=train, validation_data=val))
    staged = {}
    for name, examples in (("train", train), ("val", val)):
        convert_dataset(examples, tmp_path / f"{name}.jsonl", to="vertex")
        staged[name] = format_bytes((tmp_path / f"{name}.jsonl").stat().st_size)
    assert [f.problem.message for f in found] == [
        f"validation_data (in-memory examples, {staged['val']}) is 38% of training_data "
        f"(in-memory examples, {staged['train']}): memory takes at most 25% of the training file's bytes"
    ]
    assert _shares(JobSpec(base_model="m", training_data=train, validation_data=val[:2])) == []


def test_a_remote_dataset_is_a_warning_that_the_rule_was_not_checked(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [_example(n, 100) for n in range(8)])
    found = _shares(JobSpec(base_model="m", training_data=train, validation_data="gs://b/val.jsonl"))
    assert [(f.problem.severity, f.problem.message) for f in found] == [
        (
            "warning",
            "the size of validation_data next to training_data is not checked: gs://b/val.jsonl is not "
            "read locally (memory checks it when the job starts)",
        )
    ]


def test_preference_rows_over_1000_are_capped_at_30_percent_of_the_training_rows(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [_preference(n) for n in range(3000)])
    val = _write(tmp_path / "val.jsonl", [_preference(n) for n in range(1001)])
    spec = JobSpec(base_model="m", method="preference", training_data=train, validation_data=val)
    assert [f.problem.message for f in _shares(spec)] == [
        "validation_data (val.jsonl, 1,001 rows) is 33% of training_data (train.jsonl, 3,000 rows): "
        "memory takes at most 30% of the training rows when it has more than 1,000"
    ]
    # Up to 1,000 validation rows, no share applies (Google: "if there are more than 1000").
    small = _write(tmp_path / "small.jsonl", [_preference(n) for n in range(1000)])
    spec = JobSpec(base_model="m", method="preference", training_data=train, validation_data=small)
    assert _shares(spec) == []
    # Preference data is not held to the supervised byte share: its method's limits apply.
    big = _write(tmp_path / "big.jsonl", [_preference(n) for n in range(900)])
    spec = JobSpec(base_model="m", method="preference", training_data=train, validation_data=big)
    assert _shares(spec) == []


@pytest.mark.parametrize(
    ("training", "validation", "expected"),
    [
        (Measured("training_data", "t", 1000, 10), Measured("validation_data", "v", 250, 2), []),
        (Measured("training_data", "t", 1000, 10), Measured("validation_data", "v", 251, 2), ["25.1%"]),
        (Measured("training_data", "t", 0, 0), Measured("validation_data", "v", 1, 1), ["more than all"]),
    ],
)
def test_the_byte_share_boundary(training: Measured, validation: Measured, expected: list[str]) -> None:
    problems = validation_share_problems(training, validation, SUPERVISED, backend="vertex")
    assert [p.message.split(" is ")[1].split(" of ")[0] for p in problems] == expected


def test_no_share_limits_no_check() -> None:
    big = Measured("validation_data", "v", 10**9, 10**6)
    assert (
        validation_share_problems(Measured("training_data", "t", 1, 1), big, DatasetLimits(), backend="x")
        == []
    )


@pytest.mark.parametrize(
    ("size", "shown"),
    [(999, "999 B"), (1000, "1.0 KB"), (310_000, "310 KB"), (1_000_000, "1.0 MB"), (2 * 10**12, "2000 GB")],
)
def test_sizes_are_shown_in_decimal_units(size: int, shown: str) -> None:
    assert format_bytes(size) == shown
