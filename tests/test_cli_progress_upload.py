"""``tuneport create`` shows the upload of a large dataset (issue #18): bytes and rate, on
stderr, from the progress the vertex backend tells chunk by chunk."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tuneport.cli import _upload_progress, commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli._upload_progress import UPLOAD_LOG, UploadLines, upload_progress
from tuneport.cli.app import cli
from tuneport_vertex import staging

CHUNK = 256 * 1024  # Cloud Storage's smallest resumable chunk


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tell(handler: UploadLines, stored: int, size: int, uri: str = "gs://b/d.jsonl") -> None:
    record = logging.LogRecord(UPLOAD_LOG, logging.DEBUG, __file__, 1, "progress", None, None)
    record.tuneport_upload = (uri, stored, size)
    handler.handle(record)


def test_lines_say_bytes_share_and_rate_every_few_seconds_and_when_done() -> None:
    clock, lines = Clock(), []
    handler = UploadLines(lines.append, clock, shown_from=4_000_000, every=2.0)
    size = 200_000_000
    tell(handler, 0, size)
    for second in range(1, 19):  # 18 s at ~11 MB/s, a chunk a second or so
        clock.now += 1
        tell(handler, min(size, second * 11_200_000), size)
    assert lines[0] == "uploading gs://b/d.jsonl: 200.0 MB"
    assert lines[1] == "uploading gs://b/d.jsonl: 22.4 MB of 200.0 MB (11%, 11.2 MB/s)"
    assert len(lines) == 1 + 8 + 1  # the start, one line each 2 s, the end
    assert lines[-1] == "uploaded gs://b/d.jsonl: 200.0 MB in 18.0 s (11.1 MB/s)"


def test_a_small_upload_and_other_records_print_nothing() -> None:
    lines: list[str] = []
    handler = UploadLines(lines.append, Clock(), shown_from=4_000_000)
    tell(handler, 0, 3_000_000)
    tell(handler, 3_000_000, 3_000_000)
    handler.handle(logging.LogRecord(UPLOAD_LOG, logging.DEBUG, __file__, 1, "other", None, None))
    assert lines == []


def test_the_records_reach_no_other_log_unless_asked_with_vv(caplog: pytest.LogCaptureFixture) -> None:
    from rich.console import Console

    logger = logging.getLogger(UPLOAD_LOG)
    with caplog.at_level(logging.DEBUG), upload_progress(Console(file=io.StringIO()), verbose=1):
        logger.debug("chunk", extra={"tuneport_upload": ("gs://b/x", 1, 2)})
    assert not caplog.records
    with caplog.at_level(logging.DEBUG), upload_progress(Console(file=io.StringIO()), verbose=2):
        logger.debug("chunk", extra={"tuneport_upload": ("gs://b/x", 1, 2)})
    assert [r.getMessage() for r in caplog.records] == ["chunk"]
    assert logger.propagate
    assert not logger.handlers  # the handler goes with the block


def test_create_on_vertex_shows_the_staging_upload_chunk_by_chunk(
    isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real CLI, an offline vertex profile (the embedded emulator's Cloud Storage), a dataset
    staged through a resumable session (chunks and thresholds shrunk to keep the test small)."""
    monkeypatch.setattr(staging, "SINGLE_REQUEST_LIMIT", CHUNK)
    monkeypatch.setattr(staging, "CHUNK", CHUNK)
    monkeypatch.setattr(_upload_progress, "SHOWN_FROM", CHUNK)
    monkeypatch.setattr(_upload_progress, "EVERY", 0.0)
    work = isolated_environment
    (work / "tuneport.toml").write_text(
        '[profiles.offline-vertex]\nbackend = "vertex"\nendpoint = "embedded"\nproject = "cli-tests"\n'
        'location = "us-central1"\nstaging_bucket = "gs://cli-tests"\n',
        encoding="utf-8",
    )
    filler = "x" * 900
    rows = [{"text_input": f"{n} {filler}", "output": str(n + 1)} for n in range(1200)]
    (work / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["-p", "offline-vertex", "--json", "create", "-m", "gemini-2.5-flash", "-t", "train.jsonl"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("upload")]
    uri = re.match(r"uploading (gs://cli-tests/\S+\.jsonl): ([0-9.]+) MB$", lines[0])
    assert uri, lines
    middle = [
        re.search(r": ([0-9.]+) MB of ([0-9.]+) MB \((\d+)%, [0-9.,]+ MB/s\)$", line) for line in lines[1:-1]
    ]
    assert len(middle) >= 3  # one per chunk stored
    assert all(middle)
    assert re.match(
        rf"uploaded {re.escape(uri[1])}: {re.escape(uri[2])} MB in [0-9.]+ s \([0-9.,]+ MB/s\)$", lines[-1]
    )
