"""Quantiles of a stream in bounded memory.

Values are kept exactly up to :data:`EXACT_LIMIT`; past that they fold into
a log-bucketed histogram (the DDSketch idea) whose quantiles are within 1%
of the true value (relative error), in at most a few thousand buckets
whatever the stream's length.  Min, max, count and sum stay exact.
Quantiles use the nearest-rank definition: the value at rank ⌈q·n⌉, so the
median of an even count is the lower middle value, always a value seen.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter

__all__ = ["EXACT_LIMIT", "RELATIVE_ERROR", "QuantileSketch"]

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
