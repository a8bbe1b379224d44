"""The retry policy: one place decides what is retried, how often and how long.

Defaults follow Google's and openai-python's guidance: connection errors,
timeouts and 408/429/500/502/503/504 are retried with exponential backoff and
full jitter; ``Retry-After`` is honoured up to a cap; an overall deadline
bounds the whole call.  A request that is not idempotent (a create without a
client-chosen id) is re-sent only when it provably never reached the service.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from tuneport.errors import APIConnectionError, APIError, APIResponseError, APIStatusError

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Pass one to :func:`tuneport.connect` (per client) or as ``retry=`` to a
    client method (per call); :meth:`with_options` derives a variant.
    ``DEFAULT_RETRY`` is ``RetryPolicy()``, ``NO_RETRY`` ``max_attempts=1``.

    **What is retried**: connection errors, timeouts, a success whose body
    cannot be read, and the statuses of ``retry_statuses``; any other error
    is raised at once.  An idempotent request (a ``GET``, a cancel, a create
    with a client-chosen id) is retried under these rules; a non-idempotent
    one only when it provably did not take effect: a connection error raised
    before it was sent (the connection could not be made, or the connect or
    pool timeout expired), or a ``429``.  A ``5xx``, a ``408``, a read timeout
    or a reset may follow a commit, so such a request is not sent again.

    **Delay**: the server's hint (``Retry-After``, seconds or an HTTP date, or
    a ``google.rpc.RetryInfo`` detail), capped at ``retry_after_cap``;
    otherwise random between 0 and ``min(max_backoff, initial_backoff *
    multiplier ** (attempt - 1))`` ("full jitter").  Retrying stops when the
    next delay would pass ``deadline``, and the last error is raised; the
    deadline does not interrupt a call that is making progress.  Each retry
    is logged at ``WARNING`` on the ``tuneport.http`` logger (method, URL
    without its query, error class; no secrets).
    """

    max_attempts: int = 5
    """Total attempts including the first (1 disables retries)."""
    initial_backoff: float = 0.5
    """Seconds: the ceiling of the first backoff."""
    multiplier: float = 2.0
    """Growth of the ceiling per attempt (≥ 1)."""
    max_backoff: float = 30.0
    """The largest ceiling, in seconds."""
    retry_after_cap: float = 60.0
    """``Retry-After`` values above this are capped (seconds)."""
    deadline: float | None = 300.0
    """The retry budget of one call, in seconds, counted from its start: every request of
    the call, the retry waits and the backend's own pauses included (``None``: no limit).
    """
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    """HTTP statuses that may be retried."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    """Random source for jitter (seeded in tests for reproducible delays)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("backoff must be non-negative and the multiplier at least 1")

    def with_options(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def is_retryable(self, error: APIError, *, idempotent: bool) -> bool:
        """Whether *error* may be retried for a request of this kind."""
        if isinstance(error, APIConnectionError):
            # A non-idempotent request is re-sent only if it never left.
            return idempotent or not error.request_sent
        if isinstance(error, APIResponseError):
            # A success whose body was lost in transit: the request was carried out.
            return idempotent
        if isinstance(error, APIStatusError):
            if error.status_code not in self.retry_statuses:
                return False
            # 429 is refused before processing; other statuses may follow a commit.
            return idempotent or error.status_code == 429
        return False

    def delay(self, attempt: int, error: APIError | None = None) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (``attempt`` ≥ 1)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.retry_after_cap))
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        # Full jitter (AWS architecture blog): spreads synchronized clients apart.
        return self.rng.uniform(0, ceiling)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)
