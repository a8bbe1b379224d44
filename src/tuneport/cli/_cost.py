"""Money on the command line: ``tuneport create``'s ``--max-cost`` and ``--yes``, its confirmation
prompt, and the estimate line ``tuneport dataset stats`` prints (docs/cost.md).

``tuneport create`` prints the estimate before anything is uploaded.  Above
the config file's ``[cost] confirm_above`` it asks first, but only when a
person is there (stdin and stdout are terminals): a script, a pipe or CI
never waits for an answer.  ``--yes`` skips the question; ``--max-cost`` is
the hard limit, honoured everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from tuneport.catalog import CatalogEntry
    from tuneport.cli.app import State
    from tuneport.cost import CostEstimate
    from tuneport.datasets import DatasetStats

__all__ = ["confirm_above", "cost_options", "interactive", "on_cost", "stats_cost"]

F = TypeVar("F", bound=Callable[..., Any])


def cost_options(command: F) -> F:
    """``--max-cost`` and ``--yes``."""
    command = click.option(
        "--yes", "-y", "yes", is_flag=True, help="Do not ask before starting a job over [cost] confirm_above."
    )(command)
    return click.option(
        "--max-cost",
        type=click.FloatRange(min=0),
        metavar="AMOUNT",
        help="Refuse, before any upload, a job whose estimated cost (in the price's currency, USD) is "
        "over AMOUNT or cannot be estimated.",
    )(command)


def interactive() -> bool:
    """True when a person can answer: stdin and stdout are both terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm_above(state: State) -> float | None:
    """The config file's ``[cost] confirm_above`` (``None``: never ask)."""
    from tuneport.config import find_config, load_config

    return load_config(find_config(state.config)).cost.get("confirm_above")


def on_cost(state: State, *, yes: bool) -> Callable[[CostEstimate], bool]:
    """What ``create`` calls with the estimate: print it, and ask when it is over the threshold."""
    threshold = confirm_above(state)

    def decide(estimate: CostEstimate) -> bool:
        # Printed as text: the note may name a [catalog.…] table, which is not rich markup.
        state.output.console(stderr=True).print(estimate.describe(), markup=False, highlight=False)
        amount = estimate.amount
        if threshold is None or amount is None or amount <= threshold or yes:
            return True
        if not interactive():
            state.output.note(
                f"note: the estimate is over [cost] confirm_above ({threshold:g}); not a terminal, so not "
                "asking (use --max-cost to refuse such jobs)"
            )
            return True
        return click.confirm(
            f"The estimate is over {threshold:g} (confirm_above). Start the job?", default=False, err=True
        )

    return decide


def stats_cost(stats: DatasetStats, entry: CatalogEntry, method: str, epochs: int | None) -> CostEstimate:
    """The cost of tuning *entry*'s model on the data *stats* measured (one epoch, or *epochs*)."""
    from tuneport.cost import estimate_cost

    return estimate_cost(
        stats,
        backend=entry.backend,
        base_model=entry.base_model,
        entry=entry,
        method=method,
        epochs=epochs,
    )
