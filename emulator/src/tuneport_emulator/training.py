"""A simulated tuning run: when each step finishes, and the loss it reports.

A run is a plain-JSON *plan* fixed at creation (start, set-up time, seconds
per step, steps, steps per epoch, loss seed).  Everything else is computed
from the plan and the current emulator time, so a job "progresses" without
any background thread: read it later and more steps are done.

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
from typing import Any

__all__ = [
    "SECONDS_PER_STEP",
    "SETUP_SECONDS",
    "completed_steps",
    "end_time",
    "loss_seed",
    "make_plan",
    "mean_loss",
    "snapshots",
    "step_time",
    "total_steps",
]

#: Emulator seconds between creation and the first step (queueing, data checks).
SETUP_SECONDS = 30.0
#: Emulator seconds per training step.
SECONDS_PER_STEP = 6.0


def total_steps(examples: int, batch_size: int, epochs: int) -> tuple[int, int]:
    """``(total steps, steps per epoch)``: ``ceil(examples / batch_size) * epochs``."""
    per_epoch = max(1, math.ceil(examples / max(1, batch_size)))
    return per_epoch * max(1, epochs), per_epoch


def loss_seed(identity: str) -> int:
    """A 32-bit seed for a job's loss curve, from its id."""
    return int.from_bytes(hashlib.sha256(identity.encode("utf-8")).digest()[:4], "big")


def make_plan(*, start: float, steps: int, steps_per_epoch: int, seed: int) -> dict[str, Any]:
    """The plain-JSON plan of a run starting at ``start``."""
    return {
        "start": start,
        "setupSeconds": SETUP_SECONDS,
        "stepSeconds": SECONDS_PER_STEP,
        "totalSteps": steps,
        "stepsPerEpoch": steps_per_epoch,
        "seed": seed,
    }


def step_time(plan: dict[str, Any], step: int) -> float:
    """When step ``step`` (1-based) finishes; ``step_time(plan, 0)`` is when training begins."""
    return float(plan["start"] + plan["setupSeconds"] + step * plan["stepSeconds"])


def end_time(plan: dict[str, Any]) -> float:
    """When the last step finishes."""
    return step_time(plan, int(plan["totalSteps"]))


def completed_steps(plan: dict[str, Any], now: float) -> int:
    """How many steps are done at ``now`` (0 during set-up, at most the total)."""
    elapsed = now - step_time(plan, 0)
    if elapsed < 0:
        return 0
    # A tiny epsilon keeps float rounding from losing a step exactly on its boundary.
    done = math.floor(elapsed / plan["stepSeconds"] + 1e-9)
    return int(min(plan["totalSteps"], max(0, done)))


def _unit(seed: int, salt: str) -> float:
    """A deterministic number in [0, 1) from a seed and a salt."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def mean_loss(plan: dict[str, Any], step: int) -> float:
    """The mean training loss reported at ``step`` (1-based)."""
    seed = int(plan["seed"])
    total = max(1, int(plan["totalSteps"]))
    initial = 3.0 + 4.0 * _unit(seed, "initial")  # 3 .. 7
    floor = 0.05 + 0.25 * _unit(seed, "floor")  # 0.05 .. 0.30
    decay = 3.0 + 2.0 * _unit(seed, "decay")  # loss falls by e^-3 .. e^-5 over the run
    trend = floor + (initial - floor) * math.exp(-decay * step / total)
    noise = 1.0 + 0.16 * (_unit(seed, f"noise:{step}") - 0.5)  # +-8 %
    return round(trend * noise, 6)


def snapshots(plan: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    """One snapshot per completed step: ``{step, epoch, meanLoss, computeTime}`` (time in seconds).

    ``epoch`` is the 1-based epoch the step belongs to.
    """
    per_epoch = max(1, int(plan["stepsPerEpoch"]))
    return [
        {
            "step": step,
            "epoch": (step - 1) // per_epoch + 1,
            "meanLoss": mean_loss(plan, step),
            "computeTime": step_time(plan, step),
        }
        for step in range(1, steps + 1)
    ]
