"""`tuneport checkpoints JOB` (table and --json, with the loss at each checkpoint's step),
`--set-default ID`, and `tuneport generate JOB PROMPT --checkpoint ID`, against a backend kept in
memory (tests/cli_memory.py); and `Metrics.at_step`, which reads the loss at a checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_memory import MemoryStore, memory_host
from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.models import MetricPoint, Metrics

TRAIN = "gs://bucket/train.jsonl"


@pytest.fixture(autouse=True)
def _fresh_store() -> Iterator[None]:
    MemoryStore.reset()
    yield
    MemoryStore.reset()


@pytest.fixture
def run() -> Any:
    host = memory_host()

    def invoke(*args: str, backend: str = "memory") -> Result:
        state = State(connect_options={"plugins": host, "environ": {}, "backend": backend})
        return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport", terminal_width=120)

    return invoke


@pytest.fixture
def job_id(run: Any) -> str:
    created = run("--json", "create", "-m", "base-1", "-t", TRAIN)
    assert created.exit_code == 0, created.output
    made: str = json.loads(created.stdout)["id"]
    return made


def test_metrics_at_step_reads_each_series_at_or_before_the_step() -> None:
    metrics = Metrics(
        job_id="j",
        series={
            "train_loss": tuple(MetricPoint(step=s, value=float(s)) for s in (1, 2, 3, 4)),
            "eval_loss": (MetricPoint(step=2, value=20.0), MetricPoint(step=4, value=40.0)),
            "late": (MetricPoint(step=9, value=1.0),),
        },
    )
    assert metrics.at_step(3) == {"train_loss": 3.0, "eval_loss": 20.0}  # eval ran at step 2
    assert metrics.at_step(4) == {"train_loss": 4.0, "eval_loss": 40.0}
    assert metrics.at_step(0) == {}
    assert metrics.at_step(100)["late"] == 1.0


def test_checkpoints_json_has_every_checkpoint_and_its_loss(run: Any, job_id: str) -> None:
    result = run("--json", "checkpoints", job_id)
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["job_id"] == job_id
    assert listing["default_checkpoint"] == "3"
    rows = listing["checkpoints"]
    assert [(r["id"], r["epoch"], r["step"], r["is_default"]) for r in rows] == [
        ("1", 1, 10, False),
        ("2", 2, 20, False),
        ("3", 3, 30, True),
    ]
    assert rows[0]["endpoint"] == f"endpoints/{job_id}-1"
    # The memory backend's train loss is 2 - step/20 at every step; eval loss 2.5 - step/20 every 5 steps.
    assert rows[1]["metrics"] == {"train_loss": pytest.approx(1.0), "eval_loss": pytest.approx(1.5)}


def test_checkpoints_table(run: Any, job_id: str) -> None:
    result = run("checkpoints", job_id)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "epoch" in line)
    for column in ("id", "step", "default", "endpoint", "train_loss", "eval_loss"):
        assert column in header
    third = next(line for line in lines if f"{job_id}-3" in line)
    assert "✓ default" in third
    assert "endpoints under endpoints/" in result.stdout  # the path they share, said once
    assert "0.5" in third  # train loss at step 30
    assert "None" not in result.stdout


def test_set_default_moves_the_default_and_shows_it(run: Any, job_id: str) -> None:
    result = run("--json", "checkpoints", job_id, "--set-default", "1")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["default_checkpoint"] == "1"
    assert [r["is_default"] for r in listing["checkpoints"]] == [True, False, False]
    assert ("set_default_checkpoint", (job_id, "1")) in MemoryStore.calls
    assert "now serves checkpoint 2" in run("checkpoints", job_id, "--set-default", "2").stderr
    assert json.loads(run("--json", "get", job_id).stdout)["checkpoints"][1]["is_default"] is True


def test_set_default_to_an_unknown_checkpoint_names_the_ones_there_are(run: Any, job_id: str) -> None:
    result = run("checkpoints", job_id, "--set-default", "9")
    assert result.exit_code == 4
    assert "checkpoints: 1, 2, 3" in result.stderr
    assert not [call for call in MemoryStore.calls if call[0] == "set_default_checkpoint"]


def test_set_default_where_the_backend_cannot_exits_5(run: Any) -> None:
    created = run("--json", "create", "-m", "base-1", "-t", TRAIN, backend="memory-sft")
    assert created.exit_code == 0, created.output
    result = run("checkpoints", json.loads(created.stdout)["id"], "--set-default", "1", backend="memory-sft")
    assert result.exit_code == 5
    assert "set_default_checkpoint" in result.stderr


def test_a_job_of_a_backend_without_checkpoints_lists_none(run: Any) -> None:
    created = run("--json", "create", "-m", "base-1", "-t", TRAIN, backend="memory-sft")
    job = json.loads(created.stdout)["id"]
    human = run("checkpoints", job, backend="memory-sft")
    assert human.exit_code == 0, human.output
    assert "reports no checkpoints" in human.stdout
    assert json.loads(run("--json", "checkpoints", job, backend="memory-sft").stdout) == {
        "job_id": job,
        "default_checkpoint": None,
        "checkpoints": [],
    }


def test_generate_from_a_checkpoint_calls_its_endpoint(run: Any, job_id: str) -> None:
    result = run("--json", "generate", job_id, "hello", "--checkpoint", "2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"] == f"endpoints/{job_id}-2 answers"
    assert ("generate", f"endpoints/{job_id}-2") in MemoryStore.calls
    default = run("generate", job_id, "hello")
    assert default.stdout.strip() == f"endpoints/{job_id}-3 answers"


def test_generate_from_an_unknown_checkpoint_exits_4_naming_the_checkpoints(run: Any, job_id: str) -> None:
    result = run("generate", job_id, "hello", "--checkpoint", "7")
    assert result.exit_code == 4
    assert "checkpoints: 1, 2, 3" in result.stderr
    assert not [call for call in MemoryStore.calls if call[0] == "generate"]


# --- the real CLI on an offline vertex profile (the embedded emulator) ------------------------


def test_checkpoints_and_continuous_tuning_on_the_embedded_vertex_emulator(
    isolated_environment: Path,
) -> None:
    work = isolated_environment
    (work / "tuneport.toml").write_text(
        '[profiles.offline-vertex]\nbackend = "vertex"\nendpoint = "embedded"\nproject = "cli-tests"\n'
        'location = "us-central1"\nstaging_bucket = "gs://cli-tests"\n',
        encoding="utf-8",
    )
    (work / "train.jsonl").write_text(
        "".join(json.dumps({"text_input": str(n), "output": str(n + 1)}) + "\n" for n in range(8)),
        encoding="utf-8",
    )
    (work / "prefs.jsonl").write_text(
        "".join(
            json.dumps({"prompt": str(n), "chosen": str(n + 1), "rejected": str(n)}) + "\n" for n in range(8)
        ),
        encoding="utf-8",
    )

    def tuneport_cli(*args: str) -> Result:
        return CliRunner().invoke(
            cli, ["-p", "offline-vertex", *args], prog_name="tuneport", terminal_width=120
        )

    def finished(*create_args: str) -> dict[str, Any]:
        created = tuneport_cli("--json", "create", *create_args)
        assert created.exit_code == 0, created.output
        waited = tuneport_cli("--json", "wait", json.loads(created.stdout)["id"], "--poll", "0.2")
        assert waited.exit_code == 0, waited.output
        job: dict[str, Any] = json.loads(waited.stdout)
        assert job["state"] == "SUCCEEDED"
        return job

    first = finished("-m", "gemini-2.5-flash", "-t", "train.jsonl", "--epochs", "2")
    assert first["method"] == "supervised"
    listing = json.loads(tuneport_cli("--json", "checkpoints", first["id"]).stdout)
    ids = [row["id"] for row in listing["checkpoints"]]
    assert len(ids) == 2  # one per epoch
    assert listing["default_checkpoint"] == ids[-1]
    assert all(row["endpoint"] and "train_loss" in row["metrics"] for row in listing["checkpoints"])

    answer = tuneport_cli("--json", "generate", first["id"], "3", "--checkpoint", ids[0])
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.stdout)["text"]

    moved = tuneport_cli("--json", "checkpoints", first["id"], "--set-default", ids[0])
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["default_checkpoint"] == ids[0]
    assert (
        json.loads(tuneport_cli("--json", "get", first["id"]).stdout)["checkpoints"][0]["is_default"] is True
    )

    second = finished(
        "--from",
        first["id"],
        "--checkpoint",
        ids[0],
        "--method",
        "preference",
        "--beta",
        "0.1",
        "-t",
        "prefs.jsonl",
    )
    assert (second["method"], second["base_model"]) == ("preference", "gemini-2.5-flash")
    assert (second["source_model"], second["source_checkpoint"]) == (first["tuned_model"], ids[0])
    shown = tuneport_cli("get", second["id"]).stdout
    assert f"checkpoint {ids[0]}" in shown
    assert "continued from" in shown
    assert "None" not in shown

    unknown = tuneport_cli("create", "--from", first["id"], "--checkpoint", "99", "-t", "prefs.jsonl")
    assert unknown.exit_code == 4
    assert "--checkpoint" in unknown.stderr
