"""``tuneport rebase JOB --to MODEL``: tune a finished job's data again on a new base model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import click

from tuneport.cli._job_options import flag_of
from tuneport.cli._output import job_dict, job_panel
from tuneport.cli.app import State

__all__ = ["rebase_command"]

pass_state = click.make_pass_decorator(State)

#: Fields whose flag is the rebase's own (the new base is --to, never --base-model).
_FLAGS = {
    "to": "--to",
    "base_model": "--to",
    "translate_hyperparameters": "--translate-hyperparameters",
    "job": "JOB",
}


def _flag(field: str | None) -> str | None:
    return _FLAGS.get(field or "") or flag_of(field)


def _named(message: str, flag: str | None) -> str:
    return f"{message} (CLI flag {flag})" if flag and flag not in message else message


@contextmanager
def _naming_flags() -> Iterator[None]:
    """Re-raise a spec error or an unsupported parameter with the flag of each field it names."""
    from tuneport.errors import SpecError, UnsupportedParameter

    try:
        yield
    except SpecError as error:
        if type(error) is not SpecError:  # a subclass has a constructor of its own
            raise
        problems = [replace(p, message=_named(p.message, _flag(p.field))) for p in error.problems]
        raise SpecError(problems, summary=str(error).splitlines()[0]) from None
    except UnsupportedParameter as error:
        flag = _flag(error.parameter)
        if flag is None:
            raise
        reason = _named(error.reason or "not accepted", flag)
        raise UnsupportedParameter(error.backend, error.parameter, reason=reason, model=error.model) from None


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--label")
        labels[key] = value
    return labels


@click.command(name="rebase")
@click.argument("job_id", metavar="JOB")
@click.option("--to", "to", required=True, metavar="MODEL", help="The new base model.")
@click.option("--epochs", "epoch_count", type=int, help="Epoch count (default: the job's).")
@click.option("--learning-rate-multiplier", type=float, help="Learning-rate multiplier (default: the job's).")
@click.option("--adapter-size", type=int, help="Adapter size (default: the job's).")
@click.option("--batch-size", type=int, help="Batch size (default: the job's).")
@click.option("--learning-rate", type=float, help="Learning rate (default: the job's).")
@click.option("--beta", type=float, help="Preference tuning's beta (default: the job's).")
@click.option("--display-name", help="Display name of the new tuned model (default: the job's).")
@click.option("--description", help="Description (default: the job's).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Label to add (repeatable).")
@click.option(
    "--translate-hyperparameters",
    "translate",
    is_flag=True,
    help="Apply Google's migration recipe to the job's hyperparameters (only for the base-model "
    "pairs it covers; see docs/rebase.md).",
)
@click.option("--wait", "wait_", is_flag=True, help="Wait for the new job to finish, with a progress bar.")
@click.option("--timeout", type=float, help="With --wait: give up after this many seconds.")
@pass_state
def rebase_command(
    state: State,
    /,
    job_id: str,
    to: str,
    labels: tuple[str, ...],
    translate: bool,
    wait_: bool,
    timeout: float | None,
    **options: Any,
) -> None:
    """Tune a finished job's data again on a new base model (when its base retires).

    Vertex rebases the tuned model itself (tuningJobs:rebaseTunedModel); elsewhere the job is
    re-created from its spec on MODEL.  The job's hyperparameters, names and labels carry over
    unless a flag changes them; the new job is checked against the model catalog before anything
    is sent.  See docs/rebase.md.
    """
    overrides = {k: v for k, v in options.items() if v is not None}
    if labels:
        overrides["labels"] = _labels(labels)
    client = state.client()
    with _naming_flags():
        job = client.rebase(job_id, to=to, translate_hyperparameters=translate, **overrides)
    if wait_:
        from tuneport.cli.commands import _wait

        state.output.note(f"rebased {job_id} as {job.id} on {to}; waiting…")
        job = _wait(state, client, job.id, timeout=timeout)
    state.output.emit(job_dict(job), lambda console: job_panel(job, console))
