"""Parallel validation of large JSON Lines files (opt-in: ``validate_dataset(..., workers=N)``).

The file is cut into byte ranges at line starts; forked worker processes
validate one range each, exactly as the serial pass would (same scan, same
checks), and send back their problems with range-relative line numbers, and
the digests of their examples.  The parent shifts the lines, finds the
duplicates across ranges (its set sees every digest, in file order) and
merges the problems in file order, so the report is the serial one.

Workers are forked (Linux only): digests are Python hashes, equal only in
processes that share the parent's hash seed.  Elsewhere validation runs
serially.  Memory: each worker streams its range (its RSS is that of the
parent at fork time plus one record); the parent holds the digests.
"""

from __future__ import annotations

import heapq
import itertools
import multiprocessing
import sys
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuneport._methods import TuningMethod
from tuneport.datasets.checks import DuplicateFinder, checks_for, digest_of
from tuneport.datasets.formats import DatasetFormat, FileLayout
from tuneport.datasets.json_codecs import JsonCodec
from tuneport.datasets.limits import DatasetLimits
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.datasets.reading import Scan
from tuneport.datasets.sources import LocalFile
from tuneport.errors import Problem

__all__ = ["CHUNK_BYTES", "MIN_PARALLEL_BYTES", "can_split", "plan_ranges", "validate_in_parallel"]

#: Files smaller than this are validated serially (forking would cost more than it saves).
MIN_PARALLEL_BYTES = 16 * 1024 * 1024
#: The size of one worker's range.
CHUNK_BYTES = 32 * 1024 * 1024


def can_split(scan: Scan[Any], workers: int) -> bool:
    """Whether *scan* may be validated by *workers* processes."""
    return (
        workers > 1
        and sys.platform.startswith("linux")
        and isinstance(scan.source, LocalFile)
        and scan.layout is FileLayout.JSONL
        and scan.format is not None
        and (scan.size_bytes or 0) >= MIN_PARALLEL_BYTES
    )


def plan_ranges(path: Path, size: int, chunk_bytes: int | None = None) -> list[tuple[int, int]]:
    """Byte ranges of about *chunk_bytes* (:data:`CHUNK_BYTES`), each from a line start to a line start."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    bounds = [0]
    with open(path, "rb") as f:
        while bounds[-1] + chunk_bytes < size:
            f.seek(bounds[-1] + chunk_bytes)
            f.readline()  # to the start of the next line
            if f.tell() >= size:
                break
            bounds.append(f.tell())
    bounds.append(size)
    return list(itertools.pairwise(bounds))


@dataclass(frozen=True)
class _Task:
    path: str
    start: int
    end: int
    format: DatasetFormat
    limits: DatasetLimits
    max_problems: int
    check_duplicates: bool
    name: str
    method: TuningMethod
    #: The codec's name: a codec holds functions and a module, which do not pickle.
    codec: str


@dataclass(frozen=True)
class _Result:
    lines: int
    records: int
    valid: int
    problems: list[Problem]
    errors: int
    warnings: int
    counts_by_rule: dict[str, int]
    digests: bytes
    digest_lines: bytes


def _validate_range(task: _Task) -> _Result:
    """Runs in a worker: the serial validation loop over one byte range."""
    log = ProblemLog(task.name, max_problems=task.max_problems)
    scan: Scan[Any] = Scan(
        LocalFile(Path(task.path)),
        log,
        format=task.format,
        layout=FileLayout.JSONL,
        byte_range=(task.start, task.end),
        codec=JsonCodec.named(task.codec),
        method=task.method,
    )
    check = checks_for(task.limits, scan, log)
    digests: array[int] = array("Q")
    lines: array[int] = array("Q")
    valid = 0
    for line, example, size in scan:
        errors = log.error_count
        if check is not None:
            check(line, example, size)
        if task.check_duplicates:
            digests.append(digest_of(example))
            lines.append(line)
        if log.error_count == errors:
            valid += 1
    return _Result(
        lines=scan.lines,
        records=scan.records,
        valid=valid,
        problems=log.problems,
        errors=log.error_count,
        warnings=log.warning_count,
        counts_by_rule=dict(log.counts_by_rule),
        digests=digests.tobytes(),
        digest_lines=lines.tobytes(),
    )


def validate_in_parallel(
    scan: Scan[Any],
    limits: DatasetLimits,
    log: ProblemLog,
    duplicates: DuplicateFinder | None,
    workers: int,
) -> int:
    """Validate *scan*'s file with *workers* processes; report into *log*; return the valid count."""
    assert isinstance(scan.source, LocalFile)
    assert scan.format is not None
    assert scan.size_bytes is not None
    ranges = plan_ranges(scan.source.path, scan.size_bytes)
    max_problems = log.max_problems if log.max_problems is not None else sys.maxsize
    tasks = [
        _Task(
            path=str(scan.source.path),
            start=start,
            end=end,
            format=scan.format,
            limits=limits,
            max_problems=max_problems,
            check_duplicates=duplicates is not None,
            name=scan.name,
            method=scan.method,
            codec=scan.codec.name,
        )
        for start, end in ranges
    ]
    valid = offset = 0
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        for result in pool.map(_validate_range, tasks):
            problems = [
                replace(p, line=p.line + offset) if p.line is not None else p for p in result.problems
            ]
            warnings = result.warnings
            counts = dict(result.counts_by_rule)
            if duplicates is not None:
                found, count = _duplicates(result, offset, duplicates, log)
                # File order, as a serial pass reports: a line's own problems, then its duplicate warning.
                problems = list(heapq.merge(problems, found, key=_line))
                warnings += count
                if count:
                    rule = Rule.DUPLICATE_EXAMPLE.value
                    counts[rule] = counts.get(rule, 0) + count
            log.absorb(problems, errors=result.errors, warnings=warnings, counts_by_rule=counts)
            scan.records += result.records
            scan.lines += result.lines
            valid += result.valid
            offset += result.lines
    return valid


def _line(problem: Problem) -> int:
    return problem.line or 0


def _duplicates(
    result: _Result, offset: int, duplicates: DuplicateFinder, log: ProblemLog
) -> tuple[list[Problem], int]:
    """The duplicate warnings of one range: the first few that could still be kept, and the count."""
    found: list[Problem] = []
    count = 0
    digests: array[int] = array("Q", result.digests)
    lines: array[int] = array("Q", result.digest_lines)
    room = (log.max_problems if log.max_problems is not None else sys.maxsize) - len(log.problems)
    for digest, relative in zip(digests, lines, strict=True):
        line = relative + offset
        if not duplicates.add_digest(line, digest):
            continue
        count += 1
        if len(found) >= room:
            continue  # counted, not kept (and no need to look for the first copy)
        first = duplicates.first_line()
        found.append(
            Problem(
                message=f"the same example as line {first}" if first else "the same as an earlier example",
                line=line,
                source=log.source,
                rule=Rule.DUPLICATE_EXAMPLE.value,
                severity=Rule.DUPLICATE_EXAMPLE.severity.value,
            )
        )
    return found, count
