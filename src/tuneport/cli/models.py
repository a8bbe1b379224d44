"""``tuneport models``: the model catalog, as a list or one model in full.

The list answers "what can I tune, where, until when, at what price?" in one
line per model; ``tuneport models MODEL`` shows every field of one entry (its
methods with their hyperparameters and ranges, limits, regions, serving
locations, dates, price and sources).  Names are never shortened: they are
what a user copies into ``--model``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from tuneport.cli.app import State

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.catalog import Catalog, CatalogEntry, ParamRule, Price
    from tuneport.datasets import DatasetLimits

__all__ = ["limits_text", "models_command"]

pass_state = click.make_pass_decorator(State)


@click.command(name="models")
@click.argument("model", required=False)
@click.option("--backend", "-b", help="Only this backend.")
@pass_state
def models_command(state: State, model: str | None, backend: str | None) -> None:
    """Show the model catalog: which base models can be tuned, where, until when, at what price.

    With MODEL, show that model in full: its methods with their hyperparameters
    and ranges, dataset limits, regions, where tuned models are served, dates,
    price and sources.
    """
    from tuneport.cli.data import load_catalog

    catalog = load_catalog(state)
    entries = catalog.models(backend)
    if backend is not None and not entries:
        state.plugin_host().backend(backend)  # BackendNotFound with a suggestion when misspelt
    if model is not None:
        _show_one(state, catalog, entries, model)
        return

    def human(console: Console) -> None:
        _list_table(entries, catalog, console)

    state.output.emit({"models": [e.summary() for e in entries]}, human)


def _show_one(state: State, catalog: Catalog, entries: list[CatalogEntry], model: str) -> None:
    found = [e for e in entries if model in e.names]
    if not found:
        from tuneport._suggest import close_matches, did_you_mean

        names = sorted({n for e in entries for n in e.names})
        hint = did_you_mean(close_matches(model, names, n=3))
        raise click.UsageError(f"no model '{model}' in the catalog{hint}")

    def human(console: Console) -> None:
        for entry in found:
            _entry_panel(entry, catalog, console)

    state.output.emit({"models": [e.summary() for e in found]}, human)


# --- the list --------------------------------------------------------------------------------------


def _list_table(entries: list[CatalogEntry], catalog: Catalog, console: Console) -> None:
    # One block per model rather than a table: a table squeezed into a terminal folds
    # names mid-word, and a name is what a user copies into --model.
    from rich.padding import Padding

    today = _today()
    for backend in sorted({e.backend for e in entries}):
        console.print(f"[bold]{backend}[/bold]: {_policy_text(catalog, backend)}", soft_wrap=True)
        for entry in (e for e in entries if e.backend == backend):
            title = f"  [bold cyan]{entry.base_model}[/bold cyan]"
            if entry.aliases:
                title += f" (also {', '.join(entry.aliases)})"
            if entry.display_name:
                title += f"  [dim]{entry.display_name}[/dim]"
            console.print(title, soft_wrap=True, highlight=False)
            details = [
                f"new tuning: {_tunability(entry, today)}",
                f"methods: {', '.join(_method_summary(entry, m) for m in entry.methods)}",
                f"regions: {_regions_summary(entry)}",
                f"tuning ends: {_tuning_ends(entry)}",
                f"price: {_price_summary(entry)}",
            ]
            console.print(Padding(" · ".join(details), (0, 0, 0, 4)), highlight=False)
        console.print()
    console.print(
        "tuneport models MODEL shows one model in full; "
        'override or extend entries in tuneport.toml: [catalog.BACKEND."MODEL"]',
        style="dim",
        markup=False,
    )


def _method_summary(entry: CatalogEntry, method: Any) -> str:
    rule = entry.methods[method]
    return str(method) if rule.status == "available" else f"{method} ({rule.status})"


def _policy_text(catalog: Catalog, backend: str) -> str:
    if catalog.policy(backend) == "refuse":
        return "unlisted models are refused"
    return "unlisted models are allowed with a warning, near misses of listed names are refused"


def _tunability(entry: CatalogEntry, today: dt.date) -> str:
    closed = entry.tuning_closed(today) if entry.tunable else None
    if not entry.tunable or closed:
        text = f"[red]no ({entry.status if entry.status != 'available' else 'past its cut-off'})[/red]"
        if entry.emulated:
            text += " [dim](the emulator still tunes it)[/dim]"
    elif entry.status == "available":
        text = "[green]yes[/green]"
    else:
        text = f"[yellow]yes ({entry.status})[/yellow]"
    return text


def _regions_summary(entry: CatalogEntry) -> str:
    if not entry.regions:
        text = "any (not checked)"
    elif len(entry.regions) > 3:
        text = f"{len(entry.regions)} regions"
    else:
        text = ", ".join(entry.regions)
    if entry.serving:
        text += f", served from {', '.join(entry.serving)}"
    return text


def _price_summary(entry: CatalogEntry) -> str:
    prices = {str(method): entry.price_of(method) for method in entry.methods}
    known = {method: price for method, price in prices.items() if price is not None}
    if not known:
        return "none recorded"
    if len({(p.amount, p.currency, p.per) for p in known.values()}) == 1 and len(known) == len(prices):
        return _price_text(next(iter(known.values())))
    return "; ".join(f"{method}: {_price_text(p) if p else 'none'}" for method, p in prices.items())


def _price_text(price: Price) -> str:
    per = "1M" if price.per == 1_000_000 else f"{price.per:,}"
    return f"{price.amount:g} {price.currency} per {per} training tokens"


# --- one model in full -----------------------------------------------------------------------------


def _entry_panel(entry: CatalogEntry, catalog: Catalog, console: Console) -> None:
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # URLs and names stay whole, for copy and paste
    for key, value in _entry_fields(entry, catalog):
        table.add_row(key, value)
    console.print(table, markup=False, highlight=False)
    # URLs on lines of their own, never folded, so they can be opened as printed.
    console.print("sources", style="bold")
    for url in entry.all_sources():
        console.print(f"  {url}", soft_wrap=True, markup=False, highlight=False)
    console.print()


def _entry_fields(entry: CatalogEntry, catalog: Catalog) -> list[tuple[str, str]]:
    today = _today()
    closed = entry.tuning_closed(today) if entry.tunable else None
    tunable = "yes" if entry.tunable and not closed else "no"
    rows: list[tuple[str, Any]] = [
        ("model", entry.base_model),
        ("backend", entry.backend),
        ("aliases", ", ".join(entry.aliases)),
        ("display name", entry.display_name),
        ("status", entry.status),
        ("new tuning", tunable + (f" ({closed})" if closed else "")),
        ("emulated", "the emulator still tunes it" if entry.emulated and not entry.tunable else None),
        ("about", entry.reason),
        ("modalities", ", ".join(entry.modalities)),
        ("validation data", "accepted" if entry.validation_data else "not accepted"),
        ("regions", ", ".join(entry.regions) or "any (the location is not checked)"),
        ("served from", ", ".join(entry.serving) or "the region of the job"),
        ("released", entry.released),
        ("retires", entry.discontinued or "no date recorded"),
        ("tuning ends", _tuning_ends(entry)),
        ("dates", entry.lifecycle_note),
        ("price", _price_full(entry.price) if entry.price else entry.price_note or "none recorded"),
    ]
    for method, rule in entry.methods.items():
        rows.append((f"method {method}", rule.status + (f"; {rule.note}" if rule.note else "")))
        rows.append(("  hyperparameters", _params_text(entry.hyperparameters_of(method))))
        rows.append(("  limits", limits_text(entry.limits_of(method)).replace("\n", "; ")))
        if rule.regions:
            rows.append(("  regions", ", ".join(rule.regions)))
        if rule.teachers:
            rows.append(("  teachers", ", ".join(rule.teachers)))
        if rule.price is not None:
            rows.append(("  price", _price_full(rule.price)))
    if entry.exclusive:
        rows.append(("exclusive", "; ".join(" / ".join(group) for group in entry.exclusive)))
    rows.append(("source read", entry.source_read or "not recorded"))
    rows.append((f"other {entry.backend} names", _policy_text(catalog, entry.backend)))
    return [(key, str(value)) for key, value in rows if value not in (None, "")]


def _params_text(params: Any) -> str:
    rules: dict[str, ParamRule] = dict(params)
    if not rules:
        return "none"
    lines = []
    for name, rule in rules.items():
        line = f"{name}: {rule.describe()}"
        if rule.note:
            line += f" ({rule.note})"
        lines.append(line)
    return "\n".join(lines)


def _price_full(price: Price) -> str:
    text = _price_text(price)
    if price.source:
        text += f"\n{price.source}"
    if price.read:
        text += f" (read {price.read})"
    return text


def limits_text(limits: DatasetLimits) -> str:
    """The dataset limits, one per line (``none known`` when there are none)."""
    parts = []
    if limits.max_input_chars:
        parts.append(f"input ≤ {limits.max_input_chars:,} chars")
    if limits.max_output_chars:
        parts.append(f"output ≤ {limits.max_output_chars:,} chars")
    if limits.max_example_tokens:
        parts.append(f"example ≤ {limits.max_example_tokens:,} tokens")
    if limits.max_examples:
        parts.append(f"≤ {limits.max_examples:,} training examples")
    if limits.max_validation_examples:
        parts.append(f"validation ≤ {limits.max_validation_examples:,} examples")
    if limits.max_validation_share_bytes:
        parts.append(f"validation ≤ {limits.max_validation_share_bytes:.0%} of the training file's bytes")
    if limits.max_validation_share_rows:
        over = limits.validation_share_rows_over
        when = f" (with over {over:,} validation examples)" if over else ""
        parts.append(f"validation ≤ {limits.max_validation_share_rows:.0%} of the training examples{when}")
    if limits.max_file_bytes:
        parts.append(f"file ≤ {limits.max_file_bytes / 1e9:g} GB")
    if limits.pairs_only:
        parts.append("input/output pairs only")
    if limits.text_only:
        parts.append("text only")
    return "\n".join(parts) or "none known"


def _tuning_ends(entry: CatalogEntry) -> str:
    from tuneport.catalog import NO_CUTOFF

    if entry.tuning_ends == NO_CUTOFF:
        return "never (reopened in tuneport.toml)"
    return str(entry.tuning_ends) if entry.tuning_ends else "no date recorded"


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()
