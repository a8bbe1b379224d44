"""Parallel validation gives exactly the serial report (problems, order, counts, duplicates)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.datasets.conftest import json_codec, vertex, write_lines
from tuneport.datasets import DatasetLimits, parallel, validate_dataset

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parallel validation forks (Linux)"
)


def _records() -> list[Any]:
    records: list[Any] = []
    for i in range(3000):
        if i % 397 == 5:
            records.append("{broken")
        elif i % 211 == 7:
            records.append(vertex("q", ""))  # empty-text
        elif i % 101 == 3:
            records.append(vertex("dup", "licate"))  # duplicates across ranges
        elif i % 89 == 1:
            records.append("")  # blank lines shift line numbers
        else:
            records.append(vertex(f"question {i} " + "x" * (i % 50), f"answer {i}"))
    return records


@pytest.mark.parametrize("backend_mode", ["accelerated", "stdlib"])
@pytest.mark.parametrize("max_problems", [1000, 10])
def test_parallel_report_equals_the_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend_mode: str, max_problems: int
) -> None:
    path = write_lines(tmp_path / "v.jsonl", _records())
    # Small ranges so that a small file is split in many places.
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 16 * 1024)
    assert len(parallel.plan_ranges(path, path.stat().st_size)) > 10
    limits = DatasetLimits(max_output_chars=8)
    codec = json_codec(backend_mode)
    serial = validate_dataset(path, limits=limits, max_problems=max_problems, codec=codec)
    split = validate_dataset(path, limits=limits, max_problems=max_problems, workers=3, codec=codec)
    assert split == serial
    assert serial.error_count > 50
    assert serial.warning_count > 20
    rules = {p.rule for p in serial.problems}
    if max_problems == 1000:
        assert {"malformed-json", "empty-text", "output-too-long", "duplicate-example"} <= rules


def test_ranges_start_at_line_starts(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "v.jsonl", [vertex("q" * (i % 300 + 1), "a") for i in range(500)])
    data = path.read_bytes()
    ranges = parallel.plan_ranges(path, len(data), chunk_bytes=1000)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == len(data)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end == start
        assert data[start - 1 : start] == b"\n"
