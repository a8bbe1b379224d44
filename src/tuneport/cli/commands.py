"""The verbs of the ``tuneport`` CLI, each a thin layer over the client."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from tuneport.cli._chart import PlotPath, print_curves
from tuneport.cli._cost import cost_options, on_cost
from tuneport.cli._job_options import evaluation_fields, job_options, naming_flags
from tuneport.cli._output import UNKNOWN, Column, job_dict, job_lines, job_panel, job_table, print_table
from tuneport.cli._progress import latest_loss, wait_progress
from tuneport.cli.app import FilePath, State, cli
from tuneport.cli.checkpoints import checkpoints_command
from tuneport.cli.cleanup import cleanup_command
from tuneport.cli.models import models_command
from tuneport.cli.rebase import rebase_command

pass_state = click.make_pass_decorator(State)


def _key_values(pairs: tuple[str, ...], option: str, *, parse_json: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        if parse_json:
            try:
                result[key] = json.loads(value)
            except json.JSONDecodeError:
                result[key] = value
        else:
            result[key] = value
    return result


def _load_spec_file(path: str) -> dict[str, Any]:
    from tuneport._file_permissions import not_a_regular_file
    from tuneport._nesting import nested_too_deep, nesting_message
    from tuneport._spec_keys import unknown_key_problems
    from tuneport.errors import Problem, SpecError

    def unreadable(message: str, rule: str) -> SpecError:
        return SpecError([Problem(message, source=path, rule=rule)], summary="unreadable spec file")

    reason = not_a_regular_file(path)
    if reason is not None:
        raise unreadable(reason, "not-a-regular-file")
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable(f"cannot read the file: {exc}", "unreadable") from None
    data: Any = None
    too_deep = False
    try:
        if path.endswith(".toml"):
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise unreadable(str(exc), "syntax") from None
    except RecursionError:
        too_deep = True  # raised below, once the parser's deep stack has unwound
    if too_deep or nested_too_deep(data):
        raise unreadable(f"a value is {nesting_message()}", "too-deep")
    if not isinstance(data, dict):
        raise SpecError([Problem("must be an object/table", source=path)], summary="invalid spec file")
    unknown = unknown_key_problems(data, source=path)
    if unknown:
        raise SpecError(unknown, summary="invalid spec file")
    return _paths_from_spec_folder(data, path)


#: The keys of a spec file that may hold a local dataset path.
_SPEC_PATH_KEYS = ("training_data", "validation_data")


def _paths_from_spec_folder(data: dict[str, Any], spec_path: str) -> dict[str, Any]:
    """Resolve the spec's relative dataset paths against the spec file's folder, not the current one.

    A spec then works from wherever it is run.  A file missing there is
    refused before any connection, naming the spec and the key it came from.
    """
    from tuneport.errors import Problem, SpecError

    folder = Path(spec_path).parent
    problems = []
    for key in _SPEC_PATH_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or "://" in value or not value.strip():
            continue  # a URI, inline examples or a bad value the spec's validation reports
        written = Path(value).expanduser()
        if written.is_absolute():
            continue
        resolved = folder / written
        data[key] = str(resolved)
        if not resolved.exists():
            message = f"'{value}' from the spec is read from the spec's folder: {resolved} does not exist"
            if written.exists():
                message += f" ('{value}' is in the current directory; write the path from the spec's folder)"
            problems.append(Problem(message, field=key, source=spec_path, rule="file-not-found"))
    if problems:
        raise SpecError(problems, summary="invalid spec file")
    return data


# --- information ---------------------------------------------------------------------


@cli.command()
@pass_state
def backends(state: State) -> None:
    """List installed backends: name, distribution, version, maturity, capabilities."""
    from tuneport.protocol import Capabilities

    host = state.plugin_host()
    entries = host.backends()
    rows: list[dict[str, Any]] = [
        {
            "name": entry.name,
            "distribution": entry.distribution,
            "version": entry.version,
            "plugin": entry.plugin,
            "maturity": str(entry.backend_class.maturity),
            # Class-level capabilities, where the backend declares them as a class attribute.
            "capabilities": caps.summary()
            if isinstance(caps := getattr(entry.backend_class, "declared_capabilities", None), Capabilities)
            else {},
        }
        for entry in entries.values()
    ]
    failures = [
        {"plugin": f.plugin, "distribution": f.distribution, "version": f.version, "error": str(f.error)}
        for f in host.failures()
    ]

    def human(console: Any) -> None:
        columns = (
            Column("name", whole=True),
            Column("distribution", whole=True),
            Column("version", whole=True),
            Column("maturity"),
            Column("operations", drop_rank=1),
            Column("methods", drop_rank=3),
            Column("hyperparameters", drop_rank=2),
        )
        cells = []
        for row in rows:
            caps: dict[str, Any] = row["capabilities"]
            cells.append(
                [
                    row["name"],
                    row["distribution"] or UNKNOWN,
                    row["version"] or UNKNOWN,
                    row["maturity"],
                    ", ".join(caps.get("operations", [])) or "none yet",
                    ", ".join(caps.get("methods", [])) or UNKNOWN,
                    ", ".join(caps.get("hyperparameters", [])) or UNKNOWN,
                ]
            )
        print_table(console, columns, cells, title="tuneport backends")
        if any(r["maturity"] == "settings-only" for r in rows):
            console.print(
                "settings-only: the backend is registered and validates its settings; "
                "its operations arrive in a later release.",
                style="dim",
            )
        for failure in failures:
            console.print(f"[red]broken plugin[/red] {failure['plugin']}: {failure['error']}")

    state.output.emit({"backends": rows, "failures": failures}, human)


# --- jobs --------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--spec", "spec_file", type=FilePath(exists=True, dir_okay=False), help="JobSpec as JSON or TOML."
)
@click.option("--base-model", "-m", help="Base model to tune.")
@click.option("--training-data", "-t", help="Training data: a local file or gs:// URI.")
@click.option("--validation-data", help="Validation data: a local file or gs:// URI.")
@click.option("--epochs", "epoch_count", type=int, help="Epoch count.")
@click.option("--batch-size", type=int, help="Batch size.")
@click.option("--learning-rate", type=float, help="Learning rate.")
@click.option("--learning-rate-multiplier", type=float, help="Learning-rate multiplier.")
@click.option("--adapter-size", type=int, help="Adapter size (1, 2, 4, 8, 16…).")
@job_options
@click.option("--display-name", help="Display name of the tuned model.")
@click.option("--description", help="Description.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Label (repeatable).")
@click.option(
    "--extra", "extras", multiple=True, metavar="KEY=JSON", help="Backend-specific field (repeatable)."
)
@click.option(
    "--wait",
    "wait_",
    is_flag=True,
    help="Wait for the job to finish, with a progress bar (where stderr is not a terminal: a status "
    "line at each state change and at least every minute).",
)
@click.option("--timeout", type=float, help="With --wait: give up after this many seconds.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the job and print the requests create would send, with the cost estimate; send "
    "nothing (exit 0: valid, 4: refused; --json: the pre-flight report).",
)
@cost_options
@pass_state
def create(
    state: State,
    /,
    spec_file: str | None,
    labels: tuple[str, ...],
    extras: tuple[str, ...],
    wait_: bool,
    timeout: float | None,
    dry_run: bool,
    max_cost: float | None,
    yes: bool,
    **options: Any,
) -> None:
    """Start a tuning job (from --spec, flags, or both: flags win).

    The method is supervised unless --method says otherwise; --from continues
    tuning a job's tuned model, from its default checkpoint or the --checkpoint given.
    The estimated cost is printed before anything is uploaded (see docs/cost.md).
    """
    fields: dict[str, Any] = _load_spec_file(spec_file) if spec_file else {}
    client = state.client()
    # The --eval-* flags replace keys of the evaluation table of --spec, else of the profile's.
    evaluation = evaluation_fields(fields.get("evaluation", client.job_defaults.get("evaluation")), options)
    fields.update({k: v for k, v in options.items() if v is not None})
    if evaluation is not None:
        fields["evaluation"] = evaluation
    if labels:
        fields["labels"] = {**fields.get("labels", {}), **_key_values(labels, "--label")}
    if extras:
        fields["extras"] = {**fields.get("extras", {}), **_key_values(extras, "--extra", parse_json=True)}
    given = {**client.job_defaults, **fields}
    if "training_data" not in given or not ({"base_model", "tuned_model"} & set(given)):
        raise click.UsageError(
            "--training-data and --base-model (or --from, to continue tuning) are required "
            "(or give them in --spec, or in the profile's job table)"
        )
    if dry_run:
        if wait_:
            raise click.UsageError("--dry-run sends nothing, so there is no job to --wait for")
        from tuneport.cli._dry_run import dry_run as print_dry_run

        print_dry_run(state, client, fields)
        return
    from tuneport.cli._upload_progress import upload_progress

    with naming_flags(), upload_progress(state.output.console(stderr=True), verbose=state.verbose):
        job = client.create(**fields, max_cost=max_cost, on_cost=on_cost(state, yes=yes))
    if wait_:
        state.output.note(f"created {job.id}; waiting…")
        job = _wait(state, client, job.id, timeout=timeout)
    state.output.emit(job_dict(job), lambda console: job_panel(job, console))


def _wait(state: State, client: Any, job_id: str, **options: Any) -> Any:
    """``client.wait`` with the CLI's progress on stderr: a bar on a terminal (none with --json),
    else a plain status line at each state change and at least every minute."""
    from tuneport.waiting import PollPolicy

    console = state.output.console(stderr=True)
    loss, poll = latest_loss(client), PollPolicy.coerce(options.get("poll"))
    with wait_progress(
        console, json_mode=state.output.json_mode, clock=client.clock, loss=loss, poll=poll
    ) as report:
        return client.wait(job_id, progress=report, **options)


#: JobState's values, spelt out: `tuneport --help` does not import the models (a test holds them equal).
JOB_STATES = (
    *("PENDING", "RUNNING", "PAUSED", "SUCCEEDED", "PARTIALLY_SUCCEEDED"),
    *("FAILED", "EXPIRED", "CANCELLING", "CANCELLED", "UNKNOWN"),
)


@cli.command(name="list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(JOB_STATES, case_sensitive=False),
    metavar="STATE",
    help="Only jobs in this state, in any case: " + ", ".join(JOB_STATES) + " (repeatable: any of them); "
    "the same on every backend.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only jobs carrying this label (repeatable: all of them); the same on every backend.",
)
@click.option(
    "--filter",
    "filter_",
    help="The provider's own filter expression, passed through (provider-specific: "
    "AIP-160 on vertex, a full-text search on gemini); refused where it cannot work.",
)
@click.option("--page-size", type=click.IntRange(min=1), help="Jobs per request.")
@click.option("--limit", type=click.IntRange(min=0), help="Stop after this many jobs.")
@click.option(
    "--output",
    "-o",
    "output_format",
    type=click.Choice(["table", "wide", "plain", "json"]),
    default="table",
    show_default=True,
    help="table: fits the terminal, leaving out the least needed columns, never cutting an id; "
    "wide: every column, a row per line; plain: a line per job, tab-separated (id, state, method, "
    "display name, base model, progress, created) for grep and cut; json: as --json.",
)
@pass_state
def list_(
    state: State,
    states: tuple[str, ...],
    labels: tuple[str, ...],
    filter_: str | None,
    page_size: int | None,
    limit: int | None,
    output_format: str,
) -> None:
    """List tuning jobs (every page, or up to --limit), selected by --state and --label."""
    client = state.client()
    selected = _key_values(labels, "--label") if labels else None
    listing = client.list(
        state=states or None, labels=selected, filter=filter_, page_size=page_size, limit=limit
    )
    jobs = list(listing)
    data = {"jobs": [job_dict(j, raw=False) for j in jobs]}
    if output_format == "json" or state.output.json_mode:
        state.output.emit(data)
    elif output_format == "plain":
        click.echo(job_lines(jobs), nl=False)
    else:
        state.output.emit(data, lambda c: job_table(jobs, c, wide=output_format == "wide"))


@cli.command()
@click.argument("job_id")
@pass_state
def get(state: State, job_id: str) -> None:
    """Show a job's current state."""
    job = state.client().get(job_id)
    state.output.emit(job_dict(job), lambda console: job_panel(job, console))


