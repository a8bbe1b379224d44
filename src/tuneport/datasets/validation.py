"""Validation: every problem of a dataset, with its file, line, field and rule.

One streaming pass: the scan reports malformed records and shape errors,
:class:`ExampleChecks` the per-example limits, :class:`DuplicateFinder`
repeats; dataset-level limits (example counts, file size) are checked
around the pass.  Problems are counted without limit and kept up to
``max_problems``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuneport._methods import TuningMethod
from tuneport.datasets.checks import Check, DuplicateFinder, checks_for, digest_of
from tuneport.datasets.fixes import fixes_for
from tuneport.datasets.formats import DatasetFormat, FileLayout, coerce_format, coerce_method
from tuneport.datasets.json_codecs import JsonCodec
from tuneport.datasets.limits import DatasetLimits, DatasetRole
from tuneport.datasets.parallel import can_split, validate_in_parallel
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.datasets.reading import Scan
from tuneport.datasets.sources import DatasetSource, RemoteFile, resolve_source
from tuneport.errors import DatasetError, Problem, Remedy

__all__ = ["DatasetReport", "validate_dataset"]


@dataclass(frozen=True)
class DatasetReport:
    """The outcome of :func:`validate_dataset`."""

    #: The file path, URI, or ``<examples>``.
    source: str
    #: The format read (``None`` for in-memory examples, remote or empty files).
    format: DatasetFormat | None
    #: ``"training"`` or ``"validation"``: which limits applied.
    role: DatasetRole
    #: Problems kept, in the order found (at most ``max_problems``, plus dataset-level ones).
    problems: tuple[Problem, ...]
    #: Every error found, kept or not.
    error_count: int
    #: Every warning found, kept or not.
    warning_count: int
    #: Records read (valid or not; blank lines are not records).
    example_count: int
    #: Records without errors.
    valid_example_count: int
    #: True when more problems were found than kept.
    truncated: bool
    #: False for a remote file, which only the service can check.
    checked: bool = True
    #: How the file is laid out (``None`` in memory).
    layout: FileLayout | None = None
    #: Size of the file in bytes (``None`` in memory).
    size_bytes: int | None = None
    #: The kind of data checked: supervised examples, preference examples or distillation prompts.
    method: TuningMethod = TuningMethod.SUPERVISED
    #: Every problem found per rule id, kept or not (``problems`` holds at most ``max_problems``).
    counts_by_rule: Mapping[str, int] = field(default_factory=dict)

    @property
    def fixes(self) -> dict[str, tuple[Remedy, ...]]:
        """The standard way past each rule found that has one (see :mod:`tuneport.datasets.fixes`)."""
        return {rule: fixes_for(rule) for rule in self.counts_by_rule if fixes_for(rule)}

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The kept problems of severity ``error``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The kept problems of severity ``warning``."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return self.error_count == 0

    def raise_for_errors(self) -> None:
        """Raise :class:`~tuneport.errors.DatasetError` carrying the problems if any is an error."""
        if self.ok:
            return
        more = self.error_count - len(self.errors)
        summary = f"{self.source}: {self.error_count:,} error(s) in the {self.role} dataset"
        if self.method is not TuningMethod.SUPERVISED:
            summary += f" ({self.method} data)"
        if more > 0:
            summary += f" (first {len(self.errors)} shown)"
        counts = self.counts_by_rule if self.truncated else None
        raise DatasetError(self.problems, summary=summary, counts_by_rule=counts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for ``--json`` output)."""
        return {
            "source": self.source,
            "method": self.method.value,
            "format": self.format.value if self.format else None,
            "layout": self.layout.value if self.layout else None,
            "role": self.role,
            "ok": self.ok,
            "checked": self.checked,
            "example_count": self.example_count,
            "valid_example_count": self.valid_example_count,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "truncated": self.truncated,
            "size_bytes": self.size_bytes,
            "counts_by_rule": dict(self.counts_by_rule),
            "fixes": {
                rule: [remedy.python({"SOURCE": self.source}) for remedy in remedies]
                for rule, remedies in self.fixes.items()
            },
            "problems": [
                {
                    "source": p.source,
                    "line": p.line,
                    "field": p.field,
                    "rule": p.rule,
                    "severity": p.severity,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def validate_dataset(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    limits: DatasetLimits | None = None,
    max_problems: int = 100,
    role: DatasetRole = "training",
    check_duplicates: bool = True,
    workers: int = 1,
    codec: JsonCodec | None = None,
    method: TuningMethod | str = TuningMethod.SUPERVISED,
) -> DatasetReport:
    """Check a dataset and report every problem (up to *max_problems*), never raising for bad data.

    *source* is a local path, a ``gs://`` URI (not readable here: the report
    carries one ``remote-not-validated`` warning and the service checks the
    file), or in-memory examples (``JobSpec.training_data``; "line" is the
    1-based position).  *format* overrides detection; *limits* are the
    backend's and base model's (see :class:`DatasetLimits`), applied as
    *role* says.  *workers* > 1 validates a large local JSON Lines file in
    that many processes (Linux; the report is the same as a serial one's).
    *codec* chooses the JSON library (:meth:`JsonCodec.fastest` by default;
    :meth:`JsonCodec.stdlib` gives the same report, slower).
    *method* says which kind of data it must be: ``supervised`` examples,
    ``preference`` examples (:class:`~tuneport.models.PreferenceExample`) or
    ``distillation`` prompts (:class:`~tuneport.models.PromptExample`);
    each is read from its own formats and checked by its own rules.
    Raises :class:`~tuneport.errors.DatasetError` only when the file cannot be
    read, its format cannot be told, or it holds another method's data
    (``method-mismatch``).
    """
    kind = coerce_method(method)
    resolved = resolve_source(source)
    if isinstance(resolved, RemoteFile):
        log = ProblemLog(resolved.uri, max_problems=max_problems)
        log.report_always(
            None,
            None,
            Rule.REMOTE_NOT_VALIDATED,
            "a remote dataset cannot be read locally; the service validates it when the job starts",
        )
        return DatasetReport(
            source=resolved.uri,
            format=coerce_format(format) if format is not None else None,
            role=role,
            problems=tuple(log.problems),
            error_count=0,
            warning_count=1,
            example_count=0,
            valid_example_count=0,
            truncated=False,
            checked=False,
            method=kind,
            counts_by_rule=dict(log.counts_by_rule),
        )
    log = ProblemLog(resolved.name, max_problems=max_problems)
    scan: Scan[Any] = Scan(resolved, log, format=format, codec=codec, method=kind)
    limits = (limits or DatasetLimits()).for_role(role)
    if (
        limits.max_file_bytes is not None
        and scan.size_bytes is not None
        and scan.size_bytes > limits.max_file_bytes
    ):
        log.report_always(
            None,
            None,
            Rule.FILE_TOO_LARGE,
            f"the file has {scan.size_bytes:,} bytes; the limit is {limits.max_file_bytes:,}",
        )
    duplicates = DuplicateFinder() if check_duplicates else None
    try:
        if can_split(scan, workers):
            valid = validate_in_parallel(scan, limits, log, duplicates, workers)
        else:
            valid = _validate_serially(scan, checks_for(limits, scan, log), duplicates, log)
    finally:
        if duplicates is not None:
            duplicates.release()
    _check_counts(scan.records, limits, role, log)
    return DatasetReport(
        source=resolved.name,
        format=scan.format,
        role=role,
        problems=tuple(log.problems),
        error_count=log.error_count,
        warning_count=log.warning_count,
        example_count=scan.records,
        valid_example_count=valid,
        truncated=log.truncated,
        layout=scan.layout,
        size_bytes=scan.size_bytes,
        method=kind,
        counts_by_rule=dict(log.counts_by_rule),
    )


def _validate_serially(
    scan: Scan[Any],
    check: Check | None,
    duplicates: DuplicateFinder | None,
    log: ProblemLog,
) -> int:
    is_duplicate: Callable[[int, Any], bool] | None = None
    if duplicates is not None:
        finder = duplicates
        # Supervised examples hash as they are (the hot path); others through digest_of.
        is_duplicate = (
            finder.add
            if scan.method is TuningMethod.SUPERVISED
            else lambda line, example: finder.add_digest(line, digest_of(example))
        )
    valid = 0
    for line, example, size in scan:
        errors = log.error_count
        if check is not None:
            check(line, example, size)
        if is_duplicate is not None and is_duplicate(line, example):
            assert duplicates is not None
            first = duplicates.first_line() if log.has_room else None
            log.report(
                line,
                None,
                Rule.DUPLICATE_EXAMPLE,
                f"the same example as line {first}" if first else "the same as an earlier example",
            )
        if log.error_count == errors:
            valid += 1
    return valid


def _check_counts(count: int, limits: DatasetLimits, role: DatasetRole, log: ProblemLog) -> None:
    if count == 0:
        log.report_always(None, None, Rule.EMPTY_DATASET, f"the {role} dataset holds no examples")
        return
    if limits.min_examples is not None and count < limits.min_examples:
        log.report_always(
            None,
            None,
            Rule.TOO_FEW_EXAMPLES,
            f"{count:,} examples; a {role} dataset needs at least {limits.min_examples:,}",
        )
    if limits.max_examples is not None and count > limits.max_examples:
        log.report_always(
            None,
            None,
            Rule.TOO_MANY_EXAMPLES,
            f"{count:,} examples; a {role} dataset may have at most {limits.max_examples:,}",
        )
