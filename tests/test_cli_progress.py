"""``tuneport wait`` and ``create --wait`` where stderr is not a terminal (CI, issue #18): a plain
status line at each change of state and at least every minute, instead of a silent log."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli._progress import HEARTBEAT, StatusLines
from tuneport.cli.app import State, cli
from tuneport.models import DetailState, JobState, TuningJob
from tuneport.waiting import ManualClock, PollPolicy

WAITED = re.compile(r"(\d+)m(\d\d)s waited$")


def job(state: JobState, *, detail: DetailState | None = None, step: int | None = None) -> TuningJob:
    return TuningJob(
        id="job-1", backend="fake", state=state, detail_state=detail, completed_steps=step, total_steps=10
    )


def waited(line: str) -> int:
    found = WAITED.search(line)
    assert found, line
    return int(found[1]) * 60 + int(found[2])


def test_a_line_at_each_state_change_and_one_each_minute_in_between() -> None:
    clock = ManualClock()
    lines: list[str] = []
    losses = iter([0.91, 0.52])
    report = StatusLines(
        lines.append, clock, loss=lambda j: next(losses) if j.state.is_success or j.completed_steps else None
    )
    report(job(JobState.PENDING))  # the first poll: a line
    for _ in range(5):  # 50 s: same state, under a minute
        clock.advance(10)
        report(job(JobState.PENDING))
    assert len(lines) == 1
    clock.advance(10)  # 60 s since the last line: a heartbeat, though nothing changed
    report(job(JobState.PENDING))
    clock.advance(5)  # a new state: at once
    report(job(JobState.RUNNING, detail=DetailState.PROCESSING_DATASET))
    clock.advance(5)  # a new detail state: at once
    report(job(JobState.RUNNING, detail=DetailState.TUNING, step=3))
    clock.advance(30)  # steps move within the minute: no line
    report(job(JobState.RUNNING, detail=DetailState.TUNING, step=5))
    clock.advance(30)
    report(job(JobState.SUCCEEDED, step=10))
    assert lines == [
        "job job-1 · PENDING · step 0/10 · 0m00s waited",
        "job job-1 · PENDING · step 0/10 · 1m00s waited",
        "job job-1 · RUNNING · PROCESSING_DATASET · step 0/10 · 1m05s waited",
        "job job-1 · RUNNING · TUNING · step 3/10 · loss 0.91 · 1m10s waited",
        "job job-1 · SUCCEEDED · step 10/10 · loss 0.52 · 2m10s waited",
    ]


def test_polls_that_spread_out_still_give_a_line_each_minute() -> None:
    """wait's default schedule (5 s, growing by half up to 60 s): a line at the poll whose next
    one would come too late, so no gap is over a minute, and not one line per poll."""
    clock, lines = ManualClock(), []
    policy = PollPolicy()
    report = StatusLines(lines.append, clock, poll=policy)
    polls = 40
    for number in range(polls):
        report(job(JobState.RUNNING, step=number))
        clock.advance(policy.interval(number))
    times = [waited(line) for line in lines]
    assert all(later - earlier <= HEARTBEAT for earlier, later in itertools.pairwise(times))
    assert clock.now - times[-1] <= HEARTBEAT + policy.maximum  # the last poll's line
    assert len(lines) < polls


def test_the_loss_is_asked_only_for_a_line_that_is_written() -> None:
    clock = ManualClock()
    asked: list[int | None] = []

    def loss(j: TuningJob) -> float | None:
        asked.append(j.completed_steps)
        return None

    report = StatusLines(lambda _: None, clock, loss=loss)
    for step in range(12):  # two minutes of polls every 10 s
        report(job(JobState.RUNNING, step=step))
        clock.advance(10)
    assert asked == [0, 6]  # the first line and the heartbeat a minute later


@pytest.fixture
def run(fake_cli_options: dict[str, Any]) -> Any:
    def invoke(*args: str) -> Result:
        options: dict[str, Any] = dict(fake_cli_options)
        return CliRunner().invoke(cli, list(args), obj=State(connect_options=options), prog_name="tuneport")

    return invoke


def _status_lines(result: Result, job_id: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(f"job {job_id} ")]


def test_wait_writes_a_line_at_least_every_minute_of_a_long_job(run: Any) -> None:
    created = run(
        "--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--display-name", "stuck"
    )
    job_id = json.loads(created.stdout)["id"]
    result = run("--json", "wait", job_id, "--timeout", "300", "--poll", "10")
    assert result.exit_code == 6  # the job never ends: the wait times out after 5 minutes
    lines = _status_lines(result, job_id)
    assert "RUNNING" in lines[-1]
    times = [waited(line) for line in lines]
    assert times[0] == 0
    assert all(0 < later - earlier <= HEARTBEAT for earlier, later in itertools.pairwise(times))
    assert times[-1] >= 240  # …and up to the end
    json.loads(result.stdout)  # the --json document on stdout is untouched


def test_create_wait_writes_the_states_it_goes_through(run: Any) -> None:
    result = run("create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--wait")
    assert result.exit_code == 0, result.output
    job_id = re.search(r"created (\S+); waiting", result.stderr)
    assert job_id, result.stderr
    lines = _status_lines(result, job_id[1])
    assert [line.split(" · ")[1] for line in lines][-1] == "SUCCEEDED"
    assert len(lines) >= 2
    assert "━" not in result.stderr  # no progress bar drawn into the log


def test_a_real_run_with_stderr_to_a_file_prints_the_status_lines(tmp_path: Path) -> None:
    """``tuneport create --wait`` as a CI job runs it: its own process, stderr not a terminal, the
    offline default (the embedded emulator)."""
    training = tmp_path / "train.jsonl"
    examples = [{"text_input": str(n), "output": str(n + 1)} for n in range(10)]
    training.write_text("".join(json.dumps(e) + "\n" for e in examples), encoding="utf-8")
    base = "models/gemini-1.5-flash-001-tuning"
    done = subprocess.run(
        [sys.executable, "-m", "tuneport.cli", "create", "-m", base, "-t", str(training), "--wait"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("job ")]
    assert "RUNNING" in lines[0]
    assert re.search(r"· SUCCEEDED · step (\d+)/\1 · loss [0-9.]+ · \dm\d\ds waited$", lines[-1]), lines


def test_on_a_terminal_the_bar_stays(tmp_path: Path) -> None:
    """stderr on a pty: the progress bar, not the plain lines."""
    import pty

    training = tmp_path / "train.jsonl"
    examples = [{"text_input": str(n), "output": str(n + 1)} for n in range(10)]
    training.write_text("".join(json.dumps(e) + "\n" for e in examples), encoding="utf-8")
    base = "models/gemini-1.5-flash-001-tuning"
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # read while the command runs: a full pty would block its writes
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the pty's other end is closed: all read
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tuneport.cli", "create", "-m", base, "-t", str(training), "--wait"],
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    stderr = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert "━" in stderr  # the bar
    assert "SUCCEEDED" in stderr
    assert " waited" not in stderr  # no plain status line
