"""Fault injection: make the emulator fail the way a real service fails, reproducibly.

A fault spec is a string of ``;``-separated items::

    seed=7; *: 503=0.05, 429=0.05@2s, reset=0.05, 503-after=0.1; *.get: latency=0.2@50ms

* ``seed=N`` seeds the draws (default 0);
* ``SELECTOR: EFFECT, EFFECT…`` gives the routes whose name matches the
  shell-style ``SELECTOR`` (``*``, ``vertex.*``, ``*.tunedModels.create``; the
  selector may be left out and means ``*``) their effects; an effect is
  ``KIND=PROBABILITY`` with an optional ``@DURATION`` (``250ms``, ``2s``, ``1.5``);
* a preset name (:data:`PRESETS`, e.g. ``chaos``) stands for its items.

Effect kinds, and what the client sees:

========================  ==========================================================
``503``, ``500``          refused before the handler runs: the error in Google's shape
``429[@retry]``           refused: RESOURCE_EXHAUSTED with ``Retry-After`` (default 1 s)
``reset``                 the connection is reset before the handler runs
``503-after``,            the handler runs and its change is committed (and persisted
``500-after``,            with ``--state``), then the answer is replaced by the error —
``reset-after``           or the connection reset: the response is lost
``html-after``            the handler runs and commits; a success answer is replaced by
                          a ``200`` HTML page (a proxy's), a body the client cannot read
``latency@duration``      the answer is delayed (independent of the others)
``slow@duration``         the handler runs and commits at once; its answer leaves
                          ``duration`` later (default 1 s; independent of the others)
``stall@duration``        the request is held ``duration`` before the handler runs
                          (default 10 s; independent of the others)
========================  ==========================================================

A request held before its handler (``latency``, ``stall``) for longer than
the ``X-Server-Timeout`` header it carries (Google's system parameter, whole
seconds) is abandoned as Google's front end does: ``504 DEADLINE_EXCEEDED``,
and the handler never runs.

Later items override earlier ones kind by kind, so ``*: 503=0.1; *.get: 503=0``
spares reads.  The probabilities of the exclusive kinds (all but ``latency``)
of one item add up to at most 1; where overlapping items add up to more, the
kinds earlier in the table win.  Admin routes (``/_emulator/``) and unknown
paths are never faulted.

Reproducible: whether a request is faulted depends only on the seed, its
method and path, and how many requests with that method and path came
before it — not on other clients' timing.  A retry is a new occurrence, so
it gets a fresh draw.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AFTER_COMMIT",
    "BEFORE_COMMIT",
    "DURING",
    "PRESETS",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "FaultSpec",
    "FaultSpecError",
    "applying",
    "short_store_fraction",
]

#: Kinds applied instead of running the handler.
BEFORE_COMMIT = ("503", "500", "429", "reset")
#: Kinds applied after the handler ran and its change was committed.
AFTER_COMMIT = ("503-after", "500-after", "reset-after", "html-after")
#: Kinds that change what the handler does (it runs, commits and answers as changed).
DURING = ("short-store",)
_EXCLUSIVE = BEFORE_COMMIT + AFTER_COMMIT + DURING
#: Kinds drawn independently of the exclusive ones and of each other (each takes a duration).
_TIMED = ("latency", "slow", "stall")
_KINDS = (*_EXCLUSIVE, *_TIMED)
#: Default ``@`` durations (seconds): Retry-After for 429, delays for the timed kinds.
_DEFAULT_DURATION = {"429": 1.0, "latency": 0.1, "slow": 1.0, "stall": 10.0}

#: Named specs.  ``chaos`` faults 30% of requests (half of them after the commit).
PRESETS: dict[str, str] = {
    "chaos": (
        "*: 503=0.04, 500=0.02, 429=0.03@0s, reset=0.06, "
        "503-after=0.05, 500-after=0.03, reset-after=0.07, latency=0.05@20ms"
    ),
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s)?")
#: Occurrence counters kept per (method, path); beyond this many paths the oldest are forgotten.
_MAX_TRACKED_PATHS = 100_000


class FaultSpecError(ValueError):
    """A fault spec could not be parsed; the message names the offending item."""


@dataclass(frozen=True)
class FaultRule:
    """The effects given to routes whose name matches ``selector``."""

    selector: str
    probabilities: dict[str, float]
    durations: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultSpec:
    """A parsed fault spec: a seed and rules (see the module docstring for the syntax)."""

    rules: tuple[FaultRule, ...] = ()
    seed: int = 0
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse ``text``; :class:`FaultSpecError` names the first bad item."""
        rules: list[FaultRule] = []
        seed = 0
        for item in _expand_presets(text):
            if item.startswith("seed="):
                try:
                    seed = int(item[5:])
                except ValueError:
                    raise FaultSpecError(f"fault spec: seed must be an integer, got '{item[5:]}'") from None
                continue
            selector, colon, effects = item.rpartition(":")
            rules.append(_parse_rule(selector.strip() if colon else "*", effects, item))
        return cls(tuple(rules), seed, text)

    def effects_for(self, route: str) -> tuple[dict[str, float], dict[str, float]]:
        """(probabilities, durations) for one route name, after every matching rule."""
        probabilities: dict[str, float] = {}
        durations: dict[str, float] = {}
        for rule in self.rules:
            if fnmatch.fnmatchcase(route, rule.selector):
                probabilities.update(rule.probabilities)
                durations.update(rule.durations)
        return probabilities, durations


