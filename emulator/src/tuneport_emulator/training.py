"""A simulated tuning run: when each step finishes, and the loss it reports.

A run is a :class:`Plan` fixed at creation (start, set-up time, seconds per
step, examples, batch size, epochs, loss seed).  Everything else is computed
from the plan and the current emulator time, so a job "progresses" without
any background thread: read it later and more steps are done.

Steps are counted as the Gemini API counts them: the examples of every
epoch form one stream cut into batches, so a batch may run across an epoch
boundary and only the very last one may be short —
``total steps = ceil(examples x epochs ÷ batch size)`` (15 examples, 5
epochs, batch 2: 38 steps).  A step belongs to the epoch of its last example.

Time line of a run started at ``start``::

    start ──set-up── first step ── step ── … ── last step = end
          30 s        6 s each

The loss curve is deterministic (seeded by the job's id): it falls
exponentially from an initial loss towards a floor, with a few percent of
noise, so it is "decreasing with noise" yet identical on every read.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "SECONDS_PER_STEP",
    "SETUP_SECONDS",
    "Plan",
    "Snapshot",
    "loss_seed",
    "total_steps",
]

#: Emulator seconds between creation and the first step (queueing, data checks).
SETUP_SECONDS = 30.0
#: Emulator seconds per training step.
SECONDS_PER_STEP = 6.0


def total_steps(examples: int, batch_size: int, epochs: int) -> int:
    """``ceil(examples x epochs ÷ batch size)`` (at least 1)."""
    return max(1, math.ceil(max(1, examples) * max(1, epochs) / max(1, batch_size)))


def loss_seed(identity: str) -> int:
    """A 32-bit seed for a job's loss curve, from its id."""
    return int.from_bytes(hashlib.sha256(identity.encode("utf-8")).digest()[:4], "big")


def _unit(seed: int, salt: str) -> float:
    """A deterministic number in [0, 1) from a seed and a salt."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after one step (a ``TuningSnapshot``; the time in emulator seconds)."""

    step: int
    epoch: int
    mean_loss: float
    compute_time: float


@dataclass(frozen=True)
class Plan:
    """The schedule of one run; every figure of its progress is computed from it."""

    #: Emulator time of creation.
    start: float
    #: Examples in one epoch.
    examples: int
    batch_size: int
    epochs: int
    #: Seed of the loss curve.
    seed: int
    setup_seconds: float = SETUP_SECONDS
    step_seconds: float = SECONDS_PER_STEP

    @classmethod
    def create(cls, *, start: float, examples: int, batch_size: int, epochs: int, seed: int) -> Plan:
        """The plan of a run starting at ``start`` (counts below 1 are taken as 1)."""
        return cls(start, max(1, examples), max(1, batch_size), max(1, epochs), seed)

    def moved_to(self, start: float) -> Plan:
        """The same run, started at ``start``."""
        return replace(self, start=start)

    # --- figures ---------------------------------------------------------------------

    @property
    def total_steps(self) -> int:
        """``ceil(examples x epochs ÷ batch size)``."""
        return total_steps(self.examples, self.batch_size, self.epochs)

    def epoch_of(self, step: int) -> int:
        """The 1-based epoch step ``step`` belongs to: that of its last example."""
        last_example = min(step * self.batch_size, self.examples * self.epochs)
        return max(1, math.ceil(last_example / self.examples))

    def epoch_end_step(self, epoch: int) -> int:
        """The step that finishes epoch ``epoch`` (1-based)."""
        return min(self.total_steps, math.ceil(epoch * self.examples / self.batch_size))

    def completed_epochs(self, steps: int) -> int:
        """How many epochs are finished once ``steps`` steps are done."""
        return min(self.epochs, steps * self.batch_size // self.examples)

    # --- time ------------------------------------------------------------------------

    def step_time(self, step: int) -> float:
        """When step ``step`` (1-based) finishes; ``step_time(0)`` is when training begins."""
        return self.start + self.setup_seconds + step * self.step_seconds

    @property
    def end_time(self) -> float:
        """When the last step finishes."""
        return self.step_time(self.total_steps)

    def completed_steps(self, now: float) -> int:
        """How many steps are done at ``now`` (0 during set-up, at most the total)."""
        elapsed = now - self.step_time(0)
        if elapsed < 0:
            return 0
        # A tiny epsilon keeps float rounding from losing a step exactly on its boundary.
        done = math.floor(elapsed / self.step_seconds + 1e-9)
        return min(self.total_steps, max(0, done))

    # --- loss ------------------------------------------------------------------------

    def mean_loss(self, step: int) -> float:
        """The mean training loss reported at ``step`` (1-based)."""
        total = self.total_steps
        initial = 3.0 + 4.0 * _unit(self.seed, "initial")  # 3 .. 7
        floor = 0.05 + 0.25 * _unit(self.seed, "floor")  # 0.05 .. 0.30
        decay = 3.0 + 2.0 * _unit(self.seed, "decay")  # loss falls by e^-3 .. e^-5 over the run
        trend = floor + (initial - floor) * math.exp(-decay * step / total)
        noise = 1.0 + 0.16 * (_unit(self.seed, f"noise:{step}") - 0.5)  # +-8 %
        return round(trend * noise, 6)

    def snapshots(self, steps: int) -> list[Snapshot]:
        """One snapshot per completed step, the first ``steps`` of them."""
        return [
            Snapshot(step, self.epoch_of(step), self.mean_loss(step), self.step_time(step))
            for step in range(1, steps + 1)
        ]

    # --- stored form -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The plan as stored."""
        return {
            "start": self.start,
            "examples": self.examples,
            "batchSize": self.batch_size,
            "epochs": self.epochs,
            "seed": self.seed,
            "setupSeconds": self.setup_seconds,
            "stepSeconds": self.step_seconds,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Plan:
        """A stored plan."""
        return cls(
            start=float(value["start"]),
            examples=int(value["examples"]),
            batch_size=int(value["batchSize"]),
            epochs=int(value["epochs"]),
            seed=int(value["seed"]),
            setup_seconds=float(value["setupSeconds"]),
            step_seconds=float(value["stepSeconds"]),
        )
