"""Dataset statistics: counts, length distributions, token and cost estimates.

One streaming pass.  Distributions are per example and per role (the
characters of all system / user / model parts of one example, and of the
whole example), reported as min / median / p95 / max / mean.  Tokens are
estimates (:mod:`tuneport.datasets.measure`).  Invalid records are counted,
not measured.

Quantiles come from a stream in bounded memory (:class:`QuantileSketch`):
values are kept exactly up to :data:`EXACT_LIMIT`; past that they fold into a
log-bucketed histogram (the DDSketch idea) whose quantiles are within 1% of
the true value (relative error), in at most a few thousand buckets whatever
the stream's length.  Min, max, count and sum stay exact.  Quantiles use the
nearest-rank definition: the value at rank ⌈q·n⌉, so the median of an even
count is the lower middle value, always a value seen.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tuneport._methods import TuningMethod
from tuneport.datasets.formats import DatasetFormat, coerce_method
from tuneport.datasets.json_codecs import JsonCodec
from tuneport.datasets.light import (
    FileRef,
    LightExample,
    LightPreference,
    LightPrompt,
    prompt_has_file_parts,
    turns_of,
)
from tuneport.datasets.limits import DatasetLimits
from tuneport.datasets.measure import measure_example, measure_preference, measure_prompt
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.datasets.reading import Scan
from tuneport.datasets.sources import DatasetSource, resolve_source
from tuneport.errors import Problem

__all__ = [
    "EXACT_LIMIT",
    "RELATIVE_ERROR",
    "PREFERENCE_ROLES",
    "PROMPT_ROLES",
    "ROLES",
    "DatasetStats",
    "Distribution",
    "QuantileSketch",
    "dataset_stats",
]


EXACT_LIMIT = 100_000
RELATIVE_ERROR = 0.01
_GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(_GAMMA)


class QuantileSketch:
    """Streaming min/max/sum and quantiles of non-negative integers."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.min: int | None = None
        self.max: int | None = None
        self._exact: array[int] | None = array("q")
        self._buckets: Counter[int] = Counter()

    @property
    def exact(self) -> bool:
        """True while quantiles are exact (fewer than :data:`EXACT_LIMIT` values)."""
        return self._exact is not None

    def add(self, value: int) -> None:
        """Add one value (>= 0)."""
        self.count += 1
        self.total += value
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value
        if self._exact is not None:
            self._exact.append(value)
            if len(self._exact) >= EXACT_LIMIT:
                for kept in self._exact:
                    self._buckets[_bucket(kept)] += 1
                self._exact = None
        else:
            self._buckets[_bucket(value)] += 1

    def quantile(self, q: float) -> int | None:
        """The nearest-rank *q*-quantile (0 < q <= 1), ``None`` when empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        if self._exact is not None:
            return sorted(self._exact)[rank - 1]
        seen = 0
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if seen >= rank:
                assert self.min is not None
                assert self.max is not None
                return min(max(_value(key), self.min), self.max)
        return self.max  # pragma: no cover - ranks never exceed the count

    def quantiles(self, *qs: float) -> list[int | None]:
        """Several quantiles with one sort."""
        if self._exact is not None and self.count:
            ordered = sorted(self._exact)
            return [ordered[max(1, math.ceil(q * self.count)) - 1] for q in qs]
        return [self.quantile(q) for q in qs]


def _bucket(value: int) -> int:
    # Bucket k holds (gamma^(k-1), gamma^k]; zero gets its own bucket below all others.
    return -1 if value <= 0 else math.ceil(math.log(value) / _LOG_GAMMA)


def _value(key: int) -> int:
    if key < 0:
        return 0
    # The middle of the bucket in relative terms, so either end is within RELATIVE_ERROR.
    return round(2 * _GAMMA**key / (_GAMMA + 1))


# --- statistics -------------------------------------------------------------------------------

#: Keys of :attr:`DatasetStats.chars` and :attr:`DatasetStats.tokens` (supervised examples).
ROLES = ("system", "user", "model", "example")
#: Their keys for preference examples.
PREFERENCE_ROLES = ("system", "prompt", "preferred", "rejected", "example")
#: Their keys for distillation prompts.
PROMPT_ROLES = ("system", "prompt", "example")
#: How many over-limit examples are listed (all are counted).
MAX_LISTED = 100


@dataclass(frozen=True)
class Distribution:
    """Summary of one per-example quantity."""

    count: int
    min: int | None
    median: int | None
    p95: int | None
    max: int | None
    mean: float | None
    total: int
    #: False when median/p95 come from the histogram (within 1%).
    exact: bool

    @classmethod
    def of(cls, sketch: QuantileSketch) -> Distribution:
        """The summary of a sketch."""
        median, p95 = sketch.quantiles(0.5, 0.95)
        return cls(
            count=sketch.count,
            min=sketch.min,
            median=median,
            p95=p95,
            max=sketch.max,
            mean=sketch.total / sketch.count if sketch.count else None,
            total=sketch.total,
            exact=sketch.exact,
        )


@dataclass(frozen=True)
class DatasetStats:
    """The outcome of :func:`dataset_stats`."""

    source: str
    format: DatasetFormat | None
    #: Records read (valid or not).
    example_count: int
    #: Records with errors (not measured; validate to see why).
    invalid_example_count: int
    #: Valid examples with more than one user→model exchange (a prompt: more than one turn).
    multi_turn_examples: int
    #: Valid examples with a system instruction.
    examples_with_system: int
    #: File parts in valid examples.
    file_parts: int
    #: Characters per example, by role (``system``, ``user``, ``model``) and for the whole ``example``;
    #: preference examples: ``system``, ``prompt``, ``preferred``, ``rejected``, ``example``;
    #: prompts: ``system``, ``prompt``, ``example``.
    chars: Mapping[str, Distribution]
    #: Estimated tokens per example, same keys.
    tokens: Mapping[str, Distribution]
    #: Estimated tokens of the whole dataset (one epoch).
    estimated_tokens: int
    epochs: int | None
    #: Estimated billable tokens: tokens (each example capped at the token limit) times epochs
    #: (preference: the prompt and both answers, uncapped; prompts: the prompt, capped).
    billable_tokens: int | None
    #: Examples over ``max_example_tokens``, which the service would truncate.
    truncated_count: int
    #: Lines of the first of them (at most 100).
    truncated_lines: tuple[int, ...]
    #: Examples over the character limits (``input-too-long`` / ``output-too-long``), first 100.
    over_limit: tuple[Problem, ...]
    over_limit_count: int
    #: Why records were invalid (first 20).
    problems: tuple[Problem, ...] = field(default=())
    #: The kind of data measured.
    method: TuningMethod = TuningMethod.SUPERVISED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for ``--json`` output)."""

        def dist(d: Distribution) -> dict[str, Any]:
            return {
                k: getattr(d, k) for k in ("count", "min", "median", "p95", "max", "mean", "total", "exact")
            }

        return {
            "source": self.source,
            "method": self.method.value,
            "format": self.format.value if self.format else None,
            "example_count": self.example_count,
            "invalid_example_count": self.invalid_example_count,
            "multi_turn_examples": self.multi_turn_examples,
            "examples_with_system": self.examples_with_system,
            "file_parts": self.file_parts,
            "chars": {k: dist(v) for k, v in self.chars.items()},
            "tokens": {k: dist(v) for k, v in self.tokens.items()},
            "estimated_tokens": self.estimated_tokens,
            "epochs": self.epochs,
            "billable_tokens": self.billable_tokens,
            "truncated_count": self.truncated_count,
            "truncated_lines": list(self.truncated_lines),
            "over_limit_count": self.over_limit_count,
            "over_limit": [{"line": p.line, "rule": p.rule, "message": p.message} for p in self.over_limit],
        }


