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

Vertex checks each job's data, but the emulator's verdict on the same bytes
is always the same: :class:`DatasetCache` keeps the result of recent checks
by the object's identity (bucket, name, generation, MD5, size, file), so
creating many jobs on one unchanged file reads and checks it once.  A
rewritten object has a new generation (and, with new bytes, a new MD5), so
it is checked again.  The cache is bounded in entries and in the memory its
datasets hold; a cached :class:`Dataset` is shared and never changed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import statistics
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeAlias

from tuneport_emulator.answers import estimate_tokens
from tuneport_emulator.datasets import (
    VERTEX_SUPERVISED,
    DatasetLimits,
    DatasetRole,
    Example,
    Verdict,
    check_dataset,
    rules_for,
)
from tuneport_emulator.storage import Objects
from tuneport_emulator.storage.records import StoredObject
from tuneport_emulator.vertex.records import Example as AnswerExample

__all__ = [
    "MAX_ANSWER_CHARACTERS",
    "MAX_ANSWER_EXAMPLES",
    "DatasetResult",
    "SAMPLE_EXAMPLES",
    "Dataset",
    "DatasetCache",
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
    #: Preference data: tokens of each dispreferred completion, and every completion's score.
    rejected_tokens: array[int] = field(default_factory=_int_array)
    scores: array[float] = field(default_factory=lambda: array("d"))
    #: Preference data: the first examples as ``GeminiPreferenceExample``s.
    preference_samples: list[dict[str, Any]] = field(default_factory=list)
    _kept_characters: int = 0
    _answer_examples: tuple[AnswerExample, ...] | None = field(default=None, repr=False)
    _measures: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        """How many examples the file holds (every one is measured)."""
        return len(self.input_tokens)

    @property
    def weight(self) -> int:
        """Roughly the bytes this dataset holds (for :class:`DatasetCache`'s bound)."""
        return 64 + 12 * self.count + 2 * self._kept_characters + 120 * len(self.examples)

    def answer_examples(self) -> list[AnswerExample]:
        """The examples a tuned model answers from, as job records keep them (a new list each call)."""
        if self._answer_examples is None:
            self._answer_examples = tuple(AnswerExample(*row) for row in self.examples)
        return list(self._answer_examples)

    def _add_preference(self, example: Example) -> None:
        self.rejected_tokens.append(estimate_tokens(example.completions[1].text))
        self.scores.extend(example.scores)
        if len(self.preference_samples) < SAMPLE_EXAMPLES:
            self.preference_samples.append(
                {
                    "contents": [{"role": t.role, "parts": [{"text": t.text}]} for t in example.turns],
                    "completions": [
                        {"completion": {"role": "model", "parts": [{"text": c.text}]}, "score": score}
                        for c, score in zip(example.completions, example.scores, strict=True)
                    ],
                }
            )

    def measures(self) -> dict[str, Any]:
        """The job-independent parts of its data stats (computed once; add no example after)."""
        if self._measures is None:
            self._measures = _measures(self)
        return self._measures

    def add(self, example: Example) -> None:
        """Measure one valid example (and keep it to answer from while there is room)."""
        turns = example.turns
        if example.completions or turns[-1].role == "user":
            # A preference example (the preferred completion is its answer) or a prompt (the teacher
            # answers it: see vertex.jobs): its turns are all input.
            context = turns
            output = example.completions[0].text if example.completions else ""
            if example.completions:
                self._add_preference(example)
        else:
            context = turns[:-1]
            output = turns[-1].text
        prompt = next((turn.text for turn in reversed(context) if turn.role == "user"), "")
        before = example.system + "".join(turn.text for turn in context)
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


#: A checked file: the dataset, or why it is unusable.
DatasetResult: TypeAlias = Dataset | str

_log = logging.getLogger(__name__)


@dataclass
class Checking:
    """A check of a dataset file running on a thread of its own."""

    future: Future[DatasetResult]
    #: The emulator time it finished at (set before the future's result).
    finished_at: float | None = None


def read_dataset(
    objects: Objects,
    uri: str,
    role: str,
    *,
    cache: DatasetCache | None = None,
    lock: contextlib.AbstractContextManager[Any] | None = None,
    background_bytes: int | None = None,
    now: Callable[[], float] | None = None,
    kind: str = "supervised",
    limits: DatasetLimits | None = None,
) -> DatasetResult | Checking:
    """The dataset at ``uri`` (``role`` is ``training`` or ``validation``), or why it is unusable.

    With a ``cache``, an object checked before (same generation and bytes)
    is not read again.  ``lock`` (the store's) makes finding the object and
    opening its bytes one step, so the result is cached under the object it
    was read from.  An object of at least ``background_bytes`` that must be
    read is checked on a daemon thread of its own (an emulator that stops
    does not wait for it); ``now`` (the emulator clock) then stamps when it
    finished.  That thread never takes ``lock``, so whoever waits for it may
    do so with the lock free.  ``kind`` names the rules of the data
    (:func:`tuneport_emulator.datasets.rules_for`) and ``limits`` its limits
    (default: supervised tuning's).
    """
    limits = limits if limits is not None else _LIMITS
    with lock if lock is not None else contextlib.nullcontext():
        stored = objects.find_uri(uri)
        stream = None if stored is None else objects.open_uri(uri)
    if stored is None or stream is None:
        return f"Failed to read the {role} dataset {uri}: no such object in Cloud Storage."
    key = (kind, *DatasetCache.key(stored, role))
    cached = None if cache is None else cache.get(key)
    if cached is not None:
        stream.close()
        return cached
    if background_bytes is None or stored.size < background_bytes:
        with stream:
            result = _check(stream, stored, uri, role, kind, limits)
        if cache is not None:
            cache.put(key, result)
        return result
    checking = Checking(Future())

    def run() -> None:
        try:
            with stream:
                result = _check(stream, stored, uri, role, kind, limits)
        except BaseException as exc:  # the oracle's bug: the job fails with INTERNAL (see vertex.jobs)
            _log.exception("checking %s failed", uri)
            checking.future.set_exception(exc)
            return
        if cache is not None:
            cache.put(key, result)
        checking.finished_at = None if now is None else now()
        checking.future.set_result(result)

    threading.Thread(target=run, name=f"tuneport-emulator-check {uri}", daemon=True).start()
    return checking


def _check(
    stream: BinaryIO, stored: StoredObject, uri: str, role: str, kind: str, limits: DatasetLimits
) -> DatasetResult:
    if stored.size > limits.max_file_bytes:
        return (
            f"The {role} dataset {uri} is invalid: it has {stored.size:,} bytes; a dataset file may have "
            f"at most {limits.max_file_bytes:,} (1 GB)."
        )
    dataset = Dataset(uri)
    verdict = check_dataset(
        stream,
        role=DatasetRole.VALIDATION if role == "validation" else DatasetRole.TRAINING,
        limits=limits,
        on_example=dataset.add,
        rules=rules_for(kind),
    )
    problem = _describe(verdict, uri, role)
    return dataset if problem is None else problem


class DatasetCache:
    """Recent results of :func:`read_dataset`, by object identity and role (thread-safe, bounded)."""

    def __init__(self, *, max_entries: int = 64, max_weight: int = 64 << 20) -> None:
        self._max_entries = max_entries
        self._max_weight = max_weight
        self._entries: OrderedDict[tuple[Any, ...], Dataset | str] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(stored: StoredObject, role: str) -> tuple[Any, ...]:
        """What makes two reads give the same result: the object's identity and bytes, and the role."""
        identity = (stored.bucket, stored.name, stored.generation)
        return (role, *identity, stored.md5_hash, stored.size, stored.file)

    def get(self, key: tuple[Any, ...]) -> Dataset | str | None:
        """The cached result for ``key``, or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], result: Dataset | str) -> None:
        """Keep ``result`` (unless it alone is over the memory bound), dropping the least recent."""
        weight = _weight(result)
        if weight > self._max_weight:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= _weight(old)
            self._entries[key] = result
            self._weight += weight
            while len(self._entries) > self._max_entries or self._weight > self._max_weight:
                _, dropped = self._entries.popitem(last=False)
                self._weight -= _weight(dropped)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _weight(result: Dataset | str) -> int:
    return result.weight if isinstance(result, Dataset) else 64 + len(result)


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
    """``SupervisedTuningDataStats`` (normalized: ints, which render as int64 strings).

    The parts that do not depend on the job (distributions, samples) are
    computed once per dataset and shared between the jobs' stats: nothing
    changes them (views render copies).
    """
    measured = dataset.measures()
    stats: dict[str, Any] = {
        "tuningDatasetExampleCount": dataset.count,
        "totalTuningCharacterCount": dataset.characters,
        "totalBillableCharacterCount": dataset.characters * epochs,
        "totalBillableTokenCount": measured["billableTokens"] * epochs,
        "tuningStepCount": steps,
        "userInputTokenDistribution": measured["userInputTokenDistribution"],
        "userOutputTokenDistribution": measured["userOutputTokenDistribution"],
        "userMessagePerExampleDistribution": measured["userMessagePerExampleDistribution"],
        # Content[]: the turns of the first examples, one Content each.
        "userDatasetExamples": measured["userDatasetExamples"],
    }
    if measured["truncated"]:
        truncated = measured["truncated"]
        stats["totalTruncatedExampleCount"] = len(truncated)
        stats["truncatedExampleIndices"] = truncated[:_MAX_TRUNCATED_LISTED]
    return stats


def _measures(dataset: Dataset) -> dict[str, Any]:
    """What :func:`data_stats` takes from the dataset alone."""
    whole = [i + o for i, o in zip(dataset.input_tokens, dataset.output_tokens, strict=True)]
    limit = _LIMITS.max_example_tokens
    return {
        "billableTokens": sum(min(t, limit) for t in whole),
        "truncated": [index for index, tokens in enumerate(whole) if tokens > limit],
        "userInputTokenDistribution": _distribution(dataset.input_tokens),
        "userOutputTokenDistribution": _distribution(
            dataset.output_tokens, billable=[min(o, limit) for o in dataset.output_tokens]
        ),
        "userMessagePerExampleDistribution": _distribution(dataset.messages),
        "userDatasetExamples": [turn for turns in dataset.samples for turn in turns],
    }
