"""Conversion between formats, lossless or reported.

An example the target can hold is written as is.  One it cannot hold (a
multi-turn conversation as Gemini API pairs, a file part as text-only…) is
decided by the policy:

* ``error`` (default): raise :class:`~tuneport.errors.DatasetError` naming
  the line and the reason; no target file is left behind;
* ``skip``: leave the example out and report it;
* ``split``: for multi-turn → pairs, write one pair per user→model exchange
  (the earlier turns are dropped) and report it; problems splitting cannot
  fix (a system instruction, a file part) are skipped.

Records of the source that are invalid follow the same policy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tuneport.datasets.formats import DatasetFormat, FileLayout, Gap, codec_for, coerce_format, coerce_layout
from tuneport.datasets.light import LightExample
from tuneport.datasets.problems import FailFastLog, ProblemLog
from tuneport.datasets.rules import Rule
from tuneport.datasets.scanning import Scan
from tuneport.datasets.sources import DatasetSource, LocalFile, resolve_source
from tuneport.datasets.writing import atomic_output, check_writable, layout_for_path
from tuneport.errors import DatasetError, Problem

__all__ = ["ConversionPolicy", "ConversionReport", "convert_dataset"]

#: What to do with an example the target format cannot hold.
ConversionPolicy = Literal["error", "skip", "split"]

_POLICIES = ("error", "skip", "split")


@dataclass(frozen=True)
class ConversionReport:
    """The outcome of :func:`convert_dataset`."""

    source: str
    target: str
    source_format: DatasetFormat | None
    target_format: DatasetFormat
    layout: FileLayout
    policy: ConversionPolicy
    #: Records read from the source (valid or not).
    read: int
    #: Examples written to the target (a split example counts once per piece).
    written: int
    #: Source examples written unchanged.
    converted: int
    #: Source examples split into several.
    split: int
    #: Source records left out (invalid, or not holdable by the target).
    skipped: int
    #: Why each example was skipped or split, with its line (capped).
    problems: tuple[Problem, ...]
    #: True when more problems were found than kept.
    truncated: bool

    @property
    def lossless(self) -> bool:
        """True when every source record was written unchanged."""
        return self.converted == self.read

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for ``--json`` output)."""
        return {
            "source": self.source,
            "target": self.target,
            "source_format": self.source_format.value if self.source_format else None,
            "target_format": self.target_format.value,
            "layout": self.layout.value,
            "policy": self.policy,
            "read": self.read,
            "written": self.written,
            "converted": self.converted,
            "split": self.split,
            "skipped": self.skipped,
            "truncated": self.truncated,
            "problems": [
                {
                    "line": p.line,
                    "field": p.field,
                    "rule": p.rule,
                    "severity": p.severity,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def convert_dataset(
    source: DatasetSource,
    target: str | os.PathLike[str],
    *,
    to: DatasetFormat | str,
    policy: ConversionPolicy = "error",
    format: DatasetFormat | str | None = None,
    layout: FileLayout | str | None = None,
    max_problems: int = 100,
) -> ConversionReport:
    """Convert *source* (a file or in-memory examples) into *target* in format *to*.

    *format* overrides the detection of the source's format; *layout* the
    target's (by default from its name: ``.csv``, ``.json``, else JSON
    Lines).  See the module docs for *policy*.  Writing is atomic: with
    policy ``error``, a :class:`~tuneport.errors.DatasetError` naming the
    first line that cannot be converted leaves no target file.
    """
    if policy not in _POLICIES:
        raise ValueError(f"unknown conversion policy {policy!r} (choose from {', '.join(_POLICIES)})")
    target_path = Path(target)
    target_codec = codec_for(to)
    chosen = coerce_layout(layout) if layout is not None else layout_for_path(target_path)
    check_writable(target_codec, chosen)
    resolved = resolve_source(source)
    if isinstance(resolved, LocalFile) and _same_file(resolved.path, target_path):
        raise ValueError(f"the target {target_path} is the source; write to another file")
    log: ProblemLog = (
        FailFastLog(resolved.name)
        if policy == "error"
        else ProblemLog(resolved.name, max_problems=max_problems)
    )
    scan = Scan(resolved, log, format=format)
    converted = split = written = 0
    with atomic_output(target_path, target_codec, chosen) as write:
        for line, example, _ in scan:
            gaps = target_codec.gaps(example)
            if not gaps:
                write(example)
                converted += 1
                written += 1
                continue
            pieces = _pieces(target_codec, example, gaps) if policy == "split" else None
            if policy == "error":
                _raise_unconvertible(scan, line, example, gaps, target_codec.format)
            elif pieces is None:
                _report(scan, log, line, example, gaps, "skipped")
            else:
                for piece in pieces:
                    write(piece)
                written += len(pieces)
                split += 1
                _report(scan, log, line, example, gaps, f"split into {len(pieces)} pairs")
    return ConversionReport(
        source=resolved.name,
        target=str(target_path),
        source_format=scan.format,
        target_format=coerce_format(to),
        layout=chosen,
        policy=policy,
        read=scan.records,
        written=written,
        converted=converted,
        split=split,
        skipped=scan.records - converted - split,
        problems=tuple(log.problems),
        truncated=log.truncated,
    )


def _pieces(codec: Any, example: LightExample, gaps: list[Gap]) -> list[LightExample] | None:
    if any(gap.rule is not Rule.MULTI_TURN_NOT_ALLOWED for gap in gaps):
        return None
    pieces: list[LightExample] | None = codec.split(example)
    return pieces


def _report(
    scan: Scan, log: ProblemLog, line: int, example: LightExample, gaps: list[Gap], action: str
) -> None:
    # Reported as warnings: the conversion went on, as the policy asked.
    for gap in gaps:
        field = scan.field(example, turn=gap.turn, part=gap.part, system=gap.system)
        log.report_as_warning(line, field, gap.rule, f"{action}: {gap.reason}")


def _raise_unconvertible(
    scan: Scan, line: int, example: LightExample, gaps: list[Gap], target: DatasetFormat
) -> None:
    gap = gaps[0]
    problem = Problem(
        message=f"cannot be converted to {target}: {gap.reason}",
        field=scan.field(example, turn=gap.turn, part=gap.part, system=gap.system),
        line=line,
        source=scan.name,
        rule=gap.rule.value,
    )
    raise DatasetError(
        [problem],
        summary=f"{problem.source}:{line}: {problem.message} [{gap.rule}] "
        "(policy='skip' leaves such examples out"
        + (", 'split' splits them)" if gap.rule is Rule.MULTI_TURN_NOT_ALLOWED else ")"),
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
