"""Output of the CLI: JSON on stdout for machines, rich text for people.

With ``--json`` only machine output goes to stdout (one JSON document per
command); logs, progress and warnings always go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.models import EvaluationRun, TuningJob


@dataclass
class Output:
    """Where and how a command reports."""

    json_mode: bool = False

    def console(self, *, stderr: bool = False) -> Console:
        """A rich console (imported only when a person is reading)."""
        from rich.console import Console

        return Console(stderr=stderr, soft_wrap=False)

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


def job_table(jobs: Iterable[TuningJob], console: Console) -> None:
    """Print jobs as a table."""
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("id", "state", "method", "display name", "base model", "progress", "created"):
        table.add_column(column)
    count = 0
    for job in jobs:
        count += 1
        progress = f"{job.progress:.0%}" if job.progress is not None else ""
        created = job.create_time.isoformat(timespec="seconds") if job.create_time else ""
        method = job.method.value if job.method is not None else ""
        table.add_row(
            job.id, _state(job), method, job.display_name or "", job.base_model or "", progress, created
        )
    console.print(table)
    console.print(f"{count} job(s)", style="dim")


def job_panel(job: TuningJob, console: Console) -> None:
    """Print one job as key/value pairs."""
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # a resource name stays whole, for copy and paste
    for key, value in _job_fields(job):
        table.add_row(key, value)
    console.print(table)


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
    rows += [(k, str(v)) for k, v in optional.items() if v is not None]
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
