"""Stats on a small known dataset, the token estimate, and the quantile sketch."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.datasets.conftest import vertex, write_lines
from tuneport.datasets import DatasetLimits, dataset_stats, estimate_tokens
from tuneport.datasets.stats import EXACT_LIMIT, QuantileSketch

IMAGE = {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}


def test_stats_of_a_known_dataset(tmp_path: Path) -> None:
    records = [
        vertex("a" * 40, "b" * 8),  # user 40 chars = 10 tokens, model 8 = 2
        vertex("a" * 80, "b" * 4, system="s" * 12),  # system 12 = 3, user 20, model 1
        vertex("a" * 4, "b" * 400, "a" * 4, "b" * 400),  # multi-turn: user 8 = 2, model 800 = 200
        {
            "contents": [
                {"role": "user", "parts": [{"text": "a" * 8}, IMAGE]},
                {"role": "model", "parts": [{"text": "b" * 12}]},
            ]
        },
        "{broken",
    ]
    stats = dataset_stats(
        write_lines(tmp_path / "v.jsonl", records),
        epochs=3,
        limits=DatasetLimits(max_example_tokens=100, max_output_chars=300),
    )
    assert (stats.example_count, stats.invalid_example_count) == (5, 1)
    assert (stats.multi_turn_examples, stats.examples_with_system, stats.file_parts) == (1, 1, 1)
    user = stats.chars["user"]
    assert (user.count, user.min, user.median, user.p95, user.max, user.total) == (4, 8, 8, 80, 80, 136)
    assert user.mean == 34.0
    assert user.exact
    model = stats.chars["model"]
    assert (model.min, model.median, model.max) == (4, 8, 800)
    assert (stats.chars["system"].count, stats.chars["system"].max) == (1, 12)
    # Tokens: a file part is 258; the user turn of line 4 is 2 + 258.
    assert [stats.tokens["user"].min, stats.tokens["user"].median, stats.tokens["user"].max] == [2, 10, 260]
    assert stats.tokens["example"].total == (10 + 2) + (3 + 20 + 1) + (2 + 200) + (2 + 258 + 3) == 501
    assert stats.estimated_tokens == 501
    # Lines 3 (202 tokens) and 4 (263) exceed 100 tokens: truncated, and billed at the cap.
    assert stats.truncated_lines == (3, 4)
    assert stats.truncated_count == 2
    assert stats.billable_tokens == (12 + 24 + 100 + 100) * 3
    assert [(p.line, p.rule) for p in stats.over_limit] == [(3, "output-too-long")]
    assert stats.problems[0].line == 5
    assert stats.to_dict()["tokens"]["example"]["total"] == 501


def test_stats_without_epochs_has_no_billable_estimate() -> None:
    stats = dataset_stats([("q" * 8, "a" * 4)])
    assert stats.billable_tokens is None
    assert stats.estimated_tokens == 3
    assert stats.chars["system"].median is None
    with pytest.raises(ValueError, match="epochs"):
        dataset_stats([("q", "a")], epochs=0)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abcd" * 25, 25),  # ASCII: 4 characters per token
        ("é" * 30, 10),  # 2-byte characters: 3 per token
        ("数据" * 20, 30),  # CJK: 0.75 tokens per character
        ("hello 世界", 3),  # 6/4 + 2*0.75 = 3
        ("😀" * 4, 3),  # 4-byte characters count as wide
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_sketch_is_exact_below_the_limit() -> None:
    sketch = QuantileSketch()
    for value in [5, 1, 4, 2, 3]:
        sketch.add(value)
    assert sketch.quantiles(0.5, 0.95, 1.0) == [3, 5, 5]
    assert (sketch.min, sketch.max, sketch.total, sketch.exact) == (1, 5, 15, True)
    assert QuantileSketch().quantile(0.5) is None


def test_sketch_stays_within_one_percent_beyond_the_limit() -> None:
    rng = random.Random(1)
    values = [int(rng.lognormvariate(7, 1.5)) for _ in range(EXACT_LIMIT + 50_000)]
    sketch = QuantileSketch()
    for value in values:
        sketch.add(value)
    assert not sketch.exact
    ordered = sorted(values)
    for q in (0.5, 0.95, 0.99):
        true = ordered[max(1, -(-int(q * len(values)) // 1)) - 1]
        estimate = sketch.quantile(q)
        assert estimate is not None
        assert abs(estimate - true) <= 0.01 * true + 1
    assert (sketch.min, sketch.max) == (min(values), max(values))
    assert sketch.total == sum(values)
    assert len(sketch._buckets) < 2000  # bounded memory
