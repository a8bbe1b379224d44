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

    from tuneport.models import TuningJob


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
    for column in ("id", "state", "display name", "base model", "progress", "created"):
        table.add_column(column)
    count = 0
    for job in jobs:
        count += 1
        progress = f"{job.progress:.0%}" if job.progress is not None else ""
        created = job.create_time.isoformat(timespec="seconds") if job.create_time else ""
        table.add_row(job.id, _state(job), job.display_name or "", job.base_model or "", progress, created)
    console.print(table)
    console.print(f"{count} job(s)", style="dim")


def job_panel(job: TuningJob, console: Console) -> None:
    """Print one job as key/value pairs."""
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
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
        "base model": job.base_model,
        "progress": f"{job.progress:.0%}" if job.progress is not None else None,
        "steps": f"{job.completed_steps}/{job.total_steps}" if job.total_steps else None,
        "tuned model": job.tuned_model,
        "endpoint": job.endpoint,
        "created": job.create_time,
        "started": job.start_time,
        "ended": job.end_time,
        "error": job.error,
    }
    rows += [(k, str(v)) for k, v in optional.items() if v is not None]
    hyper = job.hyperparameters.given()
    if hyper:
        rows.append(("hyperparameters", ", ".join(f"{k}={v}" for k, v in hyper.items())))
    return rows