def dataset_stats(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    epochs: int | None = None,
    limits: DatasetLimits | None = None,
    codec: JsonCodec | None = None,
    method: TuningMethod | str = TuningMethod.SUPERVISED,
) -> DatasetStats:
    """Counts, per-role length distributions and token estimates of a dataset.

    *method* says which kind of data it is (see :func:`validate_dataset`).
    A preference example's tokens are its prompt's and both answers'; a
    distillation prompt's, the prompt's (see docs/datasets.md for what the
    service bills).

    With *limits*, examples over ``max_example_tokens`` (truncated by the
    service) and over the character limits are listed by line, and each
    example's billable tokens are capped at ``max_example_tokens``.  With
    *epochs*, ``billable_tokens = estimated tokens * epochs``.  *codec*
    chooses the JSON library (the fastest installed by default).
    """
    if epochs is not None and epochs <= 0:
        raise ValueError("epochs must be positive")
    kind = coerce_method(method)
    resolved = resolve_source(source)
    log = ProblemLog(resolved.name, max_problems=20)
    limits = limits or DatasetLimits()
    if kind is not TuningMethod.SUPERVISED:
        other: Scan[Any] = Scan(resolved, log, format=format, codec=codec, method=kind)
        return _prompt_stats(other, log, limits, epochs)
    scan: Scan[LightExample] = Scan(resolved, log, format=format, codec=codec)
    over = ProblemLog(resolved.name, max_problems=MAX_LISTED)
    chars = {role: QuantileSketch() for role in ROLES}
    tokens = {role: QuantileSketch() for role in ROLES}
    valid = multi_turn = with_system = file_parts = 0
    billable_one_epoch = 0
    truncated: list[int] = []
    truncated_count = 0
    token_cap = limits.max_example_tokens
    for line, example, _ in scan:
        valid += 1
        size = measure_example(example)
        if example.system:
            with_system += 1
            chars["system"].add(size.system_chars)
            tokens["system"].add(size.system_tokens)
        if len(example.turns) > 2:
            multi_turn += 1
        file_parts += sum(isinstance(p, FileRef) for p in example.system)
        file_parts += sum(isinstance(p, FileRef) for _, parts in example.turns for p in parts)
        chars["user"].add(size.user_chars)
        chars["model"].add(size.model_chars)
        chars["example"].add(size.system_chars + size.user_chars + size.model_chars)
        tokens["user"].add(size.user_tokens)
        tokens["model"].add(size.model_tokens)
        tokens["example"].add(size.tokens)
        billable_one_epoch += size.tokens if token_cap is None else min(size.tokens, token_cap)
        if token_cap is not None and size.tokens > token_cap:
            truncated_count += 1
            if len(truncated) < MAX_LISTED:
                truncated.append(line)
        if limits.max_input_chars is not None and size.input_chars > limits.max_input_chars:
            _over_limit(over, line, Rule.INPUT_TOO_LONG, "input", size.input_chars, limits.max_input_chars)
        if limits.max_output_chars is not None and size.output_chars > limits.max_output_chars:
            _over_limit(
                over, line, Rule.OUTPUT_TOO_LONG, "output", size.output_chars, limits.max_output_chars
            )
    counts = _Counts(valid, multi_turn, with_system, file_parts, billable_one_epoch, truncated_count)
    return _stats_of(scan, log, over, chars, tokens, truncated, counts, epochs)


