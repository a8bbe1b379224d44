"""Money before the job: a tuning job's cost, estimated from its data and the catalog's price.

The estimate is ``billable tokens per epoch * epochs * price per token``:

* billable tokens come from the dataset layer's token estimate
  (:func:`tuneport.datasets.dataset_stats`): supervised examples capped at
  the model's token limit; preference examples' prompt and both answers;
  distillation prompts only (the teacher's answers are not in the file, so
  that estimate is a lower bound);
* epochs are the spec's ``epoch_count``, else the catalog's published
  default; Vertex picks its default from the dataset size and publishes no
  number, so without either the estimate has no amount;
* the price is the catalog's (:meth:`~tuneport.catalog.CatalogEntry.price_of`);
  a model without a published price gets no amount, never a guess.

The error bars are those of the token estimate (docs/datasets.md, "The token
estimate"): ±25% for text that is mostly ASCII, a factor of 1.5 either way
otherwise.  docs/cost.md documents the method and how it compares to the
billable tokens a job reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuneport._methods import TuningMethod
from tuneport.errors import Problem, SpecError

if TYPE_CHECKING:
    from tuneport.catalog import CatalogEntry, Price
    from tuneport.datasets import DatasetStats
    from tuneport.models import JobSpec

__all__ = [
    "ASCII_ERROR",
    "OTHER_SCRIPTS_FACTOR",
    "CostEstimate",
    "CostLimitExceeded",
    "CostNotApproved",
    "check_budget",
    "epochs_of",
    "estimate_cost",
    "estimate_job",
    "gate",
    "measure",
]

#: Relative error of the token estimate on mostly-ASCII text (docs/datasets.md: "within about ±25%").
ASCII_ERROR = 0.25
#: The token estimate on other scripts is "within about a factor of 1.5 either way".
OTHER_SCRIPTS_FACTOR = 1.5
# Text averaging at least this many characters per estimated token is mostly ASCII (4 per token);
# other scripts estimate at 3 (2-byte UTF-8) or 1.33 (wider) characters per token.
_MOSTLY_ASCII_CHARS_PER_TOKEN = 3.5


@dataclass(frozen=True)
class CostEstimate:
    """What a tuning job is expected to cost, how that was computed, and how sure it is.

    ``amount`` is ``None`` when it cannot be computed (no published price,
    unknown epochs, data not measured); ``note`` says why.  ``low``/``high``
    are the error bars; ``high`` is ``None`` when there is no upper bound
    (distillation: the teacher's answers are not counted; file parts).
    """

    backend: str
    base_model: str
    method: TuningMethod
    #: Estimated billable tokens of one pass over the training data (``None``: not measured).
    tokens_per_epoch: int | None
    epochs: int | None
    #: Where ``epochs`` comes from: ``"spec"`` or ``"catalog default"`` (``None``: unknown).
    epochs_from: str | None
    price: Price | None
    amount: float | None
    low: float | None
    high: float | None
    #: True when the figure is a floor (distillation: the teacher's answers are not counted).
    lower_bound: bool
    #: How the figure was computed, or why there is none.
    note: str

    @property
    def billable_tokens(self) -> int | None:
        """Estimated billable tokens of the whole job (tokens per epoch times epochs)."""
        if self.tokens_per_epoch is None or self.epochs is None:
            return None
        return self.tokens_per_epoch * self.epochs

    @property
    def currency(self) -> str | None:
        """The price's currency (``None`` without a price)."""
        return self.price.currency if self.price is not None else None

    @property
    def method_text(self) -> str:
        """How the amount is computed, in words (for messages)."""
        parts = [f"{self.tokens_per_epoch:,} billable tokens" if self.tokens_per_epoch is not None else "?"]
        parts.append(f"{self.epochs} epochs ({self.epochs_from})" if self.epochs is not None else "? epochs")
        if self.price is not None:
            parts.append(f"{_money(self.price.amount, self.price.currency)} per {self.price.per:,} tokens")
        else:
            parts.append("no published price")
        return " x ".join(parts)

    def describe(self) -> str:
        """One line: the amount with its error bars and how it was computed, or why there is none."""
        if self.amount is None:
            return f"cost: unknown: {self.note}"
        assert self.price is not None
        assert self.low is not None
        currency = self.price.currency
        floor = "at least " if self.lower_bound else "≈ "
        high = _money(self.high, currency) if self.high is not None else "no upper bound"
        bars = f"{_money(self.low, currency)} to {high}"
        source = f"; price from {self.price.source}" if self.price.source else ""
        read = f", read {self.price.read}" if self.price.read else ""
        return f"cost: {floor}{_money(self.amount, currency)} ({bars}) = {self.method_text}{source}{read}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (``--json`` output)."""
        return {
            "backend": self.backend,
            "base_model": self.base_model,
            "method": self.method.value,
            "tokens_per_epoch": self.tokens_per_epoch,
            "epochs": self.epochs,
            "epochs_from": self.epochs_from,
            "billable_tokens": self.billable_tokens,
            "price": self.price.model_dump(mode="json") if self.price is not None else None,
            "amount": self.amount,
            "low": self.low,
            "high": self.high,
            "currency": self.currency,
            "lower_bound": self.lower_bound,
            "note": self.note,
        }


class CostLimitExceeded(SpecError):
    """A job's estimated cost is over ``max_cost``, or cannot be estimated under one.

    Raised before any upload or request.  ``estimate`` is the
    :class:`CostEstimate` and ``limit`` the ``max_cost`` given.
    """

    def __init__(self, estimate: CostEstimate, limit: float) -> None:
        self.estimate = estimate
        self.limit = limit
        currency = estimate.currency or "USD"
        if estimate.amount is None:
            message = f"the cost cannot be estimated ({estimate.note}), so a max_cost cannot be honoured"
            rule = "cost-unknown"
        else:
            message = (
                f"estimated {_money(estimate.amount, currency)} is over max_cost {_money(limit, currency)}: "
                f"{estimate.method_text}"
            )
            rule = "over-max-cost"
        problem = Problem(message, field="max_cost", rule=rule)
        super().__init__([problem], summary="the job is refused before any upload")


class CostNotApproved(SpecError):
    """``create``'s ``on_cost`` did not approve the estimate (e.g. "no" at the CLI's prompt)."""

    def __init__(self, estimate: CostEstimate) -> None:
        self.estimate = estimate
        problem = Problem(f"not approved: {estimate.describe()}", field="cost", rule="cost-not-approved")
        super().__init__([problem], summary="the job is not started")


def check_budget(estimate: CostEstimate, max_cost: float | None) -> None:
    """Raise :class:`CostLimitExceeded` when *estimate* is over *max_cost* or unknown under one.

    The central amount is compared (not ``high``): the error bars are shown,
    the limit applies to the best estimate.  An unknown amount under a limit
    is refused, since nothing says the job fits.
    """
    if max_cost is None:
        return
    if math.isnan(max_cost) or max_cost < 0:
        problem = Problem(f"must be an amount ≥ 0, got {max_cost}", field="max_cost", rule="out-of-range")
        raise SpecError([problem], summary="max_cost is not an amount of money")
    if estimate.amount is None or estimate.amount > max_cost:
        raise CostLimitExceeded(estimate, max_cost)


def epochs_of(
    entry: CatalogEntry | None, method: TuningMethod, given: int | None
) -> tuple[int | None, str | None]:
    """The epochs a job runs and where that figure comes from (the spec, or the catalog's default)."""
    if given is not None:
        return given, "spec"
    if entry is not None:
        rule = entry.hyperparameters_of(method).get("epoch_count")
        default = rule.default if rule is not None else None
        if isinstance(default, (int, float)) and not isinstance(default, bool) and default > 0:
            return int(default), "catalog default"
    return None, None


def estimate_cost(
    stats: DatasetStats | None,
    *,
    backend: str,
    base_model: str,
    entry: CatalogEntry | None,
    method: TuningMethod | str = TuningMethod.SUPERVISED,
    epochs: int | None = None,
    why_unmeasured: str = "the training data was not measured",
) -> CostEstimate:
    """The cost of tuning *base_model* with *method* on the data *stats* measured.

    *stats* come from :func:`measure` (one epoch, each example's tokens
    capped at the method's token limit, as the service bills them); stats
    computed without ``epochs`` count as not measured.
    """
    kind = TuningMethod(method)
    price = entry.price_of(kind) if entry is not None else None
    count, epochs_from = epochs_of(entry, kind, epochs)
    tokens = _tokens_per_epoch(stats)
    lower_bound = kind is TuningMethod.DISTILLATION

    def unknown(note: str) -> CostEstimate:
        return CostEstimate(
            backend, base_model, kind, tokens, count, epochs_from, price, None, None, None, lower_bound, note
        )

    if entry is None:
        return unknown(f"'{base_model}' is not in the catalog of '{backend}': no price")
    if price is None:
        why = entry.price_note or "the catalog lists no published price"
        return unknown(f"no published {kind.value} training price for {base_model}: {why}")
    if count is None:
        return unknown("epoch_count is not set and the service picks its default from the dataset size")
    if stats is None or tokens is None:
        return unknown(why_unmeasured)
    amount = tokens * count * price.per_token()
    down, up = _error_factors(stats)
    high = None if lower_bound or stats.file_parts else amount * up
    note = "prompts only: the teacher's answers are not counted" if lower_bound else "estimated tokens"
    if stats.file_parts:
        note += f"; {stats.file_parts} file part(s) counted at 258 tokens each, a floor"
    return CostEstimate(
        backend,
        base_model,
        kind,
        tokens,
        count,
        epochs_from,
        price,
        amount,
        amount * down,
        high,
        lower_bound,
        note,
    )


def _tokens_per_epoch(stats: DatasetStats | None) -> int | None:
    """Billable tokens of one epoch (stats of any epoch count: their total divided back)."""
    if stats is None or stats.billable_tokens is None or not stats.epochs:
        return None
    return stats.billable_tokens // stats.epochs


def measure(source: Any, *, entry: CatalogEntry | None, method: TuningMethod | str) -> DatasetStats:
    """The stats a cost estimate needs: one epoch of *source*, capped at the method's token limit."""
    from tuneport.datasets import dataset_stats

    limits = entry.limits_of(method) if entry is not None else None
    return dataset_stats(source, epochs=1, limits=limits, method=method)


def _error_factors(stats: DatasetStats) -> tuple[float, float]:
    """The token estimate's error bars for this data: ±25% mostly-ASCII, a factor of 1.5 otherwise."""
    chars = stats.chars["example"].total if "example" in stats.chars else 0
    tokens = stats.estimated_tokens
    if tokens and chars / tokens >= _MOSTLY_ASCII_CHARS_PER_TOKEN:
        return 1 - ASCII_ERROR, 1 + ASCII_ERROR
    return 1 / OTHER_SCRIPTS_FACTOR, OTHER_SCRIPTS_FACTOR


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "?"
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{value:,.2f}" if value >= 0.01 or value == 0 else f"{symbol}{value:.4f}"


def estimate_job(
    spec: JobSpec, *, backend: str, entry: CatalogEntry | None, data_ok: bool | str = True
) -> CostEstimate:
    """The cost estimate of a job spec (measures its training data when *data_ok* is ``True``).

    *data_ok* is ``True`` when the training data is readable here and valid, else
    why it is not measured (remote data, data with errors, validation skipped).
    """
    if isinstance(spec.training_data, str) and "://" in spec.training_data:
        data_ok = "the training data is remote: only the service can count its tokens"
    stats = None
    why = "the training data was not measured"
    epochs, _ = epochs_of(entry, spec.method, spec.hyperparameters.epoch_count)
    # Reading the data is the costly part: only when an amount can come out of it.
    if data_ok is True and entry is not None and entry.price_of(spec.method) is not None and epochs:
        stats = measure(spec.training_data, entry=entry, method=spec.method)
    elif isinstance(data_ok, str):
        why = data_ok
    return estimate_cost(
        stats,
        backend=backend,
        base_model=spec.base_model,
        entry=entry,
        method=spec.method,
        epochs=spec.hyperparameters.epoch_count,
        why_unmeasured=why,
    )


def gate(
    estimate: CostEstimate | None,
    *,
    max_cost: float | None = None,
    on_cost: Callable[[CostEstimate], bool | None] | None = None,
) -> None:
    """What ``create`` does with the estimate before any upload: enforce *max_cost*, then ask *on_cost*.

    *on_cost* sees the estimate of a job that passed every check (the CLI
    prints it and may ask for confirmation); returning ``False`` stops the
    job with :class:`CostNotApproved`.
    """
    if estimate is None:
        return
    check_budget(estimate, max_cost)
    if on_cost is not None and on_cost(estimate) is False:
        raise CostNotApproved(estimate)
