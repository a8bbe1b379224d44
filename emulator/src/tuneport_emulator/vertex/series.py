"""The metric series a Vertex supervised tuning job writes to its TensorBoard run.

The names are the ones Google's tuning docs list (``/train_total_loss``…);
the values are synthetic and deterministic, seeded by the job's name:

* ``train_total_loss``: the emulator's loss curve (:meth:`tuneport_emulator.training.Plan.mean_loss`),
  falling exponentially with a few percent of noise, one point per step;
* ``train_fraction_of_correct_next_step_preds``: rising from about 0.3 towards 0.95;
* ``train_num_predictions``: tokens predicted in the step (batch size x mean output tokens, ±5 %);
* with a validation set, the ``eval_*`` twins, one point at the end of every epoch:
  the loss a little above the training loss, the accuracy a little below, and the
  validation set's output tokens.

Only points of completed steps exist, so a running job's series grow as it runs.
"""

from __future__ import annotations

import hashlib
import math

from tuneport_emulator.training import Plan

__all__ = ["EVAL_SERIES", "TRAIN_SERIES", "eval_steps", "series_names", "value"]

TRAIN_SERIES = ("train_total_loss", "train_fraction_of_correct_next_step_preds", "train_num_predictions")
EVAL_SERIES = ("eval_total_loss", "eval_fraction_of_correct_next_step_preds", "eval_num_predictions")


def series_names(has_validation: bool) -> tuple[str, ...]:
    """The series of a job (``eval_*`` only with a validation dataset)."""
    return TRAIN_SERIES + (EVAL_SERIES if has_validation else ())


def _unit(seed: int, salt: str) -> float:
    digest = hashlib.sha256(f"{seed}:series:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def eval_steps(plan: Plan, upto: int) -> list[int]:
    """The steps (at most ``upto``) after which the validation set is evaluated: each epoch's last."""
    steps = sorted({plan.epoch_end_step(epoch) for epoch in range(1, plan.epochs + 1)})
    return [s for s in steps if s <= upto]


def _accuracy(plan: Plan, step: int, salt: str) -> float:
    seed = plan.seed
    total = plan.total_steps
    start = 0.25 + 0.1 * _unit(seed, "acc-start")
    end = 0.9 + 0.07 * _unit(seed, "acc-end")
    trend = start + (end - start) * (1 - math.exp(-4.0 * step / total))
    noise = 1.0 + 0.04 * (_unit(seed, f"{salt}:{step}") - 0.5)
    return round(min(0.999, trend * noise), 6)


def value(plan: Plan, name: str, step: int, *, step_tokens: float, eval_tokens: int) -> float:
    """The value of series ``name`` at ``step`` (1-based)."""
    seed = plan.seed
    if name == "train_total_loss":
        return plan.mean_loss(step)
    if name == "train_fraction_of_correct_next_step_preds":
        return _accuracy(plan, step, "train-acc")
    if name == "train_num_predictions":
        return float(max(1, round(step_tokens * (1.0 + 0.1 * (_unit(seed, f"tokens:{step}") - 0.5)))))
    if name == "eval_total_loss":
        return round(plan.mean_loss(step) * (1.04 + 0.08 * _unit(seed, f"eval-loss:{step}")), 6)
    if name == "eval_fraction_of_correct_next_step_preds":
        return round(_accuracy(plan, step, "eval-acc") * 0.97, 6)
    if name == "eval_num_predictions":
        return float(max(1, eval_tokens))
    raise KeyError(name)
