"""What ``tuneport wait`` and ``create --wait`` show on stderr while a job runs.

On a terminal, a progress bar: the job's method, state, detail state, steps
and epochs.  Elsewhere (CI, a pipe, a log file) a bar draws nothing useful,
so plain lines instead: one at each change of state or detail state and one
at least every minute while the job runs, with its steps, epochs and latest
training loss where the backend reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tuneport.cli._output import status_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from tuneport.client import TuningClient
    from tuneport.models import DetailState, JobState, TuningJob
    from tuneport.waiting import Clock, PollPolicy

__all__ = ["HEARTBEAT", "StatusLines", "WaitProgress", "latest_loss", "wait_progress"]

#: Longest silence, in seconds, of the plain status lines while a job runs.
HEARTBEAT = 60.0


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


class StatusLines:
    """Writes a plain line from the jobs ``wait`` reads: at each change of state or detail state,
    and so that no more than *heartbeat* seconds (on *clock*) pass without one.

    With *poll*, the schedule ``wait`` polls on, a line is written at a poll
    whose next one would come too late for the heartbeat (the polls spread out
    up to a minute apart); without it, once *heartbeat* has passed.

    Each line: the job and its method, its state, detail state, steps, epochs, the latest
    training loss (from *loss*, asked only for a line that is written) and
    the time waited.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        clock: Clock,
        *,
        loss: Callable[[TuningJob], float | None] | None = None,
        heartbeat: float = HEARTBEAT,
        poll: PollPolicy | None = None,
    ) -> None:
        self._write = write
        self._clock = clock
        self._loss = loss
        self._heartbeat = heartbeat
        self._poll = poll
        self._polls = 0  # the jobs seen so far, as wait counts its polls
        self._start = clock.monotonic()
        self._last_line: float | None = None
        self._last_state: tuple[JobState, DetailState | None] | None = None

    def __call__(self, job: TuningJob) -> None:
        now = self._clock.monotonic()
        state = (job.state, job.detail_state)
        if self._last_line is None:
            due = True
        elif self._poll is None:
            due = now - self._last_line >= self._heartbeat
        else:  # would the next poll come too late for a line then?
            due = now + self._poll.interval(self._polls) - self._last_line > self._heartbeat
        self._polls += 1
        if state == self._last_state and not due:
            return
        self._last_state, self._last_line = state, now
        self._write(self.line(job, now - self._start))

    def line(self, job: TuningJob, waited: float) -> str:
        """The line for *job*, *waited* seconds into the wait."""
        title = f"job {job.id}" if job.method is None else f"job {job.id} ({job.method.value})"
        parts = [title, status_line(job)]
        loss = self._loss(job) if self._loss is not None else None
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        minutes, seconds = divmod(int(waited), 60)
        parts.append(f"{minutes}m{seconds:02d}s waited")
        return " · ".join(parts)


def latest_loss(client: TuningClient) -> Callable[[TuningJob], float | None]:
    """The last ``train_loss`` point of a running or finished job (``None`` when there is none).

    A backend that cannot read metrics, or a read that fails, is asked no
    more: the status lines go on without the loss.
    """
    from tuneport.errors import TuneportError
    from tuneport.models import JobState

    failed = False

    def loss(job: TuningJob) -> float | None:
        nonlocal failed
        if failed or not (job.state is JobState.RUNNING or job.state.is_success):
            return None
        try:
            points = client.metrics(job.id).series.get("train_loss")
        except TuneportError:
            failed = True
            return None
        return points[-1].value if points else None

    return loss


@contextmanager
def wait_progress(
    console: Console,
    *,
    json_mode: bool,
    clock: Clock,
    loss: Callable[[TuningJob], float | None] | None = None,
    poll: PollPolicy | None = None,
) -> Iterator[Callable[[TuningJob], None] | None]:
    """A progress callback for ``client.wait`` while the block runs: a bar on a terminal (none
    with ``--json``), plain :class:`StatusLines` when *console* is not a terminal."""
    if not console.is_terminal:
        yield StatusLines(lambda text: _print_plain(console, text), clock, loss=loss, poll=poll)
        return
    if json_mode:
        yield None
        return
    bar = WaitProgress(console)
    try:
        yield bar
    finally:
        bar.close()


def _print_plain(console: Console, text: str) -> None:
    # Unwrapped and unstyled: one line per status in a CI log, job ids whole.
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    console.file.flush()
