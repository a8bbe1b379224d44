"""Reading a tuning job's JSONL files from the emulated Cloud Storage, as the service does.

The file is checked with tuneport's own validator (:func:`tuneport.datasets.validate_dataset`,
Vertex format, Vertex's limits), so the emulator and ``tuneport dataset
validate`` agree on what is wrong.  A missing object, a file that is not
JSON Lines, or any invalid line makes the job fail with ``INVALID_ARGUMENT``
naming the file and the first bad line.  A valid file yields the examples a
tuned model answers from and the numbers of ``SupervisedTuningDataStats``.

Token counts are the emulator's estimate (:func:`tuneport_emulator.answers.estimate_tokens`).
tuneport.datasets (and with it pydantic) is imported on first use only, so
starting an emulator stays light.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneport_emulator.answers import estimate_tokens
from tuneport_emulator.storage import Objects
from tuneport_emulator.vertex.base_models import (
    MAX_EXAMPLE_TOKENS,
    MAX_FILE_BYTES,
    MAX_TRAINING_EXAMPLES,
    MAX_VALIDATION_EXAMPLES,
)

__all__ = ["SAMPLE_EXAMPLES", "Dataset", "data_stats", "read_dataset"]

#: How many examples ``userDatasetExamples`` shows.
SAMPLE_EXAMPLES = 3
#: Buckets of a token distribution's histogram.
_BUCKETS = 10
_MAX_TRUNCATED_LISTED = 100
_SYSTEM_KEYS = ("systemInstruction", "system_instruction")


@dataclass
class Dataset:
    """A valid dataset: its examples (``[input, output, system]``) and per-example measures."""

    uri: str
    examples: list[list[str]] = field(default_factory=list)
    characters: int = 0
    input_tokens: list[int] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    samples: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.examples)


def read_dataset(objects: Objects, uri: str, role: str) -> Dataset | str:
    """The dataset at ``uri`` (``role`` is ``training`` or ``validation``), or why it is unusable."""
    data = objects.read_uri(uri)
    if data is None:
        return f"Failed to read the {role} dataset {uri}: no such object in Cloud Storage."
    problem = _validate(data, uri, role)
    if problem is not None:
        return problem
    return _measure(data, uri)


def _validate(data: bytes, uri: str, role: str) -> str | None:
    from tuneport.datasets import DatasetLimits, FileLayout, validate_dataset
    from tuneport.errors import DatasetError

    limits = DatasetLimits(
        max_example_tokens=MAX_EXAMPLE_TOKENS,
        max_examples=MAX_TRAINING_EXAMPLES,
        max_validation_examples=MAX_VALIDATION_EXAMPLES,
        max_file_bytes=MAX_FILE_BYTES,
    )
    handle, name = tempfile.mkstemp(prefix="tuneport-emulator-", suffix=".jsonl")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        report = validate_dataset(
            path, format="vertex", limits=limits, role="validation" if role == "validation" else "training",
            max_problems=20, check_duplicates=False,
        )  # fmt: skip
    except DatasetError as exc:
        return f"The {role} dataset {uri} cannot be read: {exc}".replace(str(path), uri)
    finally:
        path.unlink(missing_ok=True)
    if report.layout is not None and report.layout != FileLayout.JSONL and report.example_count:
        return f"The {role} dataset {uri} must be JSON Lines (one JSON object per line)."
    if report.ok:
        return None
    first = report.errors[0]
    where = f"line {first.line}" if first.line is not None else "the file"
    if first.field:
        where += f", field {first.field}"
    more = report.error_count - 1
    extra = f" ({more:,} more error{'s' if more != 1 else ''} in the file)" if more else ""
    return f"The {role} dataset {uri} is invalid: {where}: {first.message}{extra}"


def _texts(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _measure(data: bytes, uri: str) -> Dataset:
    """The examples and measures of a file the validator accepted."""
    dataset = Dataset(uri)
    for raw in data.splitlines():
        if not raw.strip():
            continue
        record = json.loads(raw)
        system_value = next((record[k] for k in _SYSTEM_KEYS if k in record), None)
        system = _texts(system_value.get("parts")) if isinstance(system_value, dict) else ""
        contents = record["contents"]
        turns = [(str(c["role"]), _texts(c.get("parts"))) for c in contents]
        output = turns[-1][1]
        prompt = next((text for role, text in reversed(turns[:-1]) if role == "user"), "")
        before = system + "".join(text for _, text in turns[:-1])
        dataset.examples.append([prompt, output, system])
        dataset.characters += len(before) + len(output)
        dataset.input_tokens.append(estimate_tokens(before))
        dataset.output_tokens.append(estimate_tokens(output))
        dataset.messages.append(len(turns))
        if len(dataset.samples) < SAMPLE_EXAMPLES:
            dataset.samples.append([{"role": role, "parts": [{"text": text}]} for role, text in turns])
    return dataset


def _percentile(ordered: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])


def _distribution(values: Sequence[int], *, billable: Sequence[int] | None = None) -> dict[str, Any]:
    """A ``SupervisedTuningDatasetDistribution`` of per-example values."""
    if not values:
        return {}
    ordered = sorted(values)
    low, high = ordered[0], ordered[-1]
    width = (high - low) / _BUCKETS if high > low else 1.0
    counts = [0] * (_BUCKETS if high > low else 1)
    for value in ordered:
        index = min(len(counts) - 1, int((value - low) / width)) if high > low else 0
        counts[index] += 1
    buckets = [
        {"count": float(n), "left": low + i * width, "right": low + (i + 1) * width}
        for i, n in enumerate(counts)
        if n
    ]
    return {
        "sum": sum(values),
        "billableSum": sum(billable if billable is not None else values),
        "min": float(low),
        "max": float(high),
        "mean": sum(values) / len(values),
        "median": float(statistics.median(ordered)),
        "p5": _percentile(ordered, 0.05),
        "p95": _percentile(ordered, 0.95),
        "buckets": buckets,
    }


def data_stats(dataset: Dataset, *, epochs: int, steps: int) -> dict[str, Any]:
    """``SupervisedTuningDataStats`` (normalized: ints, which render as int64 strings)."""
    whole = [i + o for i, o in zip(dataset.input_tokens, dataset.output_tokens, strict=True)]
    truncated = [index for index, tokens in enumerate(whole) if tokens > MAX_EXAMPLE_TOKENS]
    billable_tokens = sum(min(t, MAX_EXAMPLE_TOKENS) for t in whole)
    stats: dict[str, Any] = {
        "tuningDatasetExampleCount": dataset.count,
        "totalTuningCharacterCount": dataset.characters,
        "totalBillableCharacterCount": dataset.characters * epochs,
        "totalBillableTokenCount": billable_tokens * epochs,
        "tuningStepCount": steps,
        "userInputTokenDistribution": _distribution(dataset.input_tokens),
        "userOutputTokenDistribution": _distribution(
            dataset.output_tokens, billable=[min(o, MAX_EXAMPLE_TOKENS) for o in dataset.output_tokens]
        ),
        "userMessagePerExampleDistribution": _distribution(dataset.messages),
        # Content[]: the turns of the first examples, one Content each.
        "userDatasetExamples": [turn for turns in dataset.samples for turn in turns],
    }
    if truncated:
        stats["totalTruncatedExampleCount"] = len(truncated)
        stats["truncatedExampleIndices"] = truncated[:_MAX_TRUNCATED_LISTED]
    return stats
