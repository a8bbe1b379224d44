"""``tuneport create --dry-run``: the pre-flight report and the requests ``create`` would send,
with the cost estimate, sending nothing.

The report is :func:`tuneport.validate`'s, computed on the command's own
client (its backend, catalog and profile defaults), so what is printed is
what ``create`` would check and send.  Exit 0 when the job would be
accepted, 4 when something blocks it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from tuneport.cli._job_options import flag_of_problem, named
from tuneport.cli._problems import cap_line, print_problems
from tuneport.cli.app import VERB_FLAGS

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.cli.app import State
    from tuneport.client import TuningClient
    from tuneport.preflight import PreflightReport

__all__ = ["dry_run"]


def dry_run(state: State, client: TuningClient, fields: Mapping[str, Any]) -> None:
    """Print what ``create`` would send for *fields* (``--json``: the report's ``to_dict()``);
    exit 4 when the job would be refused."""
    from tuneport._connect import plan_report
    from tuneport.cli._job_options import naming_flags
    from tuneport.cli.app import EXIT_INVALID
    from tuneport.client import build_spec

    with naming_flags():
        spec = build_spec(client.job_defaults, fields)
    report = plan_report(spec, client.backend, client.catalog)
    state.output.emit(report.to_dict(), lambda console: _print_report(report, console))
    if not report.ok:
        raise click.exceptions.Exit(EXIT_INVALID)


def _print_report(report: PreflightReport, console: Console) -> None:
    def text(line: str, style: str | None = None) -> None:
        # Plain text: messages and bodies may hold brackets, which are not rich markup.
        console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)

    verdict = "valid" if report.ok else "NOT valid: create would refuse it"
    text(f"dry run ({report.backend}, {report.base_model}): nothing sent; the job is {verdict}", "bold")
    if report.cost is not None:
        text(report.cost.describe())
    shown = [
        # A spec field's problem names the create flag that sets it.
        replace(problem, message=named(problem.message, flag_of_problem(problem, in_data=kind == "dataset")))
        for kind, problem in ((finding.kind, finding.problem) for finding in report.findings)
    ]
    print_problems(console, shown, counts_by_rule=_counts_by_rule(report), flags=VERB_FLAGS["create"])
    kept = sum(len(dataset.problems) for dataset in report.datasets.values())
    found = sum(dataset.error_count + dataset.warning_count for dataset in report.datasets.values())
    capped = cap_line(kept, found, hint="`tuneport dataset validate FILE --max-problems N` shows more")
    if capped:
        text(capped, "dim")
    if report.plan is None:
        text(report.plan_note or "no plan", "dim")
        return
    text(f"would send {len(report.plan)} request(s):")
    for request in report.plan:
        text(f"{request['method']} {request['url']}", "bold")
        if request.get("params"):
            text("params: " + json.dumps(request["params"], sort_keys=True))
        if request.get("json") is not None:
            text(json.dumps(_abridged(request["json"]), indent=2, ensure_ascii=False))


def _counts_by_rule(report: PreflightReport) -> dict[str, int]:
    """Every dataset problem found per rule, kept or not (other findings are all kept)."""
    counts: Counter[str] = Counter()
    for dataset in report.datasets.values():
        counts.update(dataset.counts_by_rule)
    return dict(counts)


#: A list longer than this (inline examples, say) shows its first items and a count of the rest.
_SHOWN_ITEMS = 3


def _abridged(value: Any) -> Any:
    """*value* with long lists cut for reading (``--json`` prints them whole)."""
    if isinstance(value, Mapping):
        return {key: _abridged(item) for key, item in value.items()}
    if isinstance(value, list):
        shown = [_abridged(item) for item in value[:_SHOWN_ITEMS]]
        hidden = len(value) - len(shown)
        return [*shown, f"… {hidden} more"] if hidden else shown
    return value
