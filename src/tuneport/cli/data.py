"""CLI verbs about data before any job: the model catalog and datasets."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import click

from tuneport.cli._cost import stats_cost
from tuneport.cli.app import EXIT_INVALID, FLAGS_META, FilePath, State, cli, report_error
from tuneport.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.catalog import Catalog, CatalogEntry
    from tuneport.datasets import ConversionPolicy, DatasetLimits, SystemHandling

pass_state = click.make_pass_decorator(State)
FORMATS = click.Choice(["gemini", "vertex", "openai", "trl", "neutral"])
METHODS = click.Choice(["supervised", "preference", "distillation"])
METHOD_HELP = (
    "The kind of data: supervised examples, preference examples or distillation prompts "
    "(default: told by the data's shape where it can be, else supervised)."
)
#: Problems shown per rule in a human report (all are in --json).
SHOWN_PER_RULE = 10
#: The Python keywords `dataset validate` and `stats` spell as other flags (others are `--` + keyword).
_FLAGS = {"format": "--format"}
#: Each verb's flag map (a keyword not listed is `--` + keyword).
_VERB_FLAGS = {"validate": _FLAGS, "stats": _FLAGS, "convert": {"format": "--from"}}
#: From this size on, `dataset validate` uses one process per CPU.
PARALLEL_FROM_BYTES = 16 * 1024 * 1024


def load_catalog(state: State) -> Catalog:
    """Every plugin's catalog, patched by the config file's ``[catalog]`` table."""
    from tuneport.config import find_config, load_config

    host = state.plugin_host()
    host.load_all()
    catalog = host.catalog()
    config_file = load_config(find_config(state.config))
    if config_file.catalog:
        catalog = catalog.with_overrides(
            config_file.catalog, source=config_file.label, backends=host.available_names()
        )
    return catalog


def find_entry(state: State, backend: str | None, model: str | None) -> CatalogEntry | None:
    """The catalog entry named by ``--backend``/``--model`` (``None`` when neither is given)."""
    if model is None:
        if backend is not None:
            raise click.UsageError("--backend needs --model: limits are per base model")
        return None
    catalog = load_catalog(state)
    candidates = [e for e in catalog.models(backend) if model in e.names]
    if not candidates:
        known = ", ".join(sorted({n for e in catalog.models(backend) for n in e.names}))
        where = f" of backend '{backend}'" if backend else ""
        raise ConfigError(
            f"model '{model}' is not in the catalog{where} (known: {known or 'none'})", key="model"
        )
    if len(candidates) > 1:
        backends = ", ".join(sorted(e.backend for e in candidates))
        raise click.UsageError(f"model '{model}' exists on several backends ({backends}): add --backend")
    return candidates[0]


# --- datasets -------------------------------------------------------------------------------


@cli.group()
@click.pass_context
def dataset(ctx: click.Context) -> None:
    """Validate, convert and describe tuning datasets (locally, before any upload)."""
    # A problem's remedies name the verb's own flags (`convert` reads the source's format from --from).
    ctx.meta[FLAGS_META] = dict(_VERB_FLAGS.get(ctx.invoked_subcommand or "", {}))


def detected_method(file: str, given: str | None) -> str:
    """*given*, else the method the file's shape tells, else ``supervised``."""
    return given or _shape_method(file) or "supervised"


def limits_for(entry: CatalogEntry | None, method: str) -> DatasetLimits | None:
    """The limits of *entry* for *method*'s data (``None`` without an entry)."""
    return entry.limits_of(method) if entry is not None else None


@dataset.command(name="validate")
@click.argument("file", type=FilePath(dir_okay=False))
@click.option("--backend", "-b", help="Check against this backend's limits (with --model).")
@click.option("--model", "-m", help="Check against this base model's limits.")
@click.option("--format", "-f", "format_", type=FORMATS, help="The file's format (default: detected).")
@click.option("--method", type=METHODS, help=METHOD_HELP)
@click.option("--role", type=click.Choice(["training", "validation"]), default="training", show_default=True)
@click.option("--max-problems", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes for large local files (default: one per CPU from 16 MB on, else 1).",
)
@pass_state
def dataset_validate(
    state: State,
    file: str,
    backend: str | None,
    model: str | None,
    format_: str | None,
    method: str | None,
    role: str,
    max_problems: int,
    workers: int | None,
) -> None:
    """Check a dataset file and report every problem with its line (exit 4 on errors)."""
    from tuneport.datasets import validate_dataset

    entry = find_entry(state, backend, model)
    kind = detected_method(file, method)
    report = validate_dataset(
        file,
        format=format_,
        method=kind,
        limits=limits_for(entry, kind),
        role="training" if role == "training" else "validation",
        max_problems=max_problems,
        workers=workers or _auto_workers(file),
    )

    def human(console: Console) -> None:
        from tuneport.cli._problems import cap_line, print_problems

        against = f" against {entry.backend} / {entry.base_model}" if entry else ""
        fmt = report.format.value if report.format else "unknown"
        console.print(
            f"[bold]{file}[/bold]: {report.example_count} examples, format {fmt}, {kind} data{against}",
            soft_wrap=True,
        )
        print_problems(
            console, report.problems, counts_by_rule=report.counts_by_rule, source=report.source, flags=_FLAGS
        )
        capped = cap_line(len(report.problems), report.error_count + report.warning_count)
        if capped:
            console.print(capped, style="dim", highlight=False, soft_wrap=True)
        verdict = "[green]valid[/green]" if report.ok else f"[red]{report.error_count:,} error(s)[/red]"
        console.print(f"{verdict}, {report.warning_count:,} warning(s)")

    payload = report.to_dict()
    # The fixes as this command's flags and commands (the library spells them as Python).
    payload["fixes"] = {
        rule: [remedy.cli(_FLAGS, {"SOURCE": report.source}) for remedy in remedies]
        for rule, remedies in report.fixes.items()
    }
    state.output.emit(payload, human)
    if not report.ok:
        raise SystemExit(EXIT_INVALID)


