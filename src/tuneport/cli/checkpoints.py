"""``tuneport checkpoints JOB``: the checkpoints a job kept, with the loss at each, and
``--set-default ID`` to choose the one its tuned model serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tuneport.cli.app import State

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.client import TuningClient
    from tuneport.models import Checkpoint, Metrics, TuningJob

__all__ = ["checkpoints_command", "checkpoint_rows"]

#: The series shown as columns of the table (every series is in ``--json``).
TABLE_SERIES = ("train_loss", "eval_loss")

pass_state = click.make_pass_decorator(State)


def checkpoint_rows(checkpoints: tuple[Checkpoint, ...], metrics: Metrics | None) -> list[dict[str, Any]]:
    """Each checkpoint as data, with every metric series' value at its step (where known)."""
    rows = []
    for checkpoint in checkpoints:
        row: dict[str, Any] = checkpoint.model_dump(mode="json")
        if metrics is not None and checkpoint.step is not None:
            row["metrics"] = metrics.at_step(checkpoint.step)
        rows.append(row)
    return rows


def _metrics(client: TuningClient, job: TuningJob, state: State) -> Metrics | None:
    """The job's metric series, or ``None`` (with a note why) where they cannot be read."""
    from tuneport.errors import APIError, JobNotReady, UnsupportedCapability
    from tuneport.protocol import Operation

    if not job.checkpoints or not client.capabilities.supports(Operation.METRICS):
        return None
    try:
        return client.metrics(job.id)
    except (APIError, JobNotReady, UnsupportedCapability) as error:
        state.output.note(f"note: no metrics per checkpoint: {error}")
        return None


def _endpoint_prefix(rows: list[dict[str, Any]]) -> str:
    """The path the endpoints share, ending with ``/`` (the table shows what follows it)."""
    paths = [row["endpoint"].split("/") for row in rows if row["endpoint"]]
    if not paths:
        return ""
    shared: list[str] = []
    # Up to the shortest: zip stops there (never an endpoint's own last segment).
    for parts in zip(*(path[:-1] for path in paths), strict=False):
        if any(part != parts[0] for part in parts):
            break
        shared.append(parts[0])
    return "".join(f"{part}/" for part in shared)


def _table(job: TuningJob, rows: list[dict[str, Any]], console: Console) -> None:
    from rich.table import Table

    if not rows:
        console.print(f"job {job.id} reports no checkpoints (yet)", highlight=False)
        return
    series = [name for name in TABLE_SERIES if any(name in row.get("metrics", {}) for row in rows)]
    prefix = _endpoint_prefix(rows)
    table = Table(title=f"checkpoints of {job.id}")
    for column in ("id", "epoch", "step", "default", "endpoint", *series):
        table.add_column(column, overflow="fold")
    for row in rows:
        values = row.get("metrics", {})
        table.add_row(
            row["id"],
            "" if row["epoch"] is None else str(row["epoch"]),
            "" if row["step"] is None else str(row["step"]),
            "✓ default" if row["is_default"] else "",
            (row["endpoint"] or "").removeprefix(prefix),
            *(f"{values[name]:.4g}" if name in values else "" for name in series),
        )
    console.print(table)
    if prefix:  # said once, unwrapped: the whole name for copy and paste
        console.print(f"endpoints under {prefix}", style="dim", soft_wrap=True, highlight=False, markup=False)


@click.command(name="checkpoints")
@click.argument("job_id")
@click.option(
    "--set-default",
    "new_default",
    metavar="ID",
    help="Make this checkpoint the one the job's tuned model serves (then show the checkpoints).",
)
@pass_state
def checkpoints_command(state: State, job_id: str, new_default: str | None) -> None:
    """List the checkpoints a job kept: id, epoch, step, which is the default, its endpoint, and the
    training and validation loss at its step where the job has metrics.

    Call one with `tuneport generate JOB PROMPT --checkpoint ID`; continue tuning from one with
    `tuneport create --from JOB --checkpoint ID`.
    """
    client = state.client()
    if new_default is not None:
        job = client.set_default_checkpoint(job_id, new_default)
        state.output.note(f"the tuned model of {job.id} now serves checkpoint {new_default}")
    else:
        job = client.get(job_id)
    rows = checkpoint_rows(job.checkpoints, _metrics(client, job, state))
    default = job.default_checkpoint
    state.output.emit(
        {
            "job_id": job.id,
            "default_checkpoint": default.id if default is not None else None,
            "checkpoints": rows,
        },
        lambda console: _table(job, rows, console),
    )
