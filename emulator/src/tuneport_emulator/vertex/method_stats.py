"""``tuningDataStats`` of preference and distillation jobs, measured from their datasets.

* ``preferenceOptimizationDataStats`` (v1 and v1beta1): example count, billable
  tokens (input and both completions, once per epoch), steps, the token
  distributions of the inputs and of the preferred completions, the
  distribution of all scores and of each example's score variance (a pair
  scored 1 and 0 has variance 0.25), and the first examples as
  ``GeminiPreferenceExample``s.
* ``distillationDataStats.trainingDatasetStats`` (v1beta1): a ``DatasetStats``
  of the prompt dataset (no output distribution: the teacher writes the
  answers).

Token counts are the emulator's estimate, as for supervised statistics.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from tuneport_emulator.vertex.datasets import Dataset, DatasetResult, data_stats
from tuneport_emulator.vertex.methods import DISTILLATION, PREFERENCE, Method

__all__ = [
    "MAX_VALIDATION_SHARE",
    "SHARE_APPLIES_ABOVE",
    "dataset_distribution",
    "distillation_stats",
    "method_stats",
    "preference_split_problem",
    "preference_stats",
]

#: Preference validation sets over this many examples may hold at most this share of the training set
#: ("5000 examples or 30% of the number of training examples if there are more than 1000 validation
#: examples", Google's preference tuning limitations).
SHARE_APPLIES_ABOVE = 1_000
MAX_VALIDATION_SHARE = 0.3

_BUCKETS = 10


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])


def dataset_distribution(values: Sequence[float]) -> dict[str, Any]:
    """A ``DatasetDistribution`` (normalized) of per-example values; empty for no values."""
    if not values:
        return {}
    ordered = sorted(values)
    low, high = float(ordered[0]), float(ordered[-1])
    spread = high > low
    width = (high - low) / _BUCKETS if spread else 1.0
    counts = [0] * (_BUCKETS if spread else 1)
    for value in ordered:
        counts[min(len(counts) - 1, int((value - low) / width)) if spread else 0] += 1
    return {
        "sum": float(sum(values)),
        "min": low,
        "max": high,
        "mean": sum(values) / len(values),
        "median": float(statistics.median(ordered)),
        "p5": _percentile(ordered, 0.05),
        "p95": _percentile(ordered, 0.95),
        "buckets": [
            {"count": n, "left": low + i * width, "right": low + (i + 1) * width}
            for i, n in enumerate(counts)
            if n
        ],
    }


def preference_stats(dataset: Dataset, *, epochs: int, steps: int) -> dict[str, Any]:
    """``PreferenceOptimizationDataStats`` (normalized)."""
    scores = list(dataset.scores)
    pairs = [scores[i : i + 2] for i in range(0, len(scores), 2)]
    billable = sum(dataset.input_tokens) + sum(dataset.output_tokens) + sum(dataset.rejected_tokens)
    return {
        "tuningDatasetExampleCount": dataset.count,
        "totalBillableTokenCount": billable * epochs,
        "tuningStepCount": steps,
        "userInputTokenDistribution": dataset_distribution(list(dataset.input_tokens)),
        "userOutputTokenDistribution": dataset_distribution(list(dataset.output_tokens)),
        "scoresDistribution": dataset_distribution(scores),
        "scoreVariancePerExampleDistribution": dataset_distribution(
            [statistics.pvariance(pair) for pair in pairs if pair]
        ),
        "userDatasetExamples": list(dataset.preference_samples),
    }


def distillation_stats(dataset: Dataset, *, epochs: int, steps: int) -> dict[str, Any]:
    """``DistillationDataStats`` (normalized): the prompt dataset's ``DatasetStats``."""
    return {
        "trainingDatasetStats": {
            "tuningDatasetExampleCount": dataset.count,
            "totalTuningCharacterCount": dataset.characters,
            "totalBillableCharacterCount": dataset.characters * epochs,
            "totalBillableTokenCount": sum(dataset.input_tokens) * epochs,
            "tuningStepCount": steps,
            "userInputTokenDistribution": dataset_distribution(list(dataset.input_tokens)),
            "userMessagePerExampleDistribution": dataset_distribution(list(dataset.messages)),
            "userDatasetExamples": [turn for turns in dataset.samples for turn in turns],
        }
    }


def method_stats(method: Method, dataset: Dataset, *, epochs: int, steps: int) -> dict[str, Any]:
    """The statistics of a job's training data, for its method's member of ``tuningDataStats``."""
    if method is PREFERENCE:
        return preference_stats(dataset, epochs=epochs, steps=steps)
    if method is DISTILLATION:
        return distillation_stats(dataset, epochs=epochs, steps=steps)
    return data_stats(dataset, epochs=epochs, steps=steps)


def preference_split_problem(training: DatasetResult, validation: DatasetResult | None) -> str | None:
    """Why a preference job's validation set is too large for its training set, or None."""
    if not isinstance(training, Dataset) or not isinstance(validation, Dataset):
        return None
    if validation.count > SHARE_APPLIES_ABOVE and validation.count > MAX_VALIDATION_SHARE * training.count:
        return (
            f"The validation dataset {validation.uri} is invalid: it has {validation.count:,} examples; "
            f"above {SHARE_APPLIES_ABOVE:,} a preference validation set may hold at most 30% of the "
            f"training examples ({math.floor(MAX_VALIDATION_SHARE * training.count):,} of "
            f"{training.count:,})."
        )
    return None
