"""``tuneport cleanup``: what tuneport staged or left behind that nothing uses any more.

A dry run by default (it lists what it would remove); ``--yes`` removes it.
``tuneport delete JOB --staged`` shares the report printed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tuneport.cli.app import State

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.cleanup import CleanupReport

__all__ = ["cleanup_command", "print_report"]

pass_state = click.make_pass_decorator(State)

_VERBS = {"removed": "removed", "would-remove": "would remove", "kept": "kept"}


def print_report(report: CleanupReport, console: Console) -> None:
    """The report as a table: action, what, size, when staged or created, why."""
    from rich.table import Table

    if not report.items:
        console.print("nothing tuneport staged or created was found")
        return
    table = Table(show_lines=False)
    for column in ("action", "kind", "resource", "size", "created", "why"):
        table.add_column(column)
    for item in report.items:
        table.add_row(
            _VERBS[item.action],
            item.kind,
            item.resource,
            "" if item.size_bytes is None else f"{item.size_bytes:,} B",
            item.created.strftime("%Y-%m-%d") if item.created else "",
            item.reason,
        )
    console.print(table)
    if not report.applied and report.would_remove:
        console.print(f"dry run: {len(report.would_remove)} item(s) would be removed; run again with --yes")


@click.command("cleanup")
@click.option(
    "--older-than",
    default="30d",
    show_default=True,
    metavar="AGE",
    help="Only what was staged or created longer ago than this (30d, 12h, 2w).",
)
@click.option("--yes", "--apply", "apply", is_flag=True, help="Remove (without it: a dry run, listing only).")
@pass_state
def cleanup_command(state: State, older_than: str, apply: bool) -> None:
    """Remove datasets tuneport staged that no live job uses, and endpoints its jobs left behind.

    A dry run unless --yes. Objects in the staging bucket that tuneport did not create
    (no tuneport metadata) are listed and never removed. See docs/cleanup.md.
    """
    from tuneport.cleanup import parse_age

    try:
        age = parse_age(older_than)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--older-than") from None
    report = state.client().cleanup(age, apply=apply)
    state.output.emit(report.to_dict(), lambda console: print_report(report, console))
