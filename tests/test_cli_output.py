"""CLI output that can be read and copied (#18): ``python -m tuneport``, global options after the
verb, tables whose rows all have values and whose ids are never cut."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fake_service import FakeService

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli


@pytest.fixture
def run(fake_cli_options: dict[str, Any]) -> Any:
    """Invoke the CLI wired to the fake backend, at a fixed terminal width (``COLUMNS``)."""

    def invoke(*args: str, columns: int = 100, **options: Any) -> Result:
        connect_options: dict[str, Any] = {
            **fake_cli_options,
            **options,
        }
        state = State(connect_options=connect_options)
        env = {"COLUMNS": str(columns)}
        return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport", env=env)

    return invoke


def _python_m_tuneport(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tuneport", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_python_m_tuneport_runs_the_cli(tmp_path: Path) -> None:
    helped = _python_m_tuneport("--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "Usage: tuneport" in helped.stdout
    version = _python_m_tuneport("--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("tuneport, version ")
    listed = _python_m_tuneport("backends", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert {"gemini", "vertex"} <= {row["name"] for row in json.loads(listed.stdout)["backends"]}


def test_json_after_the_verb_is_the_same_as_before_it(run: Any, service: FakeService) -> None:
    service.seed(3)
    before = run("--json", "list")
    after = run("list", "--json")
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert len(json.loads(after.stdout)["jobs"]) == 3


def test_json_after_a_verb_of_a_subgroup(run: Any, tmp_path: Path) -> None:
    file = tmp_path / "train.jsonl"
    file.write_text(
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": "hi"}]},
                    {"role": "model", "parts": [{"text": "yo"}]},
                ]
            }
        )
        + "\n"
    )
    after = run("dataset", "validate", str(file), "--json")
    before = run("--json", "dataset", "validate", str(file))
    assert after.stdout
    assert json.loads(after.stdout) == json.loads(before.stdout)


def test_profile_after_the_verb_is_used(run: Any, tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[profiles.here]\nbackend = "fake"\n')
    unknown = run("list", "-c", str(config), "-p", "elsewhere", "--json")
    assert unknown.exit_code == 2
    assert "elsewhere" in json.loads(unknown.stdout)["error"]["message"]
    known = run("list", "--config", str(config), "--profile", "here", "--json")
    assert known.exit_code == 0, known.output


def test_profile_after_the_verb_wins_over_the_one_before(run: Any, tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[profiles.here]\nbackend = "fake"\n')
    result = run("-c", str(config), "-p", "elsewhere", "list", "-p", "here")
    assert result.exit_code == 0, result.output


def test_demo_keeps_its_own_profile_option(run: Any) -> None:
    result = run("demo", "--help")
    assert result.exit_code == 0
    assert "demo-gemini" in result.stdout
    assert "--json" in result.stdout


# --- tables that never cut an id (the CLI's offline emulator: real, long gemini ids) -------------

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
DISPLAY_NAMES = ("ticket-router-v2-support-emails-eu", "ticket-router-v3-support-emails-us")


def offline(*args: str, columns: int = 100) -> Result:
    """One ``tuneport`` command as a user types it (the default profile: the embedded emulator)."""
    return CliRunner().invoke(cli, list(args), prog_name="tuneport", env={"COLUMNS": str(columns)})


@pytest.fixture
def offline_jobs(isolated_environment: Path) -> list[dict[str, Any]]:
    """Two jobs with long display names (and so long ids) on the offline emulator."""
    train = isolated_environment / "train.jsonl"
    train.write_text(
        "".join(json.dumps({"text_input": str(n), "output": str(n + 1)}) + "\n" for n in range(5))
    )
    for name in DISPLAY_NAMES:
        created = offline("create", "-m", BASE_MODEL, "-t", str(train), "--display-name", name, "--json")
        assert created.exit_code == 0, created.output
    listed = offline("list", "--json")
    jobs: list[dict[str, Any]] = json.loads(listed.stdout)["jobs"]
    assert {job["display_name"] for job in jobs} == set(DISPLAY_NAMES)
    assert all(len(job["id"]) > 35 for job in jobs)
    return jobs


def _rows(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("columns", [100, 80, 60])
def test_list_shows_every_id_whole_on_one_line(offline_jobs: list[dict[str, Any]], columns: int) -> None:
    result = offline("list", columns=columns)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    rows = _rows(result.stdout)
    for job in offline_jobs:
        assert any(job["id"] in row for row in rows), result.stdout
    assert all(len(line) <= columns for line in result.stdout.splitlines() if line.startswith(("│", "┃")))


def test_list_at_100_columns_names_the_columns_it_left_out(offline_jobs: list[dict[str, Any]]) -> None:
    result = offline("list", columns=100)
    header = next(line for line in result.stdout.splitlines() if line.startswith("┃"))
    assert "display name" in header
    assert "created" not in header
    assert "left out at 100 columns: " in result.stdout
    assert "created" in result.stdout.split("left out at 100 columns: ")[1]
    assert "--output wide" in result.stdout


def test_list_wide_draws_every_column_with_each_job_on_one_line(offline_jobs: list[dict[str, Any]]) -> None:
    result = offline("list", "--output", "wide", columns=80)
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert len(rows) == len(offline_jobs)
    for job in offline_jobs:
        row = next(r for r in rows if job["id"] in r)
        assert job["display_name"] in row
        assert BASE_MODEL in row
        assert "supervised" in row
    assert "left out" not in result.stdout


def test_list_plain_is_one_tab_separated_line_per_job(offline_jobs: list[dict[str, Any]]) -> None:
    result = offline("list", "-o", "plain", columns=40)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(offline_jobs)
    fields = [line.split("\t") for line in lines]
    assert all(len(f) == 7 for f in fields)
    assert {f[0] for f in fields} == {job["id"] for job in offline_jobs}  # `cut -f1`
    assert {f[3] for f in fields} == set(DISPLAY_NAMES)
    assert all(f[4] == BASE_MODEL for f in fields)
    assert all(value and value != "None" for f in fields for value in f)


def test_list_output_json_is_the_json_flag(offline_jobs: list[dict[str, Any]]) -> None:
    assert json.loads(offline("list", "-o", "json").stdout) == json.loads(offline("list", "--json").stdout)


def test_get_prints_a_value_on_every_row_and_no_none(offline_jobs: list[dict[str, Any]]) -> None:
    for job in offline_jobs:
        result = offline("get", job["id"], columns=80)
        assert result.exit_code == 0, result.output
        assert "None" not in result.stdout
        assert "…" not in result.stdout
        for line in result.stdout.splitlines():
            key_and_value = line.split("  ", 1)
            assert len(key_and_value) == 2, line
            assert key_and_value[1].strip(), line
        joined = "".join(line[17:].strip() for line in result.stdout.splitlines())
        assert f"tunedModels/{job['id']}" in joined


@pytest.mark.parametrize("columns", [120, 100, 80])
def test_backends_never_cuts_a_name(run: Any, columns: int) -> None:
    result = run("backends", columns=columns)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    rows = _rows(result.stdout)
    for name, distribution in (("gemini", "tuneport-gemini"), ("vertex", "tuneport-vertex")):
        assert any(name in row and distribution in row for row in rows), result.stdout
    if columns < 120:
        assert "left out at" in result.stdout


def test_list_on_a_100_column_terminal_shows_whole_ids(offline_jobs: list[dict[str, Any]]) -> None:
    """The same through a real terminal (a pty 100 columns wide), as ``python -m tuneport``."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    main, child = pty.openpty()
    try:
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        ran = subprocess.run(
            [sys.executable, "-m", "tuneport", "list"],
            stdin=child,
            stdout=child,
            stderr=subprocess.PIPE,
            env={**env, "TERM": "xterm-256color"},
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        output = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            output += chunk
            if len(chunk) < 65536:
                break
    finally:
        os.close(main)
        os.close(child)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode())  # colours and cursor moves
    assert "left out at 100 columns" in text
    for job in offline_jobs:
        assert job["id"] in text


