"""`tuneport rebase JOB --to MODEL` on the in-memory plugin: the new job, overrides, --wait, and
errors that name the flag to change (#17)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import EXIT_INVALID, State, cli
from tuneport_inmemory import service

TRAIN = [{"text_input": q, "output": a} for q, a in [("1", "2"), ("3", "4"), ("IV", "V")]]


@pytest.fixture
def namespace() -> str:
    return f"cli-rebase-{uuid.uuid4().hex}"


@pytest.fixture
def run(namespace: str) -> Any:
    def invoke(*args: str) -> Result:
        options = {"backend": "inmemory", "namespace": namespace, "seconds_per_step": 0.01, "environ": {}}
        state = State(connect_options=options)
        return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport", terminal_width=120)

    return invoke


@pytest.fixture
def job_id(run: Any, namespace: str, tmp_path: Any) -> str:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in TRAIN))
    created = run(
        "--json", "create", "-m", "inmemory-base", "-t", str(train), "--epochs", "2", "--display-name", "bot"
    )
    assert created.exit_code == 0, created.output
    service(namespace).advance(3600)
    made: str = json.loads(created.stdout)["id"]
    return made


def test_rebase_json_is_the_new_job(run: Any, job_id: str) -> None:
    result = run("--json", "rebase", job_id, "--to", "inmemory-next", "--epochs", "3", "--label", "gen=2")
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)
    assert job["id"] != job_id
    assert job["base_model"] == "inmemory-next"
    assert job["display_name"] == "bot"
    assert job["hyperparameters"]["epoch_count"] == 3
    assert job["labels"] == {"gen": "2"}


def test_rebase_wait_follows_the_new_job_to_its_end(run: Any, job_id: str) -> None:
    result = run("--json", "rebase", job_id, "--to", "inmemory-next", "--wait", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["state"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("--to", "inmemory-base"), "--to"),  # the job's own base
        (("--to", "inmemory-next", "--epochs", "0"), "--epochs"),
        (("--to", "inmemory-next", "--learning-rate-multiplier", "2"), "--learning-rate-multiplier"),
    ],
)
def test_errors_name_the_flag(run: Any, job_id: str, args: tuple[str, ...], flag: str) -> None:
    result = run("rebase", job_id, *args)
    assert result.exit_code == EXIT_INVALID, result.output
    assert flag in result.output


def test_to_is_required(run: Any, job_id: str) -> None:
    result = run("rebase", job_id)
    assert result.exit_code == 2
    assert "--to" in result.output