def _auto_workers(file: str) -> int:
    # A CLI process owns its machine: fork for big files (the library never does unasked).
    import os

    try:
        big = os.path.getsize(file) >= PARALLEL_FROM_BYTES
    except OSError:
        return 1
    return (os.cpu_count() or 1) if big else 1


@dataset.command(name="convert")
@click.argument("source", type=FilePath(dir_okay=False))
@click.argument("target", type=FilePath(dir_okay=False))
@click.option("--to", "target_format", type=FORMATS, required=True, help="Format to write.")
@click.option("--from", "source_format", type=FORMATS, help="The source's format (default: detected).")
@click.option(
    "--method",
    type=METHODS,
    help="The kind of data to write (default: the source's). Preference data converts into supervised "
    "examples of its preferred answers, or into prompts; supervised examples into prompts.",
)
@click.option(
    "--from-method",
    "source_method",
    type=METHODS,
    help="The kind of data the source holds (default: told by its shape, else --method).",
)
@click.option(
    "--policy",
    type=click.Choice(["error", "skip", "split"]),
    default="error",
    show_default=True,
    help="What to do with an example the target cannot hold.",
)
@click.option(
    "--system",
    type=click.Choice(["drop", "prepend"]),
    help="For a target without system instructions (gemini): drop an example's system instruction, or "
    "prepend its text to the question after a blank line (to every pair's question with --policy split). "
    "Default: such examples are handled by --policy.",
)
@pass_state
def dataset_convert(
    state: State,
    source: str,
    target: str,
    target_format: str,
    source_format: str | None,
    method: str | None,
    source_method: str | None,
    policy: str,
    system: str | None,
) -> None:
    """Convert a dataset between formats (Gemini API, Vertex, OpenAI, trl, neutral), or into another kind.

    Supervised examples convert between gemini, vertex, openai and neutral;
    preference examples and distillation prompts between vertex, openai, trl
    and neutral. With --method supervised, preference data keeps each prompt
    with its preferred answer (the first step of Google's DPO recipe).
    A conversion that writes no example exits 4 saying why, and leaves no
    target file.
    """
    from tuneport.datasets import convert_dataset
    from tuneport.errors import DatasetError

    chosen: ConversionPolicy = "error" if policy == "error" else ("skip" if policy == "skip" else "split")
    handling: SystemHandling | None = None if system is None else ("drop" if system == "drop" else "prepend")
    read_kind = source_method or _shape_method(source) or method or "supervised"
    try:
        report = convert_dataset(
            source,
            target,
            to=target_format,
            format=source_format,
            policy=chosen,
            method=method or read_kind,
            source_method=read_kind,
            system=handling,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except DatasetError as error:
        if state.output.json_mode:
            raise
        # Printed here to leave out the rules' standard fixes: they are conversions (`--to gemini`),
        # which is what this command was doing; its problems carry their own remedies where one helps.
        report_error(error, flags=_VERB_FLAGS["convert"], standard_fixes=False)
        raise SystemExit(EXIT_INVALID) from None

    def human(console: Console) -> None:
        from tuneport.cli._problems import cap_line, print_problems

        fmt = report.source_format.value if report.source_format else "?"
        kinds = (
            f"{report.source_method} data"
            if report.method is report.source_method
            else f"{report.source_method} data into {report.method} data"
        )
        # "unchanged" only for a rewrite in the same format; across formats they were converted.
        whole = "unchanged" if report.same_format and not report.system_changed else "converted"
        moved = (
            f"; system instruction {_SYSTEM_DONE[report.system]} in {report.system_changed}"
            if report.system is not None and report.system_changed
            else ""
        )
        console.print(
            f"{source} ({fmt}) → {target} ({report.target_format.value}), {kinds}: read {report.read}, "
            f"wrote {report.written} ({report.converted} {whole}, {report.split} split, "
            f"{report.skipped} skipped){moved}",
            soft_wrap=True,  # one line, never cut: paths copy whole
            markup=False,
            highlight=False,
        )
        # Grouped by rule with real counts; a fix only where the problem names one (a rule's standard
        # fix, converting the file, is what this command just did).
        print_problems(
            console,
            report.problems,
            counts_by_rule=report.counts_by_rule,
            source=report.source,
            flags=_VERB_FLAGS["convert"],
            standard_fixes=False,
        )
        capped = cap_line(len(report.problems), sum(report.counts_by_rule.values()))
        if capped:
            console.print(capped, style="dim", highlight=False, soft_wrap=True)

    state.output.emit(report.to_dict(), human)


_SYSTEM_DONE = {"drop": "dropped", "prepend": "prepended to the question"}


def _shape_method(file: str) -> str | None:
    """The method the file's shape tells (``None``: it does not)."""
    from tuneport.datasets import detect_method
    from tuneport.errors import DatasetError

    try:
        found = detect_method(file)
    except (DatasetError, TypeError):
        return None  # the command itself reports what is wrong with the file
    return found.value if found is not None else None


@dataset.command(name="stats")
@click.argument("file", type=FilePath(dir_okay=False))
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs, for the billable-token estimate.")
@click.option("--backend", "-b", help="Use this backend's limits (with --model).")
@click.option(
    "--model",
    "-m",
    help="Use this base model's limits (truncation, over-limit examples) and price (the cost).",
)
@click.option("--format", "-f", "format_", type=FORMATS, help="The file's format (default: detected).")
@click.option("--method", type=METHODS, help=METHOD_HELP)
@pass_state
def dataset_stats(
    state: State,
    file: str,
    epochs: int | None,
    backend: str | None,
    model: str | None,
    format_: str | None,
    method: str | None,
) -> None:
    """Example counts, per-role lengths and token estimates of a dataset."""
    from tuneport.datasets import dataset_stats as compute_stats

    entry = find_entry(state, backend, model)
    kind = detected_method(file, method)
    # The cost needs one epoch's billable tokens: measured in the same pass, shown only with --epochs.
    scan_epochs = epochs or (1 if entry is not None else None)
    stats = compute_stats(
        file, format=format_, epochs=scan_epochs, limits=limits_for(entry, kind), method=kind
    )
    cost = stats_cost(stats, entry, kind, epochs) if entry is not None else None
    if epochs is None and scan_epochs is not None:
        stats = replace(stats, epochs=None, billable_tokens=None)

    against = "".join(f" {flag} {value}" for flag, value in (("-b", backend), ("-m", model)) if value)

    def human(console: Console) -> None:
        from rich.markup import escape
        from rich.table import Table

        fmt = stats.format.value if stats.format else "unknown"
        console.print(
            f"[bold]{file}[/bold]: {stats.example_count} examples ({stats.invalid_example_count} invalid), "
            f"format {fmt}, {kind} data; {stats.multi_turn_examples} multi-turn, "
            f"{stats.examples_with_system} with a system instruction, {stats.file_parts} file parts"
        )
        table = Table()
        for column in ("per example", "min", "median", "p95", "max", "mean"):
            table.add_column(column, justify="right" if column != "per example" else "left")
        for unit, dists in (("chars", stats.chars), ("tokens (est.)", stats.tokens)):
            for role, dist in dists.items():
                if dist.count:
                    mean = f"{dist.mean:.1f}" if dist.mean is not None else ""
                    table.add_row(
                        f"{role} {unit}", str(dist.min), str(dist.median), str(dist.p95), str(dist.max), mean
                    )
        console.print(table)
        console.print(f"estimated tokens per epoch: {stats.estimated_tokens:,}")
        if stats.billable_tokens is not None:
            console.print(f"estimated billable tokens ({stats.epochs} epochs): {stats.billable_tokens:,}")
        # Said as a warning and an error, as validate reports them (and the command that lists them).
        listing = f"`tuneport dataset validate {file}{against}` lists them by line"
        if stats.truncated_count:
            console.print(
                f"[yellow]warning[/yellow]: {stats.truncated_count:,} example(s) would be truncated "
                "by the service",
                highlight=False,
                soft_wrap=True,
            )
        if stats.over_limit_count:
            console.print(
                f"[red]error[/red]: {stats.over_limit_count:,} example(s) over the character limits; "
                + escape(listing),
                highlight=False,
                soft_wrap=True,
            )
        if cost is not None:
            console.print(cost.describe(), markup=False, highlight=False)
        console.print("token counts are estimates (no tokenizer): see docs/datasets.md", style="dim")

    payload = stats.to_dict()
    if cost is not None:
        payload["cost"] = cost.to_dict()
    state.output.emit(payload, human)
