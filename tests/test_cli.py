"""The CLI through click's runner: verbs, --json output, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
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
    """Invoke the CLI wired to the fake backend; returns the click Result."""

    def invoke(*args: str, backend: str = "fake", **options: Any) -> Result:
        connect_options: dict[str, Any] = {
            "plugins": host,
            "transport": service.transport(),
            "clock": clock,
            "environ": {},
            "backend": backend,
            "api_key": CANARY_KEY,
            **options,
        }
        state = State(connect_options=connect_options)
        return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport")

    return invoke


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_backends_json_lists_installed_backends_and_maturity(run: Any) -> None:
    result = run("--json", "backends")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in _json(result)["backends"]}
    assert rows["gemini"]["distribution"] == "tuneport-gemini"
    assert rows["vertex"]["maturity"] == "stable"
    assert rows["fake-settings-only"]["maturity"] == "settings-only"
    assert rows["fake"]["capabilities"]["operations"]
    assert "epoch_count" in rows["fake"]["capabilities"]["hyperparameters"]


def test_backends_human_table_says_settings_only(run: Any) -> None:
    result = run("backends")
    assert result.exit_code == 0
    assert "settings-only" in result.stdout
    assert "gemini" in result.stdout


def test_create_with_flags_then_get_wait_metrics_generate_delete(run: Any, service: FakeService) -> None:
    created = run(
        "--json",
        "create",
        "--base-model",
        "fake-base-001",
        "--training-data",
        "gs://b/train.jsonl",
        "--epochs",
        "3",
        "--display-name",
        "numbers",
        "--label",
        "team=ml",
    )
    assert created.exit_code == 0, created.output
    job = _json(created)
    assert job["display_name"] == "numbers"
    assert job["hyperparameters"] == {"epoch_count": 3}
    assert job["labels"] == {"team": "ml"}

    got = run("--json", "get", job["id"])
    assert got.exit_code == 0
    assert _json(got)["id"] == job["id"]

    waited = run("--json", "wait", job["id"], "--poll", "1")
    assert waited.exit_code == 0, waited.output
    assert _json(waited)["state"] == "SUCCEEDED"

    metrics = run("--json", "metrics", job["id"])
    assert metrics.exit_code == 0
    series = _json(metrics)["series"]
    assert series
    assert all(points for points in series.values())

    generated = run("--json", "generate", job["id"], "hello", "--temperature", "0.2")
    assert generated.exit_code == 0, generated.output
    assert isinstance(_json(generated)["text"], str)

    deleted = run("--json", "delete", job["id"])
    assert deleted.exit_code == 0
    assert _json(deleted) == {"job_id": job["id"], "deleted": True}
    assert job["id"] not in service.jobs

    again = run("delete", job["id"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"{job['id']}: not found, nothing deleted"
    assert _json(run("--json", "delete", "nope-123")) == {"job_id": "nope-123", "deleted": False}


def test_create_from_spec_files(run: Any, tmp_path: Path) -> None:
    spec_json = tmp_path / "spec.json"
    spec_json.write_text(
        json.dumps(
            {
                "base_model": "fake-base-001",
                "training_data": "gs://b/t.jsonl",
                "hyperparameters": {"batch_size": 4},
            }
        )
    )
    spec_toml = tmp_path / "spec.toml"
    spec_toml.write_text('base_model = "fake-base-001"\ntraining_data = "gs://b/t.jsonl"\n')
    first = run("--json", "create", "--spec", str(spec_json), "--epochs", "2")
    assert first.exit_code == 0, first.output
    assert _json(first)["hyperparameters"] == {"batch_size": 4, "epoch_count": 2}
    second = run("--json", "create", "--spec", str(spec_toml))
    assert second.exit_code == 0, second.output


def test_create_without_required_fields_is_a_usage_error(run: Any, service: FakeService) -> None:
    result = run("create", "--base-model", "fake-base-001")
    assert result.exit_code == 2
    assert "--training-data" in result.stderr
    assert service.requests == []


def test_unsupported_parameter_exits_4_before_any_request(run: Any, service: FakeService) -> None:
    result = run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--adapter-size", "4")
    assert result.exit_code == 4
    error = _json(result)["error"]
    assert error["type"] == "UnsupportedParameter"
    assert "adapter_size" in error["message"]
    assert service.requests == []


def test_retired_model_exits_5(run: Any, service: FakeService) -> None:
    result = run("create", "-m", "fake-retired", "-t", "gs://b/t.jsonl")
    assert result.exit_code == 5
    assert "retired" in result.stderr
    assert "Traceback" not in result.output
    assert service.requests == []


def test_invalid_value_exits_4_naming_the_field(run: Any) -> None:
    result = run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--epochs", "0")
    assert result.exit_code == 4
    problems = _json(result)["error"]["problems"]
    assert problems[0]["field"] == "hyperparameters.epoch_count"


def test_list_pages_through_everything_and_honours_limit(run: Any, service: FakeService) -> None:
    ids = service.seed(23)
    result = run("--json", "list", "--page-size", "5")
    assert result.exit_code == 0
    listed = [job["id"] for job in _json(result)["jobs"]]
    assert sorted(listed) == sorted(ids)
    assert all("raw" not in job for job in _json(result)["jobs"])
    limited = run("--json", "list", "--limit", "7")
    assert len(_json(limited)["jobs"]) == 7
    table = run("list")
    assert "23 job(s)" in table.stdout


def test_not_found_is_an_api_error_with_status(run: Any) -> None:
    result = run("--json", "get", "no-such-job")
    assert result.exit_code == 3
    error = _json(result)["error"]
    assert error["type"] == "NotFoundError"
    assert error["status_code"] == 404
    human = run("get", "no-such-job")
    assert human.exit_code == 3
    assert human.stdout == ""
    assert "404" in human.stderr


def test_wait_on_failing_job_exits_1(run: Any) -> None:
    created = _json(
        run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--display-name", "fail")
    )
    result = run("--json", "wait", created["id"], "--poll", "1")
    assert result.exit_code == 1
    assert "training diverged" in _json(result)["error"]["message"]


def test_wait_timeout_exits_6(run: Any) -> None:
    created = _json(
        run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--display-name", "stuck")
    )
    result = run("--json", "wait", created["id"], "--timeout", "30", "--poll", "5")
    assert result.exit_code == 6
    assert _json(result)["error"]["type"] == "WaitTimeout"


def test_create_wait_in_one_step(run: Any) -> None:
    result = run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--wait")
    assert result.exit_code == 0, result.output
    assert _json(result)["state"] == "SUCCEEDED"


def test_cancel(run: Any) -> None:
    created = _json(
        run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--display-name", "stuck")
    )
    result = run("--json", "cancel", created["id"])
    assert result.exit_code == 0, result.output
    assert _json(result)["state"] in {"CANCELLING", "CANCELLED"}


def test_metrics_csv_and_plot(run: Any, tmp_path: Path) -> None:
    job = _json(run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl", "--wait"))
    to_stdout = run("metrics", job["id"], "--csv", "-")
    assert to_stdout.exit_code == 0, to_stdout.output
    rows = list(csv.DictReader(io.StringIO(to_stdout.stdout)))
    assert rows
    assert set(rows[0]) == {"series", "step", "epoch", "value", "time"}
    steps = [int(r["step"]) for r in rows if r["series"] == rows[0]["series"]]
    assert steps == sorted(steps)
    plot = tmp_path / "loss.png"
    csv_file = tmp_path / "loss.csv"
    result = run("metrics", job["id"], "--plot", str(plot), "--csv", str(csv_file))
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert csv_file.read_text().startswith("series,step,epoch,value,time")


def test_config_errors_exit_2_naming_the_file(run: Any, tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[profiles.x]\nbackend = "fake"\nendpointt = "http://x"\n')
    result = run("--config", str(config), "--profile", "x", "get", "j", backend=None)
    assert result.exit_code == 2
    assert str(config) in result.stderr
    assert "endpointt" in result.stderr
    assert "did you mean 'endpoint'" in result.stderr
    missing = run("--profile", "nope", "list", backend=None)
    assert missing.exit_code == 2
    assert "unknown profile 'nope'" in missing.stderr


def test_unknown_backend_suggests(run: Any) -> None:
    result = run("--json", "list", backend="gemnii")
    assert result.exit_code == 2
    assert "did you mean 'gemini'" in _json(result)["error"]["message"]


def test_settings_only_backend_operations_exit_5(run: Any) -> None:
    result = run("get", "x", backend="fake-settings-only")
    assert result.exit_code == 5
    assert "registration and settings" in result.stderr


def test_json_output_holds_no_secret(run: Any) -> None:
    outputs = [
        run("--json", "create", "-m", "fake-base-001", "-t", "gs://b/t.jsonl"),
        run("--json", "get", "missing"),
        run("--json", "backends"),
    ]
    for result in outputs:
        assert CANARY_KEY not in result.stdout
        assert CANARY_KEY not in result.stderr


def test_help_and_version_do_not_need_config() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--help"]).exit_code == 0
    version = runner.invoke(cli, ["--version"])
    assert version.exit_code == 0
    assert "0.1.0" in version.stdout


def test_console_script_runs_in_a_subprocess(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tuneport.cli", "--json", "backends"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    names = [row["name"] for row in json.loads(result.stdout)["backends"]]
    assert {"gemini", "vertex"} <= set(names)
