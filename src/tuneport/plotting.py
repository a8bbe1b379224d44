"""Loss-curve charts of :class:`~tuneport.models.Metrics` (matplotlib and plotext).

Series are grouped by kind (loss, accuracy, counts, other) and each kind gets
a panel of its own: a token count in the thousands on the axis of a loss near
one would flatten the loss curve to a line at zero.

matplotlib is an optional dependency (``pip install 'tuneport[plot]'``) and
is imported only when a chart is asked for; so is plotext.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tuneport.errors import TuneportError
from tuneport.models import MetricPoint, Metrics

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The kinds of series, in the order their panels are drawn.
SERIES_KINDS = ("loss", "accuracy", "count", "other")
#: File suffixes :func:`save_plot` writes (matplotlib's formats people ask for).
PLOT_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp")
#: The suffix a path without one gets (matplotlib would add it silently).
DEFAULT_PLOT_SUFFIX = ".png"

# Words of a series name (canonical or native) that say its kind; checked in this order.
_KIND_WORDS = (
    ("accuracy", ("accuracy", "fraction_of_correct")),
    ("loss", ("loss",)),
    ("count", ("tokens", "num_predictions", "count")),
)


class UnknownSeries(TuneportError):
    """A series asked for by name that the job's metrics do not have."""


def series_kind(name: str) -> str:
    """The kind of a series by its name: ``loss``, ``accuracy``, ``count`` or ``other``."""
    lowered = name.lower()
    for kind, words in _KIND_WORDS:
        if any(word in lowered for word in words):
            return kind
    return "other"


def plot_path_problem(path: str) -> str | None:
    """Why *path* cannot take a chart (a reason for the user), or ``None`` when it can."""
    if path in ("", "-"):
        return "a chart is not written to standard output: give a file name such as loss.png"
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix and suffix not in PLOT_SUFFIXES:
        return f"unsupported chart format {target.suffix!r}; use one of {', '.join(PLOT_SUFFIXES)}"
    folder = target.parent
    if not folder.is_dir():
        return f"folder {str(folder)!r} does not exist"
    if target.is_dir():
        return f"{path!r} is a folder"
    return None


def plot_file(path: str) -> str:
    """The file a chart for *path* goes to: the path itself, with ``.png`` where it has no suffix."""
    return path if Path(path).suffix else path + DEFAULT_PLOT_SUFFIX


def select_series(metrics: Metrics, names: Iterable[str]) -> Metrics:
    """*metrics* with only the series *names* (canonical or the provider's name); none: all.

    Raises :class:`UnknownSeries` naming the series asked for and the series there are.
    """
    wanted = list(names)
    if not wanted:
        return metrics
    by_native = {native: name for name, native in metrics.native_names.items()}
    chosen: dict[str, tuple[MetricPoint, ...]] = {}
    for name in wanted:
        canonical = name if name in metrics.series else by_native.get(name)
        if canonical is None:
            known = ", ".join(sorted(metrics.series)) or "none"
            raise UnknownSeries(f"job {metrics.job_id} has no series {name!r} (it has: {known})")
        chosen[canonical] = metrics.series[canonical]
    return metrics.model_copy(update={"series": chosen})


def _by_kind(metrics: Metrics) -> dict[str, dict[str, list[MetricPoint]]]:
    groups: dict[str, dict[str, list[MetricPoint]]] = {}
    for name, points in sorted(metrics.series.items()):
        if points:
            groups.setdefault(series_kind(name), {})[name] = list(points)
    return {kind: groups[kind] for kind in SERIES_KINDS if kind in groups}


def figure_for(metrics: Metrics, *, title: str | None = None) -> Figure:
    """A matplotlib figure with one panel (axes) per kind of series, sharing the step axis."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise TuneportError("plotting needs matplotlib: pip install 'tuneport[plot]'") from None
    groups = _by_kind(metrics)
    if not groups:
        raise TuneportError(f"job {metrics.job_id} has no metric points to plot")
    figure = Figure(figsize=(8, 2.2 + 2.3 * len(groups)))
    panels = figure.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    for axes, (kind, series) in zip(panels, groups.items(), strict=True):
        for name, points in series.items():
            axes.plot([p.step for p in points], [p.value for p in points], label=name, marker=".")
        axes.set_ylabel(kind)
        axes.grid(alpha=0.3)
        axes.legend()
    panels[-1].set_xlabel("step")
    figure.suptitle(title or f"metrics of {metrics.job_id}")
    figure.tight_layout()
    return figure


def save_plot(metrics: Metrics, path: str | os.PathLike[str], *, title: str | None = None) -> str:
    """Save the chart of :func:`figure_for` (format from the suffix); returns the file written."""
    target = plot_file(os.fspath(path))
    figure_for(metrics, title=title).savefig(target)
    return target


def terminal_chart(
    metrics: Metrics,
    *,
    series: str | Iterable[str] | None = None,
    width: int = 70,
    height: int = 15,
    color: bool = True,
) -> str:
    """Curves drawn for a terminal (plotext, braille dots); *series*: a name, names, or all."""
    import plotext as plt

    names = None if series is None else {series} if isinstance(series, str) else set(series)
    chosen = {
        name: points for name, points in metrics.series.items() if points and (names is None or name in names)
    }
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
