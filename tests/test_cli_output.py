"""CLI output that can be read and copied (#18): ``python -m tuneport``, global options after the
verb, tables whose rows all have values and whose ids are never cut."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fake_service import CANARY_KEY, FakeService

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.plugins import PluginHost
from tuneport.waiting import ManualClock


@pytest.fixture
def run(host: PluginHost, service: FakeService, clock: ManualClock) -> Any:
    """Invoke the CLI wired to the fake backend, at a fixed terminal width (``COLUMNS``)."""

    def invoke(*args: str, columns: int = 100, **options: Any) -> Result:
        connect_options: dict[str, Any] = {
            "plugins": host,
            "transport": service.transport(),
            "clock": clock,
            "environ": {},
            "backend": "fake",
            "api_key": CANARY_KEY,
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
