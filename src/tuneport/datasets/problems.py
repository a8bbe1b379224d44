"""Validation rules and the problems found: stable rule ids, and a log that keeps the first N.

Rule ids are part of the public contract (scripts filter on them), so they
never change once released; docs/datasets.md lists each with its source, and
a test keeps that page and this table in step.

Readers and checks report into a :class:`ProblemLog` instead of raising, so
one pass over a file finds every problem.  The log keeps at most
``max_problems`` (memory stays bounded on a file where every line is bad)
but counts them all, per rule too, so a report can say "role-order: 125
errors, first 50 kept" and "first 100 of 250 problems".
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping

from tuneport.errors import DatasetError, Problem

__all__ = ["FailFastLog", "ProblemLog", "Rule", "Severity"]


class Severity(str, enum.Enum):
    """How bad a problem is: an error fails validation, a warning does not."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


class Rule(str, enum.Enum):
    """A validation rule id (kebab-case, stable)."""

    # --- finding and reading the file
    FILE_NOT_READABLE = "file-not-readable"
    COMPRESSED_FILE = "compressed-file"
    REMOTE_SOURCE = "remote-source"
    UNKNOWN_FORMAT = "unknown-format"
    METHOD_MISMATCH = "method-mismatch"
    MALFORMED_JSON = "malformed-json"
    MALFORMED_CSV = "malformed-csv"
    # --- the shape of one example
    BAD_TYPE = "bad-type"
    UNKNOWN_FIELD = "unknown-field"
    UNSUPPORTED_FIELD = "unsupported-field"
    MISSING_FIELD = "missing-field"
    DUPLICATE_FIELD = "duplicate-field"
    BAD_ROLE = "bad-role"
    ROLE_ORDER = "role-order"
    EMPTY_CONVERSATION = "empty-conversation"
    EMPTY_TURN = "empty-turn"
    EMPTY_TEXT = "empty-text"
    BLANK_TEXT = "blank-text"
    EMPTY_URI = "empty-uri"
    # --- preference examples
    COMPLETION_COUNT = "completion-count"
    BAD_SCORE = "bad-score"
    IDENTICAL_COMPLETIONS = "identical-completions"
    # --- what a backend, a base model or a target format accepts
    SYSTEM_NOT_ALLOWED = "system-not-allowed"
    MULTI_TURN_NOT_ALLOWED = "multi-turn-not-allowed"
    FILE_PART_NOT_ALLOWED = "file-part-not-allowed"
    MIME_TYPE_NOT_ALLOWED = "mime-type-not-allowed"
    INPUT_TOO_LONG = "input-too-long"
    OUTPUT_TOO_LONG = "output-too-long"
    EXAMPLE_TOO_LONG_TOKENS = "example-too-long-tokens"
    # --- the dataset as a whole
    EMPTY_DATASET = "empty-dataset"
    TOO_FEW_EXAMPLES = "too-few-examples"
    TOO_MANY_EXAMPLES = "too-many-examples"
    FILE_TOO_LARGE = "file-too-large"
    DUPLICATE_EXAMPLE = "duplicate-example"
    REMOTE_NOT_VALIDATED = "remote-not-validated"

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> Severity:
        """The severity this rule reports with."""
        return Severity.WARNING if self in _WARNINGS else Severity.ERROR


_WARNINGS = frozenset(
    {
        Rule.BLANK_TEXT,
        Rule.EXAMPLE_TOO_LONG_TOKENS,
        Rule.DUPLICATE_EXAMPLE,
        Rule.REMOTE_NOT_VALIDATED,
    }
)


class ProblemLog:
    """Problems found in one source, capped at *max_problems* (counted beyond)."""

    def __init__(self, source: str, *, max_problems: int | None = 100) -> None:
        self.source = source
        self.max_problems = max_problems
        self.problems: list[Problem] = []
        self.error_count = 0
        self.warning_count = 0
        #: Every problem found per rule id, kept or not.
        self.counts_by_rule: Counter[str] = Counter()

    @property
    def truncated(self) -> bool:
        """True when more problems were found than kept."""
        return len(self.problems) < self.error_count + self.warning_count

    @property
    def has_room(self) -> bool:
        """True while a new problem would still be kept (so costly details are worth computing)."""
        return self.max_problems is None or len(self.problems) < self.max_problems

    def report(
        self, line: int | None, field: str | None, rule: Rule, message: str, severity: Severity | None = None
    ) -> None:
        """Record a problem, with the rule's severity unless *severity* is given."""
        problem_severity = severity or rule.severity
        self._count(problem_severity, rule)
        if self.max_problems is None or len(self.problems) < self.max_problems:
            self._keep(line, field, rule, message, problem_severity)

    def report_always(self, line: int | None, field: str | None, rule: Rule, message: str) -> None:
        """Record a dataset-level problem, kept even past the cap (there are only a few)."""
        self._count(rule.severity, rule)
        self._keep(line, field, rule, message, rule.severity)

    def report_as_warning(self, line: int | None, field: str | None, rule: Rule, message: str) -> None:
        """Record a problem as a warning whatever its rule (e.g. an example a conversion skipped)."""
        self.report(line, field, rule, message, Severity.WARNING)

    def absorb(
        self, problems: list[Problem], *, errors: int, warnings: int, counts_by_rule: Mapping[str, int]
    ) -> None:
        """Take in problems found elsewhere (in order), counted as *errors* and *warnings* in all,
        and per rule as *counts_by_rule* says."""
        self.error_count += errors
        self.warning_count += warnings
        self.counts_by_rule.update(counts_by_rule)
        for problem in problems:
            if self.max_problems is not None and len(self.problems) >= self.max_problems:
                break
            self.problems.append(problem)

    def _count(self, severity: Severity, rule: Rule) -> None:
        self.counts_by_rule[rule.value] += 1
        if severity is Severity.ERROR:
            self.error_count += 1
        else:
            self.warning_count += 1

    def _keep(
        self, line: int | None, field: str | None, rule: Rule, message: str, severity: Severity
    ) -> None:
        self.problems.append(
            Problem(
                message=message,
                field=field,
                line=line,
                source=self.source,
                rule=rule.value,
                severity=severity.value,
            )
        )


class FailFastLog(ProblemLog):
    """A log that raises :class:`~tuneport.errors.DatasetError` on the first error.

    Used where an invalid example leaves nothing to go on with: the readers
    that hand out examples, and conversion with policy ``error``.  Warnings
    are kept.
    """

    def report(
        self, line: int | None, field: str | None, rule: Rule, message: str, severity: Severity | None = None
    ) -> None:
        super().report(line, field, rule, message, severity)
        if (severity or rule.severity) is Severity.ERROR:
            problem = self.problems[-1] if self.problems else None
            if problem is None or problem.line != line or problem.rule != rule.value:
                problem = Problem(
                    message=message,
                    field=field,
                    line=line,
                    source=self.source,
                    rule=rule.value,
                    severity="error",
                )
            # The summary does not repeat the problem: str() of the error lists it below.
            raise DatasetError([problem], summary="invalid dataset")

    def report_always(self, line: int | None, field: str | None, rule: Rule, message: str) -> None:
        self.report(line, field, rule, message)