@cli.command()
@click.argument("job_id")
@click.option("--timeout", type=float, help="Give up after this many seconds (exit code 6).")
@click.option(
    "--poll", type=click.FloatRange(min=0.01), help="Fixed poll interval in seconds (default: backoff)."
)
@pass_state
def wait(state: State, job_id: str, timeout: float | None, poll: float | None) -> None:
    """Wait for a job to finish, with a progress bar (exit 1 if it fails).

    Where stderr is not a terminal (CI, a log file), a plain status line
    instead: at each change of state or detail state and at least every
    minute, with the steps, epochs and latest training loss where known.
    """
    job = _wait(state, state.client(), job_id, timeout=timeout, poll=poll)
    state.output.emit(job_dict(job), lambda console: job_panel(job, console))


@cli.command()
@click.argument("job_id")
@pass_state
def cancel(state: State, job_id: str) -> None:
    """Request cancellation of a job."""
    job = state.client().cancel(job_id)
    state.output.emit(job_dict(job), lambda console: job_panel(job, console))


@cli.command()
@click.argument("job_id")
@click.option(
    "--staged",
    is_flag=True,
    help="Also remove the datasets tuneport staged for the job, unless another job uses them.",
)
@pass_state
def delete(state: State, job_id: str, staged: bool) -> None:
    """Delete what a job produced (its tuned model, endpoint…); idempotent.

    Says "not found, nothing deleted" (exit 0) when there was nothing to delete.
    With --staged, lists the staged datasets removed and those kept (and why).
    """
    client = state.client()
    if staged:
        from tuneport._cleanup import require

        require(client.backend, "delete_staged")  # refused before anything is deleted
    deleted = client.delete(job_id)
    message = f"deleted {job_id}" if deleted else f"{job_id}: not found, nothing deleted"
    if not staged:
        state.output.emit({"job_id": job_id, "deleted": deleted}, lambda console: console.print(message))
        return
    from tuneport.cli.cleanup import print_report

    report = client.delete_staged(job_id)

    def human(console: Any) -> None:
        console.print(message)
        print_report(report, console)

    state.output.emit({"job_id": job_id, "deleted": deleted, "staged": report.to_dict()}, human)


