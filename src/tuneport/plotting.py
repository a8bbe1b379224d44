"""Loss-curve charts of :class:`~tuneport.models.Metrics` (matplotlib, optional).

matplotlib is an optional dependency (``pip install 'tuneport[plot]'``) and
is imported only when a chart is asked for.
"""

from __future__ import annotations

import os

from tuneport.errors import TuneportError
from tuneport.models import Metrics


def save_plot(metrics: Metrics, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Save one chart with every series against the step (format from the file suffix)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no screen needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise TuneportError("plotting needs matplotlib: pip install 'tuneport[plot]'") from None
    series = {name: points for name, points in metrics.series.items() if points}
    if not series:
        raise TuneportError(f"job {metrics.job_id} has no metric points to plot")
    figure, axes = plt.subplots(figsize=(8, 4.5))
    try:
        for name, points in sorted(series.items()):
            axes.plot([p.step for p in points], [p.value for p in points], label=name, marker=".")
        axes.set_xlabel("step")
        axes.set_ylabel("value")
        axes.set_title(title or f"metrics of {metrics.job_id}")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(os.fspath(path))
    finally:
        plt.close(figure)


def terminal_chart(
    metrics: Metrics, *, series: str | None = None, width: int = 70, height: int = 15, color: bool = True
) -> str:
    """The loss curve drawn for a terminal (plotext, braille dots); *series* defaults to all."""
    import plotext as plt

    chosen = {name: points for name, points in metrics.series.items() if points and (series in (None, name))}
    if not chosen:
        raise TuneportError(f"job {metrics.job_id} has no metric points to draw")
    plt.clear_figure()
    for name, points in sorted(chosen.items()):
        plt.plot([p.step for p in points], [p.value for p in points], label=name, marker="braille")
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.xlabel("step")
    text: str = plt.build()
    plt.clear_figure()  # plotext keeps a global figure: leave it clean for the next caller
    return text if color else str(plt.uncolorize(text))
