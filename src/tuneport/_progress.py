"""A rich progress bar that follows a job while ``wait(progress=True)`` polls it.

Imported only when a progress bar is asked for: rich is not loaded by
``import tuneport``.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from tuneport.models import TuningJob


class JobProgressBar:
    """Shows state, detail state and steps of a job on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID | None = None
        self._started = False

    def update(self, job: TuningJob) -> None:
        """Redraw from the job's latest state."""
        if not self._started:
            self._progress.start()
            self._started = True
        if self._task is None:
            self._task = self._progress.add_task(job.display_name or job.id, total=100, status="")
        status = (
            job.state.value if job.detail_state is None else f"{job.state.value} · {job.detail_state.value}"
        )
        if job.completed_steps is not None and job.total_steps:
            status += f" · step {job.completed_steps}/{job.total_steps}"
        completed = 100 * job.progress if job.progress is not None else None
        if job.state.is_success:
            completed = 100
        self._progress.update(self._task, completed=completed, status=status)

    def close(self) -> None:
        """Stop drawing."""
        if self._started:
            self._progress.stop()
            self._started = False