def _prompt_stats(
    scan: Scan[LightPreference] | Scan[LightPrompt],
    log: ProblemLog,
    limits: DatasetLimits,
    epochs: int | None,
) -> DatasetStats:
    """:func:`dataset_stats` of preference examples or prompts."""
    preference = scan.method is TuningMethod.PREFERENCE
    roles = PREFERENCE_ROLES if preference else PROMPT_ROLES
    chars = {role: QuantileSketch() for role in roles}
    tokens = {role: QuantileSketch() for role in roles}
    over = ProblemLog(scan.name, max_problems=MAX_LISTED)
    valid = multi_turn = with_system = file_parts = 0
    billable_one_epoch = truncated_count = 0
    truncated: list[int] = []
    token_cap = limits.max_example_tokens
    for line, example, _ in scan:
        valid += 1
        size = measure_preference(example) if type(example) is LightPreference else None
        prompt = size.prompt if size is not None else measure_prompt(example)
        if example.system:
            with_system += 1
            chars["system"].add(prompt.system_chars)
            tokens["system"].add(prompt.system_tokens)
        if len(example.prompt) > 1:
            multi_turn += 1
        if prompt_has_file_parts(example):
            file_parts += sum(isinstance(p, FileRef) for p in example.system)
            file_parts += sum(isinstance(p, FileRef) for _, parts in turns_of(example) for p in parts)
        chars["prompt"].add(prompt.prompt_chars)
        tokens["prompt"].add(prompt.prompt_tokens)
        example_chars = prompt.system_chars + prompt.prompt_chars
        if size is not None:
            chars["preferred"].add(size.preferred_chars)
            chars["rejected"].add(size.rejected_chars)
            tokens["preferred"].add(size.preferred_tokens)
            tokens["rejected"].add(size.rejected_tokens)
            example_chars += size.preferred_chars + size.rejected_chars
            example_tokens, limited = size.tokens, size.longest_sequence_tokens
            billable_one_epoch += example_tokens
            if limits.max_output_chars is not None:
                longer = max(size.preferred_chars, size.rejected_chars)
                if longer > limits.max_output_chars:
                    _over_limit(
                        over, line, Rule.OUTPUT_TOO_LONG, "an answer", longer, limits.max_output_chars
                    )
        else:
            example_tokens = limited = prompt.tokens
            billable_one_epoch += example_tokens if token_cap is None else min(example_tokens, token_cap)
        chars["example"].add(example_chars)
        tokens["example"].add(example_tokens)
        if token_cap is not None and limited > token_cap:
            truncated_count += 1
            if len(truncated) < MAX_LISTED:
                truncated.append(line)
        prompt_chars = prompt.system_chars + prompt.prompt_chars
        if limits.max_input_chars is not None and prompt_chars > limits.max_input_chars:
            _over_limit(over, line, Rule.INPUT_TOO_LONG, "a prompt", prompt_chars, limits.max_input_chars)
    counts = _Counts(valid, multi_turn, with_system, file_parts, billable_one_epoch, truncated_count)
    return _stats_of(scan, log, over, chars, tokens, truncated, counts, epochs)


