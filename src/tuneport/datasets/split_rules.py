"""The cross-file rules: how large the validation dataset may be next to the training dataset.

Google caps the validation file *relative to* the training file, which no
check of one file alone can see:

* supervised tuning: the validation file at most 25% of the training file's
  size in bytes, and at most 5,000 rows (Google's tuning skill,
  ``references/data_prep.md``: it "fails before upload", because an 80/20
  split "is rejected as soon as the held-out rows are slightly longer than
  average");
* preference tuning: at most 5,000 examples, "or 30% of the number of
  training examples if there are more than 1000 validation examples"
  ("About preference tuning for Gemini models", Limitations).

The numbers are catalog data (:class:`~tuneport.datasets.limits.DatasetLimits`
``max_validation_share_bytes``, ``max_validation_share_rows``,
``validation_share_rows_over``; the 5,000 rows are ``max_validation_examples``,
checked with the validation file itself).  :func:`validation_share_problems`
measures both datasets and names both in any problem.  A ``gs://`` dataset is
not read locally: the rule is then a warning saying it was not checked.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneport.errors import Problem

if TYPE_CHECKING:
    from tuneport.datasets.limits import DatasetLimits
    from tuneport.datasets.validation import DatasetReport
    from tuneport.models import JobSpec, TuningMethod

__all__ = ["SHARE_RULE", "Measured", "check_split", "measure", "validation_share_problems"]

#: The rule name of every problem this module reports.
SHARE_RULE = "validation-share"

#: The format in-memory examples are measured in: the JSONL a Google backend uploads.
_MEASURED_FORMAT = "vertex"


@dataclass(frozen=True)
class Measured:
    """One dataset as the share rule sees it: its name in messages, bytes and rows (``None``: unknown)."""

    field: str
    name: str
    size_bytes: int | None
    rows: int | None

    def shown(self) -> str:
        """``training_data (train.jsonl, 1.0 MB)``."""
        size = "size unknown" if self.size_bytes is None else format_bytes(self.size_bytes)
        return f"{self.field} ({self.name}, {size})"


def format_bytes(size: int) -> str:
    """A size in decimal units as people read them: ``310 KB``, ``1.0 MB``."""
    if size < 1000:
        return f"{size} B"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = size / scale
        if value < 999.5 or unit == "GB":
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def measure(field: str, source: Any, report: DatasetReport, method: TuningMethod) -> Measured:
    """Bytes and rows of a dataset: a file as given, in-memory examples as the JSONL they are uploaded as.

    A remote (``gs://``) dataset is not read: its size and rows are ``None``.
    """
    if not report.checked:
        return Measured(field, report.source, None, None)
    if isinstance(source, (str, os.PathLike)):
        return Measured(field, Path(source).name, report.size_bytes, report.example_count)
    return Measured(field, "in-memory examples", _converted_size(source, method), report.example_count)


def _converted_size(examples: Any, method: TuningMethod) -> int | None:
    """The size of *examples* written as the JSONL a Google backend stages (``None``: not convertible)."""
    from tuneport.datasets import convert_dataset
    from tuneport.errors import DatasetError

    handle, name = tempfile.mkstemp(prefix="tuneport-share-", suffix=".jsonl")
    os.close(handle)
    path = Path(name)
    try:
        convert_dataset(examples, path, to=_MEASURED_FORMAT, method=method)
        return path.stat().st_size
    except DatasetError:
        return None  # the dataset's own problems are reported by its validation
    finally:
        path.unlink(missing_ok=True)


def check_split(
    spec: JobSpec, reports: Mapping[str, DatasetReport], limits: DatasetLimits, *, backend: str
) -> list[Problem]:
    """The share rule of *spec*'s two datasets, from their validation *reports* (none: not both read)."""
    if limits.max_validation_share_bytes is None and limits.max_validation_share_rows is None:
        return []
    training, validation = reports.get("training_data"), reports.get("validation_data")
    if training is None or validation is None or not (training.ok and validation.ok):
        return []  # a dataset with errors is refused for them; its share would say nothing more
    return validation_share_problems(
        measure("training_data", spec.training_data, training, spec.method),
        measure("validation_data", spec.validation_data, validation, spec.method),
        limits,
        backend=backend,
    )


def validation_share_problems(
    training: Measured, validation: Measured, limits: DatasetLimits, *, backend: str
) -> list[Problem]:
    """The problems of *validation* being too large next to *training* under *limits* (none: fine)."""
    byte_cap, row_cap = limits.max_validation_share_bytes, limits.max_validation_share_rows
    if byte_cap is None and row_cap is None:
        return []
    if training.rows is None or validation.rows is None:
        remote = training if training.rows is None else validation
        return [
            Problem(
                f"the size of {validation.field} next to {training.field} is not checked: "
                f"{remote.name} is not read locally ({backend} checks it when the job starts)",
                field=validation.field,
                rule=SHARE_RULE,
                severity="warning",
            )
        ]
    problems: list[Problem] = []
    if byte_cap is not None and training.size_bytes is not None and validation.size_bytes is not None:
        share = validation.size_bytes / training.size_bytes if training.size_bytes else float("inf")
        if share > byte_cap:
            problems.append(
                _problem(
                    f"{validation.shown()} is {_percent(share, byte_cap)} of {training.shown()}: "
                    f"{backend} takes at most {_percent(byte_cap)} of the training file's bytes",
                    validation,
                )
            )
    over = limits.validation_share_rows_over or 0
    if row_cap is not None and validation.rows > over:
        share = validation.rows / training.rows if training.rows else float("inf")
        if share > row_cap:
            when = f" when it has more than {over:,}" if over else ""
            problems.append(
                _problem(
                    f"{validation.field} ({validation.name}, {validation.rows:,} rows) is "
                    f"{_percent(share, row_cap)} of {training.field} ({training.name}, "
                    f"{training.rows:,} rows): {backend} takes at most "
                    f"{_percent(row_cap)} of the training rows{when}",
                    validation,
                )
            )
    return problems


def _problem(message: str, validation: Measured) -> Problem:
    return Problem(message, field=validation.field, rule=SHARE_RULE)


def _percent(share: float, cap: float | None = None) -> str:
    """``31%``; one decimal where the whole number would not show the share is over *cap* (``25.1%``)."""
    if share == float("inf"):
        return "more than all"
    value = share * 100
    whole = f"{value:.0f}%"
    if value == int(value) or ((cap is None or round(value) > cap * 100) and value >= 10):
        return whole
    return f"{value:.1f}%"
