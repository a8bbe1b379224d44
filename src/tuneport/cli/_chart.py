"""Charts for the ``metrics`` verb: the ``--plot`` file option and the curves drawn in the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tuneport.cli.app import FilePath

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.models import Metrics


class PlotPath(FilePath):
    """A file a chart can be saved to, checked before any request: a supported suffix (none
    means ``.png``), a folder that exists, and not ``-`` (a chart is not text for stdout)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from tuneport.plotting import plot_path_problem

        text = str(super().convert(value, param, ctx))
        problem = plot_path_problem(text)
        if problem is not None:
            self.fail(problem, param, ctx)
        return text


def print_curves(console: Console, metrics: Metrics, *, picked: bool) -> None:
    """Draw the curves of *metrics* in the terminal, one chart per kind of series.

    By default (*picked* false) only the loss curves are drawn; with series picked by
    ``--series``, every kind among them gets its chart (never two kinds on one axis).
    """
    from tuneport.plotting import SERIES_KINDS, series_kind, terminal_chart

    drawn = [name for name, points in metrics.series.items() if points]
    kinds = SERIES_KINDS if picked else ("loss",)
    groups = [sorted(name for name in drawn if series_kind(name) == kind) for kind in kinds]
    width = max(40, min(console.width, 100))
    for names in groups:
        if names:
            chart = terminal_chart(metrics, series=names, width=width, height=15, color=console.is_terminal)
            console.print(chart, markup=False, highlight=False)