VERTEX_PROFILE = """[profiles.vtx]
backend = "vertex"
endpoint = "embedded"
project = "demo-project"
location = "us-central1"
staging_bucket = "gs://demo-bucket"
"""


@pytest.fixture
def vertex_job(isolated_environment: Path) -> str:
    """A finished supervised job on the offline vertex emulator (long resource names)."""
    (isolated_environment / "tuneport.toml").write_text(VERTEX_PROFILE)
    train = isolated_environment / "train.jsonl"
    turns = [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]
    train.write_text("".join(json.dumps({"contents": turns}) + "\n" for _ in range(5)))
    created = offline("create", "-m", "gemini-2.5-flash", "-t", str(train), "-p", "vtx", "--json")
    assert created.exit_code == 0, created.output
    job_id: str = json.loads(created.stdout)["id"]
    assert offline("wait", job_id, "-p", "vtx").exit_code == 0
    return job_id


@pytest.mark.parametrize("columns", [80, 60])
def test_metrics_never_cuts_a_series_name(vertex_job: str, columns: int) -> None:
    names = json.loads(offline("metrics", vertex_job, "-p", "vtx", "--json").stdout)["series"]
    assert "train_loss" in names
    result = offline("metrics", vertex_job, "-p", "vtx", columns=columns)
    assert result.exit_code == 0, result.output
    table = result.stdout.split("└")[0]
    assert "…" not in table
    for name in names:
        assert any(name in row.split("│")[1] for row in _rows(table)), table
    assert "left out at" in result.stdout


def test_get_prints_each_resource_name_on_one_line_at_40_columns(vertex_job: str) -> None:
    job = json.loads(offline("get", vertex_job, "-p", "vtx", "--json").stdout)
    result = offline("get", vertex_job, "-p", "vtx", columns=40)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for key in ("name", "tuned_model", "endpoint"):
        assert len(job[key]) > 40
        assert any(line.endswith(job[key]) for line in lines), (key, result.stdout)