def _expand_presets(text: str) -> list[str]:
    items: list[str] = []
    for item in (part.strip() for part in text.split(";")):
        if item in PRESETS:
            items.extend(part.strip() for part in PRESETS[item].split(";"))
        else:
            items.append(item)
    return [item for item in items if item]


def _parse_rule(selector: str, effects: str, item: str) -> FaultRule:
    probabilities: dict[str, float] = {}
    durations: dict[str, float] = {}
    for effect in (part.strip() for part in effects.split(",")):
        if not effect:
            continue
        kind, equals, value = effect.partition("=")
        kind = kind.strip()
        if not equals or kind not in _KINDS:
            raise FaultSpecError(
                f"fault spec: '{effect}' in '{item}' is not KIND=PROBABILITY "
                f"with KIND one of {', '.join(_KINDS)}"
            )
        probability_text, at, duration_text = value.partition("@")
        try:
            probability = float(probability_text)
        except ValueError:
            probability = -1.0
        if not 0 <= probability <= 1:
            raise FaultSpecError(
                f"fault spec: the probability of '{kind}' must be between 0 and 1 (in '{item}')"
            )
        probabilities[kind] = probability
        if at:
            if kind not in _DEFAULT_DURATION:
                raise FaultSpecError(f"fault spec: '{kind}' takes no @duration (in '{item}')")
            durations[kind] = _parse_duration(duration_text.strip(), item)
    if not probabilities:
        raise FaultSpecError(f"fault spec: no effect in '{item}'")
    total = sum(p for kind, p in probabilities.items() if kind in _EXCLUSIVE)
    if total > 1 + 1e-9:
        raise FaultSpecError(f"fault spec: the probabilities in '{item}' add up to {total:g}, more than 1")
    return FaultRule(selector, probabilities, durations)


def _parse_duration(text: str, item: str) -> float:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise FaultSpecError(f"fault spec: '{text}' is not a duration like 250ms, 2s or 1.5 (in '{item}')")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


@dataclass(frozen=True)
class Fault:
    """What happens to one request: an exclusive kind (or None) and a delay."""

    kind: str | None
    delay: float = 0.0
    retry_after: float = 0.0
    #: Seconds the answer is held after the commit (``slow``).
    slow: float = 0.0
    #: Seconds the request is held before the handler (``stall``), on top of ``delay``.
    stall: float = 0.0
    #: The share of a chunk's new bytes that is stored (``short-store``), in [0, 1).
    fraction: float = 0.0

    @property
    def before_commit(self) -> bool:
        return self.kind in BEFORE_COMMIT

    @property
    def after_commit(self) -> bool:
        return self.kind in AFTER_COMMIT