@cli.command()
@click.argument("target")
@click.argument("prompt")
@click.option("--system", "system_instruction", help="System instruction.")
@click.option("--temperature", type=float)
@click.option("--top-p", type=float)
@click.option("--top-k", type=int)
@click.option("--max-output-tokens", type=int)
@click.option("--stop", "stop_sequences", multiple=True, help="Stop sequence (repeatable).")
@click.option("--candidates", "candidate_count", type=int, help="Number of candidates.")
@click.option(
    "--checkpoint",
    metavar="ID",
    help="Call this checkpoint of the job's tuned model (see `tuneport checkpoints JOB`).",
)
@pass_state
def generate(
    state: State,
    /,
    target: str,
    prompt: str,
    stop_sequences: tuple[str, ...],
    checkpoint: str | None,
    **options: Any,
) -> None:
    """Call a tuned model (TARGET: a job id, or a model/endpoint name; with --checkpoint, a job id)."""
    fields = {k: v for k, v in options.items() if v is not None}
    if stop_sequences:
        fields["stop_sequences"] = stop_sequences
    generation = state.client().generate(target, prompt, checkpoint=checkpoint, **fields)

    def human(console: Any) -> None:
        if len(generation.candidates) <= 1:
            console.print(generation.text, markup=False, highlight=False)
            return
        for number, text in enumerate(generation.candidates, start=1):
            console.rule(f"candidate {number} of {len(generation.candidates)}", style="dim")
            console.print(text, markup=False, highlight=False)

    state.output.emit(generation.model_dump(mode="json", exclude_none=True), human)


