"""The progress bar of ``tuneport wait`` and ``create --wait``: the job's method, state, detail
state, steps and epochs as it runs, on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tuneport.cli._output import status_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from tuneport.models import TuningJob

__all__ = ["WaitProgress", "wait_progress"]


class WaitProgress:
    """Redraws a bar from each job the client's ``wait`` reads (its ``progress`` callback)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress: Progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def __call__(self, job: TuningJob) -> None:
        if self._task is None:
            self._progress.start()
            title = job.display_name or job.id
            if job.method is not None:
                title = f"{title} ({job.method.value})"
            self._task = self._progress.add_task(title, total=100, status="")
        completed = 100 * job.progress if job.progress is not None else None
        if job.state.is_success:
            completed = 100
        self._progress.update(self._task, completed=completed, status=status_line(job))

    def close(self) -> None:
        """Stop drawing (the last line stays)."""
        if self._task is not None:
            self._progress.stop()


@contextmanager
def wait_progress(console: Console, enabled: bool) -> Iterator[WaitProgress | None]:
    """A progress callback for ``client.wait`` while the block runs (``None`` when not *enabled*)."""
    if not enabled:
        yield None
        return
    bar = WaitProgress(console)
    try:
        yield bar
    finally:
        bar.close()
