"""Collecting validation problems: all of them counted, the first N kept.

Readers and checks report into a :class:`ProblemLog` instead of raising, so
one pass over a file finds every problem.  The log keeps at most
``max_problems`` (memory stays bounded on a file where every line is bad)
but counts them all, so a report can say "and 12,345 more".
"""

from __future__ import annotations

from tuneport.datasets.rules import Rule, Severity
from tuneport.errors import DatasetError, Problem

__all__ = ["FailFastLog", "ProblemLog"]


class ProblemLog:
    """Problems found in one source, capped at *max_problems* (counted beyond)."""

    def __init__(self, source: str, *, max_problems: int | None = 100) -> None:
        self.source = source
        self.max_problems = max_problems
        self.problems: list[Problem] = []
        self.error_count = 0
        self.warning_count = 0

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
        self._count(problem_severity)
        if self.max_problems is None or len(self.problems) < self.max_problems:
            self._keep(line, field, rule, message, problem_severity)

    def report_always(self, line: int | None, field: str | None, rule: Rule, message: str) -> None:
        """Record a dataset-level problem, kept even past the cap (there are only a few)."""
        self._count(rule.severity)
        self._keep(line, field, rule, message, rule.severity)

    def report_as_warning(self, line: int | None, field: str | None, rule: Rule, message: str) -> None:
        """Record a problem as a warning whatever its rule (e.g. an example a conversion skipped)."""
        self.report(line, field, rule, message, Severity.WARNING)

    def absorb(self, problems: list[Problem], *, errors: int, warnings: int) -> None:
        """Take in problems found elsewhere (in order), counted as *errors* and *warnings* in all."""
        self.error_count += errors
        self.warning_count += warnings
        for problem in problems:
            if self.max_problems is not None and len(self.problems) >= self.max_problems:
                break
            self.problems.append(problem)

    def _count(self, severity: Severity) -> None:
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
            raise DatasetError([problem], summary=f"invalid dataset: {problem}")

    def report_always(self, line: int | None, field: str | None, rule: Rule, message: str) -> None:
        self.report(line, field, rule, message)
