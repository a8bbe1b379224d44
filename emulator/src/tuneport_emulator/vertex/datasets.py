"""Reading a tuning job's JSONL files from the emulated Cloud Storage, as the service does.

The file is checked by the emulator's own oracle (:mod:`tuneport_emulator.datasets`:
Google's documented rules and Vertex's limits), streamed from its object
file line by line, never loaded whole.  A missing object, a file over 1 GB,
a file that is not JSON Lines, or any invalid line makes the job fail with
``INVALID_ARGUMENT`` naming the file and the first bad line.  A valid file
yields the examples a tuned model answers from and the numbers of
``SupervisedTuningDataStats``.

Token counts are the emulator's estimate (:func:`tuneport_emulator.answers.estimate_tokens`).
Memory stays bounded however large the file: per example the emulator keeps
three integers; the examples a tuned model answers from are the first
:data:`MAX_ANSWER_EXAMPLES` (at most :data:`MAX_ANSWER_CHARACTERS` of text).
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneport_emulator.answers import estimate_tokens
from tuneport_emulator.datasets import VERTEX_SUPERVISED, DatasetRole, Example, Verdict, check_dataset
from tuneport_emulator.storage import Objects

__all__ = [
    "MAX_ANSWER_CHARACTERS",
    "MAX_ANSWER_EXAMPLES",
    "SAMPLE_EXAMPLES",
    "Dataset",
    "data_stats",
    "read_dataset",
]

#: How many examples ``userDatasetExamples`` shows.
SAMPLE_EXAMPLES = 3
#: A tuned model answers from at most this many of its dataset's first examples...
MAX_ANSWER_EXAMPLES = 10_000
#: ... holding at most this much text (characters), so a large dataset's job record stays small.
MAX_ANSWER_CHARACTERS = 8 << 20
#: Buckets of a token distribution's histogram.
_BUCKETS = 10
_MAX_TRUNCATED_LISTED = 100
_LIMITS = VERTEX_SUPERVISED


def _int_array() -> array[int]:
    return array("I")  # 4 bytes an example: counts of tokens and turns are small and never negative


@dataclass
class Dataset:
    """A valid dataset: the examples answered from (``[input, output, system]``) and per-example measures."""

    uri: str
    examples: list[list[str]] = field(default_factory=list)
    characters: int = 0
    input_tokens: array[int] = field(default_factory=_int_array)
    output_tokens: array[int] = field(default_factory=_int_array)
    messages: array[int] = field(default_factory=_int_array)
    samples: list[list[dict[str, Any]]] = field(default_factory=list)
    _kept_characters: int = 0

    @property
    def count(self) -> int:
        """How many examples the file holds (every one is measured)."""
        return len(self.input_tokens)

    def add(self, example: Example) -> None:
        """Measure one valid example (and keep it to answer from while there is room)."""
        turns = example.turns
        output = turns[-1].text
        prompt = next((turn.text for turn in reversed(turns[:-1]) if turn.role == "user"), "")
        before = example.system + "".join(turn.text for turn in turns[:-1])
        kept = len(prompt) + len(output) + len(example.system)
        if len(self.examples) < MAX_ANSWER_EXAMPLES and self._kept_characters + kept <= MAX_ANSWER_CHARACTERS:
            self.examples.append([prompt, output, example.system])
            self._kept_characters += kept
        self.characters += len(before) + len(output)
        self.input_tokens.append(estimate_tokens(before))
        self.output_tokens.append(estimate_tokens(output))
        self.messages.append(len(turns))
        if len(self.samples) < SAMPLE_EXAMPLES:
            self.samples.append([{"role": turn.role, "parts": [{"text": turn.text}]} for turn in turns])


def read_dataset(objects: Objects, uri: str, role: str) -> Dataset | str:
    """The dataset at ``uri`` (``role`` is ``training`` or ``validation``), or why it is unusable."""
    stored = objects.find_uri(uri)
    stream = None if stored is None else objects.open_uri(uri)
    if stored is None or stream is None:
        return f"Failed to read the {role} dataset {uri}: no such object in Cloud Storage."
    with stream:
        if stored.size > _LIMITS.max_file_bytes:
            return (
                f"The {role} dataset {uri} is invalid: it has {stored.size:,} bytes; a dataset file may have "
                f"at most {_LIMITS.max_file_bytes:,} (1 GB)."
            )
        dataset = Dataset(uri)
        verdict = check_dataset(
            stream,
            role=DatasetRole.VALIDATION if role == "validation" else DatasetRole.TRAINING,
            limits=_LIMITS,
            on_example=dataset.add,
        )
    problem = _describe(verdict, uri, role)
    return dataset if problem is None else problem


def _describe(verdict: Verdict, uri: str, role: str) -> str | None:
    """The job's error message for a file the oracle refused; None if it is usable."""
    if verdict.not_json_lines:
        return f"The {role} dataset {uri} must be JSON Lines (one JSON object per line)."
    first = verdict.first
    if first is not None:
        where = f"line {first.line}"
        if first.field:
            where += f", field {first.field}"
        more = verdict.bad_lines - 1
        extra = f" ({more:,} more invalid line{'s' if more != 1 else ''} in the file)" if more else ""
        return f"The {role} dataset {uri} is invalid: {where}: {first.message}{extra}"
    if verdict.file_problem is not None:
        return f"The {role} dataset {uri} is invalid: {verdict.file_problem}."
    return None


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
    limit = _LIMITS.max_example_tokens
    truncated = [index for index, tokens in enumerate(whole) if tokens > limit]
    billable_tokens = sum(min(t, limit) for t in whole)
    stats: dict[str, Any] = {
        "tuningDatasetExampleCount": dataset.count,
        "totalTuningCharacterCount": dataset.characters,
        "totalBillableCharacterCount": dataset.characters * epochs,
        "totalBillableTokenCount": billable_tokens * epochs,
        "tuningStepCount": steps,
        "userInputTokenDistribution": _distribution(dataset.input_tokens),
        "userOutputTokenDistribution": _distribution(
            dataset.output_tokens, billable=[min(o, limit) for o in dataset.output_tokens]
        ),
        "userMessagePerExampleDistribution": _distribution(dataset.messages),
        # Content[]: the turns of the first examples, one Content each.
        "userDatasetExamples": [turn for turns in dataset.samples for turn in turns],
    }
    if truncated:
        stats["totalTruncatedExampleCount"] = len(truncated)
        stats["truncatedExampleIndices"] = truncated[:_MAX_TRUNCATED_LISTED]
    return stats
