"""Output of the CLI: JSON on stdout for machines, rich text for people.

With ``--json`` only machine output goes to stdout (one JSON document per
command); logs, progress and warnings always go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from tuneport.models import EvaluationRun, TuningJob

#: A word (a model name, say) longer than this may fold in a narrow column (nothing is cut).
FOLD_AT = 16

#: What a table cell shows where the value is not known (a row never shows an empty cell or ``None``).
UNKNOWN = "—"


@dataclass
class Output:
    """Where and how a command reports."""

    json_mode: bool = False

    def console(self, *, stderr: bool = False, width: int | None = None) -> Console:
        """A rich console (imported only when a person is reading), *width* columns wide if given."""
        from rich.console import Console

        return Console(stderr=stderr, soft_wrap=False, width=width)

    def emit(self, data: Any, human: Callable[[Console], None] | None = None) -> None:
        """Print *data* as JSON, or call *human* with a console."""
        if self.json_mode or human is None:
            sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
            sys.stdout.flush()
        else:
            human(self.console())

    def note(self, message: str) -> None:
        """A line for people, on stderr (never pollutes --json output)."""
        self.console(stderr=True).print(message, highlight=False)


def job_dict(job: TuningJob, *, raw: bool = True) -> dict[str, Any]:
    """A job as JSON-able data."""
    data = job.model_dump(mode="json", exclude_none=True)
    if not raw:
        data.pop("raw", None)
    return data


@dataclass(frozen=True)
class Column:
    """A column of a table that fits the terminal without cutting a value."""

    header: str
    #: An id: shown whole on one line wherever the terminal allows it (other values may wrap).
    whole: bool = False
    #: Left out where the table does not fit: the lowest rank first; ``None``: never left out.
    drop_rank: int | None = None


#: The columns of ``list``; where the terminal is too narrow, it leaves out the created time first,
#: then the method, progress, base model and display name. The id and state are always shown.
JOB_COLUMNS = (
    Column("id", whole=True),
    Column("state"),
    Column("method", drop_rank=2),
    Column("display name", drop_rank=5),
    Column("base model", drop_rank=4),
    Column("progress", drop_rank=3),
    Column("created", drop_rank=1),
)


def job_cells(job: TuningJob) -> list[str]:
    """One job as the plain values of :data:`JOB_COLUMNS` (:data:`UNKNOWN` where not known)."""
    progress = f"{job.progress:.0%}" if job.progress is not None else steps_done(job)
    return [
        job.id,
        job.state.value if job.detail_state is None else f"{job.state.value} ({job.detail_state.value})",
        job.method.value if job.method is not None else UNKNOWN,
        job.display_name or UNKNOWN,
        job.base_model or UNKNOWN,
        progress or UNKNOWN,
        utc_minutes(job.create_time) if job.create_time else UNKNOWN,
    ]


def utc_minutes(moment: datetime) -> str:
    """``2026-12-03 18:07 UTC`` (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def job_table(jobs: Iterable[TuningJob], console: Console, *, wide: bool = False) -> None:
    """Print jobs as a table that fits *console* (``wide``: every column, each row on one line)."""
    from rich.text import Text

    listed = list(jobs)
    rows = [[Text(c) for c in job_cells(job)] for job in listed]
    for row, job in zip(rows, listed, strict=True):
        row[1] = Text.from_markup(_state(job))
    print_table(console, JOB_COLUMNS, rows, wide=wide, more="`--output wide` or `--output plain`")
    console.print(f"{len(listed)} job(s)", style="dim")


def job_lines(jobs: Iterable[TuningJob]) -> str:
    """One line per job, its :data:`JOB_COLUMNS` values tab-separated (for ``grep`` and ``cut``)."""
    return "".join("\t".join(_one_line(c) for c in job_cells(job)) + "\n" for job in jobs)


def _one_line(value: str) -> str:
    # A tab or newline inside a value (a display name, say) would split the record.
    return " ".join(value.split()) or UNKNOWN


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str | Text]],
    *,
    title: str | None = None,
    wide: bool = False,
    more: str = "`--json`",
) -> None:
    """Print *rows* so that no value is cut: where the terminal is too narrow for every column to show
    its values whole (an id on one line, other values wrapped between words), the columns with the
    lowest :attr:`Column.drop_rank` are left out and a note says which, and where *more* shows them.
    ``wide`` keeps every column and draws each row on one line, however wide.
    """
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    cells = [[Text(c) if isinstance(c, str) else c for c in row] for row in rows]
    minimum = [_minimum_width(column, [row[i] for row in cells]) for i, column in enumerate(columns)]
    unfolded = [
        _minimum_width(column, [row[i] for row in cells], fold_at=None) for i, column in enumerate(columns)
    ]
    natural = [max([cell_len(c.header)] + [row[i].cell_len for row in cells]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    if wide:
        console = _console_like(console, width=max(console.width, _table_width(natural)))
    droppable = sorted(
        (i for i, c in enumerate(columns) if c.drop_rank is not None), key=lambda i: columns[i].drop_rank or 0
    )
    dropped: list[int] = []
    while droppable and _table_width([minimum[i] for i in shown]) > console.width:
        dropped.append(droppable.pop(0))
        shown.remove(dropped[-1])
    for index in reversed(dropped[:-1]):  # a more needed column left out early may fit again
        if _table_width([minimum[i] for i in shown] + [minimum[index]]) <= console.width:
            shown = sorted([*shown, index])
    widths = _widths(
        [minimum[i] for i in shown], [unfolded[i] for i in shown], [natural[i] for i in shown], console.width
    )
    table = Table(title=title)
    for index, width in zip(shown, widths, strict=True):
        # Wrapped between words, and a word longer than its column folds: nothing is ever cut.
        table.add_column(columns[index].header, overflow="fold", width=width)
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    console.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    if left_out:
        console.print(
            f"left out at {console.width} columns: {', '.join(left_out)} ({more} shows them)",
            style="dim",
            soft_wrap=True,
        )


def _widths(
    minimum: Sequence[int], unfolded: Sequence[int], natural: Sequence[int], room: int
) -> Sequence[int | None]:
    """Column widths within *room*: each column's minimum; then the spare space to the columns in
    order, first so that no word folds, then up to their natural width. ``None`` each (rich
    decides, folding) where even the minimums do not fit."""
    spare = room - _table_width(minimum)
    if spare < 0:
        return [None] * len(minimum)
    widths = list(minimum)
    for target in (unfolded, natural):
        for index, wanted in enumerate(target):
            extra = min(spare, max(0, wanted - widths[index]))
            widths[index] += extra
            spare -= extra
    return widths


def _minimum_width(column: Column, values: Sequence[Text], *, fold_at: int | None = FOLD_AT) -> int:
    """The narrowest the column may be: an id's full width, else its longest word (a long one folds
    past :data:`FOLD_AT` characters)."""
    from rich.cells import cell_len

    header = max(cell_len(word) for word in column.header.split())
    if column.whole:
        return max([header] + [value.cell_len for value in values])
    words = [
        min(cell_len(word), fold_at or cell_len(word)) for value in values for word in value.plain.split()
    ]
    return max([header, *words])


def _table_width(widths: Sequence[int]) -> int:
    """The width of a boxed table with these column widths (one space of padding each side)."""
    return sum(widths) + 3 * len(widths) + 1


def _console_like(console: Console, *, width: int) -> Console:
    """A console writing where *console* writes, *width* columns wide."""
    from rich.console import Console

    return Console(
        file=console.file,
        width=width,
        soft_wrap=False,
        force_terminal=console.is_terminal,
        no_color=console.no_color,
    )


def job_panel(job: TuningJob, console: Console) -> None:
    """Print one job as key/value pairs, a pair per line.

    A line is never broken by tuneport: a resource name longer than the terminal is wrapped by the
    terminal itself, so a selection copies it whole (no newline inside it).
    """
    from rich.text import Text

    fields = _job_fields(job)
    width = max(len(key) for key, _ in fields)
    for key, value in fields:
        line = Text(key.ljust(width), style="bold") + Text("  ")
        line += Text.from_markup(value) if key == "state" else Text(value)
        console.print(line, soft_wrap=True, highlight=False)


def _state(job: TuningJob) -> str:
    colour = {"SUCCEEDED": "green", "FAILED": "red", "CANCELLED": "yellow", "EXPIRED": "red"}.get(
        job.state.value, "cyan"
    )
    detail = f" ({job.detail_state.value})" if job.detail_state else ""
    return f"[{colour}]{job.state.value}[/{colour}]{detail}"


def _job_fields(job: TuningJob) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("id", job.id), ("backend", job.backend), ("state", _state(job))]
    optional: Mapping[str, Any] = {
        "name": job.name,
        "display name": job.display_name,
        "method": job.method.value if job.method is not None else None,
        "base model": job.base_model,
        "continued from": continued_from(job),
        "teacher": job.teacher_model,
        "progress": f"{job.progress:.0%}" if job.progress is not None else None,
        "steps": steps_done(job),
        "epochs": epochs_done(job),
        "tuned model": job.tuned_model,
        "endpoint": job.endpoint,
        "checkpoints": checkpoints_summary(job),
        "created": job.create_time,
        "started": job.start_time,
        "ended": job.end_time,
        "error": job.error,
    }
    rows += [(k, str(v)) for k, v in optional.items() if v is not None and str(v) != ""]
    hyper = job.hyperparameters.given()
    if hyper:
        rows.append(("hyperparameters", ", ".join(f"{k}={v}" for k, v in hyper.items())))
    for index, run in enumerate(job.evaluations):
        rows.append(("evaluation" if index == 0 else "", evaluation_summary(run)))
    return rows


def continued_from(job: TuningJob) -> str | None:
    """The tuned model (and checkpoint) a job continued from; ``None`` for a job from a base model."""
    if job.source_model is None:
        return None
    if job.source_checkpoint is None:
        return job.source_model
    return f"{job.source_model}, checkpoint {job.source_checkpoint}"


def steps_done(job: TuningJob) -> str | None:
    """``12/30`` (or ``12`` where the total is not known)."""
    if job.completed_steps is None:
        return f"0/{job.total_steps}" if job.total_steps else None
    return f"{job.completed_steps}/{job.total_steps}" if job.total_steps else str(job.completed_steps)


def epochs_done(job: TuningJob) -> str | None:
    """``2/3`` epochs (the total from the hyperparameters, where they say)."""
    if job.completed_epochs is None:
        return None
    total = job.hyperparameters.epoch_count
    return f"{job.completed_epochs}/{total}" if total else str(job.completed_epochs)


def checkpoints_summary(job: TuningJob) -> str | None:
    """``3 (default: 3)``; ``None`` where the job reports no checkpoints."""
    if not job.checkpoints:
        return None
    default = job.default_checkpoint
    return f"{len(job.checkpoints)}" + (f" (default: {default.id})" if default is not None else "")


def evaluation_summary(run: EvaluationRun) -> str:
    """One evaluation run: its checkpoint and metrics, its error, or that it is running."""
    where = f"checkpoint {run.checkpoint_id}" if run.checkpoint_id is not None else "default checkpoint"
    if run.error is not None:
        return f"{where}: failed: {run.error}"
    if not run.metrics:
        return f"{where}: no results yet"
    return f"{where}: " + ", ".join(f"{name}={value:.4g}" for name, value in sorted(run.metrics.items()))


def status_line(job: TuningJob) -> str:
    """What a running job is doing, in one line: state, detail state, steps, epochs (for progress)."""
    parts = [job.state.value if job.detail_state is None else f"{job.state.value} · {job.detail_state.value}"]
    steps = steps_done(job)
    if steps:
        parts.append(f"step {steps}")
    epochs = epochs_done(job)
    if epochs:
        parts.append(f"epoch {epochs}")
    return " · ".join(parts)