def _over_limit(over: ProblemLog, line: int, rule: Rule, what: str, chars: int, limit: int) -> None:
    """List an example over a character limit (*what* names the text: "input", "a prompt")."""
    over.report(line, None, rule, f"{what} of {chars:,} characters (limit {limit:,})")


class _Counts(NamedTuple):
    """The counts of a pass (kept in locals while it runs: they change on every line)."""

    valid: int
    multi_turn: int
    with_system: int
    file_parts: int
    billable_one_epoch: int
    truncated_count: int


def _stats_of(
    scan: Scan[Any],
    log: ProblemLog,
    over: ProblemLog,
    chars: dict[str, QuantileSketch],
    tokens: dict[str, QuantileSketch],
    truncated: list[int],
    counts: _Counts,
    epochs: int | None,
) -> DatasetStats:
    """The :class:`DatasetStats` of a finished pass over *scan* (any kind of data)."""
    return DatasetStats(
        source=scan.name,
        format=scan.format,
        example_count=scan.records,
        invalid_example_count=scan.records - counts.valid,
        multi_turn_examples=counts.multi_turn,
        examples_with_system=counts.with_system,
        file_parts=counts.file_parts,
        chars={role: Distribution.of(sketch) for role, sketch in chars.items()},
        tokens={role: Distribution.of(sketch) for role, sketch in tokens.items()},
        estimated_tokens=tokens["example"].total,
        epochs=epochs,
        billable_tokens=counts.billable_one_epoch * epochs if epochs is not None else None,
        truncated_count=counts.truncated_count,
        truncated_lines=tuple(truncated),
        over_limit=tuple(over.problems),
        over_limit_count=over.error_count,
        problems=tuple(p for p in log.problems if p.severity == "error"),
        method=scan.method,
    )
