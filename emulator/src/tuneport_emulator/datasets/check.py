"""Checking a whole dataset file as it streams by, and handing each valid example on.

One pass over the file: each line is read (:mod:`.reader`) and checked
(:mod:`.rules`); a valid example goes to the caller's ``on_example`` (to be
measured), a broken one is counted and the first is kept.  Then the file's
own rules: at least one example, and no more than the documented maximum
for its role (1M text-only or 300K multimodal training examples, 5,000
validation examples).  A file whose first line opens a JSON array, or a
JSON object spread over lines, is reported as not JSON Lines.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from tuneport_emulator.datasets.limits import DatasetLimits
from tuneport_emulator.datasets.methods import ExampleRules, rules_for
from tuneport_emulator.datasets.reader import read_lines
from tuneport_emulator.datasets.rules import Example, Problem

__all__ = ["DatasetRole", "LineProblem", "Verdict", "check_dataset"]


class DatasetRole(enum.Enum):
    """Which dataset of a tuning job a file is (their limits differ)."""

    TRAINING = "training"
    VALIDATION = "validation"


@dataclass(frozen=True)
class LineProblem:
    """A line that is not a valid example."""

    line: int
    field: str | None
    message: str


@dataclass
class Verdict:
    """What checking a file found."""

    #: Valid examples (each was passed to ``on_example``).
    examples: int = 0
    #: Lines that are not valid examples.
    bad_lines: int = 0
    #: The first of them.
    first: LineProblem | None = None
    #: The file is one JSON document (an array, or an object over several lines), not JSON Lines.
    not_json_lines: bool = False
    #: A rule of the whole file that is broken (no examples, too many), or None.
    file_problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file is usable."""
        return self.first is None and not self.not_json_lines and self.file_problem is None


def check_dataset(
    stream: BinaryIO,
    *,
    role: DatasetRole,
    limits: DatasetLimits,
    on_example: Callable[[Example], None] | None = None,
    rules: ExampleRules | None = None,
) -> Verdict:
    """Check a dataset file read from ``stream``; valid examples go to ``on_example`` as they come.

    ``rules`` check one example (default: supervised tuning's, :func:`.methods.rules_for`).
    """
    check = rules if rules is not None else rules_for("supervised")
    verdict = Verdict()
    multimodal = False
    cap = limits.max_validation_examples if role is DatasetRole.VALIDATION else limits.max_training_examples
    for line in read_lines(stream, max_line_bytes=limits.max_line_bytes):
        if line.number == 1 and (isinstance(line.value, list) or line.opens_document):
            verdict.not_json_lines = True
            return verdict
        if line.problem is not None:
            _bad(verdict, LineProblem(line.number, None, line.problem))
            continue
        checked = check(line.value, limits.max_nesting, limits.max_example_tokens)
        if isinstance(checked, Problem):
            _bad(verdict, LineProblem(line.number, checked.field, checked.message))
            continue
        verdict.examples += 1
        if checked.has_files and not multimodal and role is DatasetRole.TRAINING:
            multimodal = True
            cap = limits.max_multimodal_training_examples
        if verdict.examples > cap:
            kind = "multimodal " if multimodal else ""
            verdict.file_problem = (
                f"it holds more than {cap:,} {kind}examples, the most a {role.value} dataset may hold"
            )
            return verdict
        if on_example is not None:
            on_example(checked)
    if verdict.examples == 0 and verdict.bad_lines == 0:
        verdict.file_problem = "it holds no examples"
    return verdict


def _bad(verdict: Verdict, problem: LineProblem) -> None:
    verdict.bad_lines += 1
    if verdict.first is None:
        verdict.first = problem