@cli.command()
@click.argument("job_id")
@click.option(
    "--csv",
    "csv_path",
    type=FilePath(dir_okay=False, allow_dash=True),
    help="Write CSV rows (- for stdout).",
)
@click.option(
    "--plot",
    "plot_path",
    type=PlotPath(),
    help="Save a chart, one panel per kind of series (PNG/SVG/PDF; no suffix: .png).",
)
@click.option(
    "--series",
    "series_names",
    multiple=True,
    metavar="NAME",
    help="Only this series, by its name or the provider's (repeatable; default: all).",
)
@pass_state
def metrics(
    state: State, job_id: str, csv_path: str | None, plot_path: str | None, series_names: tuple[str, ...]
) -> None:
    """Show a job's metric series (loss curves), under canonical names (train_loss, eval_loss…).

    People also get the loss curves drawn in the terminal (the series picked by --series, a chart per kind).
    """
    from tuneport.plotting import UnknownSeries, select_series

    try:
        result = select_series(state.client().metrics(job_id), series_names)
    except UnknownSeries as error:
        raise click.BadParameter(str(error), param_hint="--series") from None
    rows = result.rows()
    if csv_path:
        handle = sys.stdout if csv_path == "-" else open(csv_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        try:
            writer = csv.DictWriter(handle, fieldnames=["series", "step", "epoch", "value", "time"])
            writer.writeheader()
            writer.writerows(rows)
        finally:
            if handle is not sys.stdout:
                handle.close()
        if csv_path == "-":
            return
    if plot_path:
        from tuneport.plotting import save_plot

        state.output.note(f"saved {save_plot(result, plot_path)}")

    def human(console: Any) -> None:
        # A series name is never cut: a narrow terminal leaves out the steps, points, provider's name.
        columns = (
            Column("series", whole=True),
            Column("provider's name", whole=True, drop_rank=4),
            Column("points", drop_rank=3),
            Column("first step", drop_rank=1),
            Column("last step", drop_rank=2),
            Column("first"),
            Column("last"),
            Column("min"),
        )
        cells = []
        for name, points in sorted(result.series.items()):
            if not points:
                continue
            values = [p.value for p in points]
            cells.append(
                [
                    name,
                    result.native_names.get(name, name),
                    str(len(points)),
                    str(points[0].step),
                    str(points[-1].step),
                    f"{values[0]:.4g}",
                    f"{values[-1]:.4g}",
                    f"{min(values):.4g}",
                ]
            )
        print_table(console, columns, cells, title=f"metrics of {job_id}")
        print_curves(console, result, picked=bool(series_names))

    state.output.emit(
        {
            "job_id": job_id,
            "series": {k: [p.model_dump(mode="json") for p in v] for k, v in result.series.items()},
            "native_names": result.native_names,
        },
        human,
    )


cli.add_command(checkpoints_command)
cli.add_command(models_command)
cli.add_command(rebase_command)
cli.add_command(cleanup_command)


# --- emulator, demo ----------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address.")
@click.option(
    "--require-key",
    metavar="KEY",
    envvar="TUNEPORT_EMULATOR_KEY",
    help="Demand this API key on the Gemini routes, and with --allow-remote on every route "
    "(401/403 paths); prefer the environment variable, which stays out of process listings.",
)
@click.option(
    "--faults",
    metavar="SPEC",
    envvar="TUNEPORT_EMULATOR_FAULTS",
    help="Inject faults, e.g. 'seed=1; *: 503=0.1, reset-after=0.05' or 'chaos' (see docs/reliability.md).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Emulator seconds per wall-clock second: how fast jobs run (a 10-step job takes 90 emulator s).",
)
@click.option(
    "--state",
    metavar="FILE",
    envvar="TUNEPORT_EMULATOR_STATE",
    type=FilePath(dir_okay=False),
    help="Keep every job, model, operation and object in this SQLite file across restarts.",
)
@click.option(
    "--reset-state",
    is_flag=True,
    help="Delete the state file (--state, else the offline state the CLI's embedded emulator "
    "keeps between commands) and its stored objects, then exit without serving.",
)
@pass_state
def emulator(
    cli_state: State,
    host: str,
    port: int,
    allow_remote: bool,
    require_key: str | None,
    faults: str | None,
    speed: float,
    state: str | None,
    reset_state: bool,
) -> None:
    """Serve the Gemini API and Vertex AI emulator until interrupted."""
    from tuneport.errors import ConfigError
    from tuneport_emulator import EmulatorClock, EmulatorError, serve

    if reset_state:
        _reset_state(cli_state, state)
        return

    def ready(url: str) -> None:
        click.echo(url)  # stdout: the one thing a script needs
        extras = [f"faults: {faults}"] if faults else []
        extras += [f"state: {state}"] if state else []
        extras += ["an API key is required"] if require_key else []
        detail = f" ({'; '.join(extras)})" if extras else ""
        click.echo(f"tuneport emulator listening on {url}{detail}; Ctrl-C stops it", err=True)

    try:
        serve(
            host,
            port,
            allow_remote=allow_remote,
            require_key=require_key,
            faults=faults or None,
            state=state or None,
            clock=EmulatorClock.scaled(speed),
            on_ready=ready,
        )
    except EmulatorError as exc:  # the emulator's own errors; exit 2 like any configuration error
        raise ConfigError(str(exc), key=getattr(exc, "key", None)) from None


def _reset_state(cli_state: State, state: str | None) -> None:
    from tuneport.cli._offline import offline_state_path, reset_state

    path = Path(state) if state else offline_state_path()
    removed = reset_state(path)
    message = f"reset: deleted {path}" if removed else f"reset: nothing to delete at {path}"
    cli_state.output.emit(
        {"state": str(path), "deleted": removed},
        lambda console: console.print(message, markup=False, highlight=False, soft_wrap=True),
    )


@cli.command()
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Choice(["demo-gemini", "demo-vertex"]),
    help="Run only these demo profiles (default: all).",
)
@pass_state
def demo(state: State, profiles: tuple[str, ...]) -> None:
    """Run the whole tuning lifecycle on the embedded emulator, once per backend profile.

    Validates a small dataset, creates a job, waits with a progress bar, draws
    the loss curve, generates from the tuned model, lists jobs, cancels a
    second job and deletes them — with the same script on each profile. Where
    the backend runs preference tuning (vertex), it also runs Google's DPO
    recipe: a preference job continued from a checkpoint of the supervised
    one, with the checkpoints and loss of both. Nothing leaves the machine.
    """
    from dataclasses import asdict

    from tuneport.demo import PROFILES, run_demo

    console = state.output.console(stderr=state.output.json_mode)
    results = run_demo(console, profiles=profiles or PROFILES)
    if state.output.json_mode:
        state.output.emit({"profiles": [asdict(r) for r in results]})
