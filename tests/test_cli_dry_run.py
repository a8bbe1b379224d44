"""``tuneport create --dry-run`` (issue #18): the plan and the estimate, nothing sent; exit 0 when
the job is valid, 4 when not; ``--json`` gives the pre-flight report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import tuneport
from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import EXIT_INVALID, EXIT_USAGE, State, cli
from tuneport_emulator import Emulator

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"  # the emulator still tunes it
EXAMPLES = [{"text_input": str(n), "output": str(n + 1)} for n in range(20)]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    running = Emulator()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def training(isolated_environment: Path) -> str:
    path = isolated_environment / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in EXAMPLES), encoding="utf-8")
    return str(path)


@pytest.fixture
def bad_training(isolated_environment: Path) -> str:
    path = isolated_environment / "bad.jsonl"
    path.write_text('{"text_input": "a", "output": "b"}\n{"text": "no output"}\n', encoding="utf-8")
    return str(path)


def run(emulator: Emulator, *args: str) -> Result:
    """The CLI on the gemini backend, pointed at *emulator* (whose request log the tests read)."""
    options: dict[str, Any] = {
        "environ": {},
        "backend": "gemini",
        "endpoint": emulator.url,
        "emulator": True,
        "api_key": "dry-run-test-key",
    }
    return CliRunner().invoke(cli, list(args), obj=State(connect_options=options), prog_name="tuneport")


def test_a_valid_job_prints_the_request_and_the_estimate_and_sends_nothing(
    emulator: Emulator, training: str
) -> None:
    result = run(emulator, "create", "-m", BASE_MODEL, "-t", training, "--epochs", "3", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "nothing sent; the job is valid" in out
    assert "cost: " in out  # the estimate (here: why there is none)
    assert f"POST {emulator.url}/v1beta/tunedModels" in out
    assert '"epochCount": 3' in out
    assert '"textInput": "2"' in out
    assert '"textInput": "3"' not in out
    assert "… 17 more" in out  # …saying how much
    assert "dry-run-test-key" not in result.output
    assert emulator.requests() == []


def test_json_is_the_pre_flight_report_with_the_whole_plan(emulator: Emulator, training: str) -> None:
    result = run(emulator, "--json", "create", "-m", BASE_MODEL, "-t", training, "--dry-run")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["backend"] == "gemini"
    assert report["cost"] is not None
    assert "amount" in report["cost"]
    [request] = report["plan"]
    assert request["method"] == "POST"
    assert request["url"] == f"{emulator.url}/v1beta/tunedModels"
    examples = request["json"]["tuningTask"]["trainingData"]["examples"]["examples"]
    assert len(examples) == len(EXAMPLES)  # --json keeps every example
    expected = tuneport.validate(
        {"base_model": BASE_MODEL, "training_data": training},
        backend="gemini",
        environ={},
        settings={"endpoint": emulator.url, "emulator": True, "api_key": "k"},
    ).to_dict()
    assert set(report) == set(expected)
    assert report["problems"] == expected["problems"]
    assert report["cost"] == expected["cost"]
    assert emulator.requests() == []


def test_an_invalid_job_exits_4_naming_each_problem_and_sends_nothing(
    emulator: Emulator, bad_training: str
) -> None:
    result = run(emulator, "create", "-m", BASE_MODEL, "-t", bad_training, "--dry-run")
    assert result.exit_code == EXIT_INVALID, result.output
    assert "the job is NOT valid" in result.stdout
    assert "error missing-field: 2 errors\n" in result.stdout  # grouped by rule, with the real count
    # Found by the backend's check and by the data's: shown once.
    assert result.stdout.count("unknown field 'text'") == 1
    assert f"  {bad_training}:2: output: an example needs 'output'\n" in result.stdout
    assert "no plan" in result.stdout
    assert emulator.requests() == []


def test_an_invalid_job_in_json_is_a_report_that_is_not_ok(emulator: Emulator, bad_training: str) -> None:
    result = run(emulator, "--json", "create", "-m", BASE_MODEL, "-t", bad_training, "--dry-run")
    assert result.exit_code == EXIT_INVALID, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["plan"] is None
    assert any(p["kind"] == "dataset" and p["line"] == 2 for p in report["problems"])
    assert emulator.requests() == []


def test_a_spec_the_model_refuses_exits_4_naming_the_flag(emulator: Emulator, training: str) -> None:
    result = run(emulator, "create", "-m", BASE_MODEL, "-t", training, "--epochs", "0", "--dry-run")
    assert result.exit_code == EXIT_INVALID, result.output
    assert "--epochs" in result.output
    assert emulator.requests() == []


def test_dry_run_with_wait_is_a_usage_error(emulator: Emulator, training: str) -> None:
    result = run(emulator, "create", "-m", BASE_MODEL, "-t", training, "--dry-run", "--wait")
    assert result.exit_code == EXIT_USAGE
    assert "--dry-run sends nothing" in result.output
    assert emulator.requests() == []


def test_on_the_offline_default_a_dry_run_creates_no_job(training: str) -> None:
    """The built-in profile (the CLI's embedded emulator, kept between commands): nothing created."""
    dry = CliRunner().invoke(cli, ["create", "-m", BASE_MODEL, "-t", training, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "/v1beta/tunedModels" in dry.stdout
    listed = CliRunner().invoke(cli, ["--json", "list"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["jobs"] == []