_NO_FAULT = Fault(None)


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject; keeps counts.

    Thread-safe.  ``configure(None)`` (the default) turns injection off.
    """

    def __init__(self, spec: FaultSpec | str | None = None) -> None:
        self._lock = threading.Lock()
        self._spec: FaultSpec | None = None
        self._occurrences: dict[tuple[str, str], int] = {}
        self._effects: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        self._requests = 0
        self._injected: Counter[str] = Counter()
        self._by_route: dict[str, Counter[str]] = {}
        self.configure(spec)

    @property
    def spec(self) -> FaultSpec | None:
        """The active spec (None: no faults)."""
        return self._spec

    def configure(self, spec: FaultSpec | str | None) -> None:
        """Replace the spec (a string is parsed) and restart the counts and occurrences."""
        parsed = FaultSpec.parse(spec) if isinstance(spec, str) else spec
        with self._lock:
            self._spec = parsed if parsed is not None and parsed.rules else None
            self._occurrences.clear()
            self._effects.clear()
            self._requests = 0
            self._injected.clear()
            self._by_route.clear()

    def decide(self, method: str, path: str, route: str) -> Fault:
        """The fault for this request (counted); a no-fault answer when injection is off."""
        spec = self._spec
        if spec is None:
            return _NO_FAULT
        with self._lock:
            effects = self._effects.get(route)
            if effects is None:
                effects = self._effects[route] = spec.effects_for(route)
            key = (method, path)
            occurrence = self._occurrences.pop(key, 0)  # re-inserted last: oldest first out
            if len(self._occurrences) >= _MAX_TRACKED_PATHS:
                del self._occurrences[next(iter(self._occurrences))]
            self._occurrences[key] = occurrence + 1
            self._requests += 1
        probabilities, durations = effects
        draw, latency_draw = _draws(spec.seed, method, path, occurrence)
        kind: str | None = None
        cumulative = 0.0
        for candidate in _EXCLUSIVE:
            cumulative += probabilities.get(candidate, 0.0)
            if draw < cumulative:
                kind = candidate
                break
        delay = 0.0
        if latency_draw < probabilities.get("latency", 0.0):
            delay = durations.get("latency", _DEFAULT_DURATION["latency"])
        timed = {"slow": 0.0, "stall": 0.0}
        for timed_kind in timed:
            chance = probabilities.get(timed_kind, 0.0)
            if chance and _extra_draw(spec.seed, timed_kind, method, path, occurrence) < chance:
                timed[timed_kind] = durations.get(timed_kind, _DEFAULT_DURATION[timed_kind])
        fraction = 0.0
        if kind == "short-store":
            fraction = _extra_draw(spec.seed, "short-store", method, path, occurrence)
        fault = Fault(
            kind,
            delay,
            durations.get("429", _DEFAULT_DURATION["429"]),
            timed["slow"],
            timed["stall"],
            fraction,
        )
        if kind is not None or delay or fault.slow or fault.stall:
            with self._lock:
                for name in (
                    kind,
                    "latency" if delay else None,
                    "slow" if fault.slow else None,
                    "stall" if fault.stall else None,
                ):
                    if name is not None:
                        self._injected[name] += 1
                        self._by_route.setdefault(route, Counter())[name] += 1
        return fault

    def stats(self) -> dict[str, Any]:
        """Requests seen, faults injected by kind and by route, and the spec (JSON)."""
        with self._lock:
            return {
                "spec": self._spec.text if self._spec else None,
                "seed": self._spec.seed if self._spec else None,
                "requests": self._requests,
                "injected": dict(self._injected),
                "byRoute": {route: dict(counts) for route, counts in sorted(self._by_route.items())},
            }


_ACTIVE: ContextVar[Fault | None] = ContextVar("tuneport_emulator_fault", default=None)


@contextmanager
def applying(fault: Fault | None) -> Iterator[None]:
    """Make ``fault`` the one a handler sees (:func:`short_store_fraction`) while it runs."""
    token = _ACTIVE.set(fault)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def short_store_fraction() -> float | None:
    """The share of a chunk to store when the running request drew ``short-store`` (else None)."""
    fault = _ACTIVE.get()
    return fault.fraction if fault is not None and fault.kind == "short-store" else None


def _draws(seed: int, method: str, path: str, occurrence: int) -> tuple[float, float]:
    """Two independent uniform numbers in [0, 1) for one request occurrence."""
    digest = hashlib.blake2b(f"{seed}\0{method}\0{path}\0{occurrence}".encode(), digest_size=16).digest()
    scale = float(1 << 64)
    return int.from_bytes(digest[:8], "big") / scale, int.from_bytes(digest[8:], "big") / scale


def _extra_draw(seed: int, kind: str, method: str, path: str, occurrence: int) -> float:
    """A uniform number in [0, 1) for one timed kind (independent of :func:`_draws`, kept as it was)."""
    text = f"{seed}\0{kind}\0{method}\0{path}\0{occurrence}"
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / float(1 << 64)
