"""The CLI's offline default: with the built-in ``local`` profile (the embedded emulator),
one command sees the jobs of the previous ones (issue #15 item 7).

Each command is a separate CliRunner invocation with a fresh CLI state (so its
own client and its own embedded emulator), or a separate ``tuneport`` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import tuneport
from tuneport.cli import _offline, commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import cli
from tuneport.errors import EmulatorStateInUse
from tuneport_emulator import Emulator

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"  # the emulator still tunes it
EXAMPLES = [{"text_input": str(n), "output": str(n + 1)} for n in range(5)]


def tuneport_cli(*args: str) -> Result:
    """One ``tuneport`` command, as a user types it: no injected client, the default profile."""
    return CliRunner().invoke(cli, list(args), prog_name="tuneport")


@pytest.fixture
def training(isolated_environment: Path) -> str:
    path = isolated_environment / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in EXAMPLES), encoding="utf-8")
    return str(path)


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    """Where the CLI keeps the offline state in these tests (the user cache dir is in tmp_path)."""
    path = _offline.offline_state_path()
    assert tmp_path in path.parents
    return path


def create(training: str) -> str:
    result = tuneport_cli("--json", "create", "-m", BASE_MODEL, "-t", training)
    assert result.exit_code == 0, result.output
    job_id: str = json.loads(result.stdout)["id"]
    return job_id


def test_later_commands_see_the_job_a_command_created(training: str, state_file: Path) -> None:
    job_id = create(training)

    got = tuneport_cli("--json", "get", job_id)
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["id"] == job_id
    listed = tuneport_cli("--json", "list")
    assert [j["id"] for j in json.loads(listed.stdout)["jobs"]] == [job_id]
    waited = tuneport_cli("--json", "wait", job_id)
    assert waited.exit_code == 0, waited.output
    assert json.loads(waited.stdout)["state"] == "SUCCEEDED"
    generated = tuneport_cli("--json", "generate", job_id, "1")
    assert generated.exit_code == 0, generated.output
    assert json.loads(generated.stdout)["text"]
    deleted = tuneport_cli("--json", "delete", job_id)
    assert json.loads(deleted.stdout) == {"job_id": job_id, "deleted": True}
    assert tuneport_cli("get", job_id).exit_code == 3  # gone: gemini's deletion is a 404
    assert json.loads(tuneport_cli("--json", "list").stdout)["jobs"] == []
    assert state_file.is_file()


def test_separate_tuneport_processes_share_the_jobs(training: str, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tuneport.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    created = run("--json", "create", "-m", BASE_MODEL, "-t", training)
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    got = run("--json", "get", job_id)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["id"] == job_id
    listed = run("--json", "list")
    assert [j["id"] for j in json.loads(listed.stdout)["jobs"]] == [job_id]
    assert (tmp_path / "home" / ".cache" / "tuneport" / _offline.STATE_FILE_NAME).is_file()


def test_the_clock_keeps_running_between_commands(training: str) -> None:
    job_id = create(training)
    # The job takes 90 emulator seconds, 1.5 s of wall time at the default speed (60x),
    # during which no command runs and no emulator is up.
    time.sleep(2.5)
    got = tuneport_cli("--json", "get", job_id)
    assert json.loads(got.stdout)["state"] == "SUCCEEDED"


def test_the_first_command_says_once_where_the_offline_state_lives(training: str, state_file: Path) -> None:
    first = tuneport_cli("--json", "list")
    assert first.exit_code == 0
    assert "note: offline" in first.stderr
    assert str(state_file) in first.stderr
    assert "tuneport emulator --reset-state" in first.stderr
    assert json.loads(first.stdout) == {"jobs": []}  # --json output stays clean
    second = tuneport_cli("list")
    assert "note" not in second.stderr


def test_the_offline_state_follows_tuneport_emulator_state(
    training: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "mine" / "state.sqlite"
    monkeypatch.setenv("TUNEPORT_EMULATOR_STATE", str(chosen))
    job_id = create(training)
    assert chosen.is_file()
    emulator = Emulator(state=chosen)
    with emulator, tuneport.connect(endpoint=emulator.start(), emulator=True) as client:
        assert [j.id for j in client.list()] == [job_id]


def test_reset_state_clears_the_jobs(training: str, state_file: Path) -> None:
    create(training)
    reset = tuneport_cli("emulator", "--reset-state")
    assert reset.exit_code == 0, reset.output
    assert f"deleted {state_file}" in reset.stdout
    assert not state_file.exists()
    assert not Path(f"{state_file}.objects").exists()
    nothing = tuneport_cli("--json", "emulator", "--reset-state")
    assert json.loads(nothing.stdout) == {"state": str(state_file), "deleted": False}
    listed = tuneport_cli("--json", "list")
    assert json.loads(listed.stdout) == {"jobs": []}
    assert "note: offline" in listed.stderr  # a new file: said again


def test_reset_state_deletes_a_file_that_is_not_a_state_file(state_file: Path) -> None:
    state_file.parent.mkdir(parents=True)
    state_file.write_text("not a database", encoding="utf-8")
    assert tuneport_cli("emulator", "--reset-state").exit_code == 0
    assert not state_file.exists()


def test_reset_state_is_refused_while_a_command_holds_the_file(training: str, state_file: Path) -> None:
    create(training)
    with Emulator(state=state_file):
        refused = tuneport_cli("emulator", "--reset-state")
    assert refused.exit_code == 2
    assert "in use" in refused.stderr
    assert state_file.is_file()


def test_a_command_waits_for_another_to_release_the_file(training: str, state_file: Path) -> None:
    job_id = create(training)
    holder = Emulator(state=state_file)  # another command, e.g. `tuneport wait` in another terminal
    release = threading.Timer(0.5, holder.stop)
    release.start()
    try:
        started = time.monotonic()
        listed = tuneport_cli("--json", "list")
        waited = time.monotonic() - started
    finally:
        release.cancel()
        holder.stop()
    assert listed.exit_code == 0, listed.output
    assert [j["id"] for j in json.loads(listed.stdout)["jobs"]] == [job_id]
    assert "in use by another tuneport command; waiting" in listed.stderr
    assert 0.4 < waited < _offline.LOCK_WAIT


def test_a_command_gives_up_waiting_with_a_typed_error_saying_what_to_do(
    training: str, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(training)
    monkeypatch.setattr(_offline, "LOCK_WAIT", 0.3)
    with Emulator(state=state_file):
        listed = tuneport_cli("--json", "list")
    assert listed.exit_code == 2
    error = json.loads(listed.stdout)["error"]
    assert error["type"] == "EmulatorStateInUse"
    assert "waited 0.3 s" in error["message"]
    assert f"tuneport emulator --state {state_file}" in error["message"]
    assert "TUNEPORT_EMULATOR_HOST" in error["message"]


def test_python_clients_keep_a_private_emulator_each(training: str, state_file: Path) -> None:
    with tuneport.connect() as first:  # the built-in local profile, as the CLI's
        first.create(base_model=BASE_MODEL, training_data=training)
        with tuneport.connect() as second:
            assert list(second.list()) == []
    assert not state_file.parent.exists()  # connect() never touches the CLI's state


def test_python_clients_share_a_state_file_when_told(tmp_path: Path, training: str) -> None:
    path = tmp_path / "shared" / "state.sqlite"
    with tuneport.connect(emulator_state=path) as client:
        job = client.create(base_model=BASE_MODEL, training_data=training)
        with pytest.raises(EmulatorStateInUse) as caught:
            tuneport.connect(emulator_state=path)
        assert caught.value.path == str(path)
    with tuneport.connect(emulator_state=path) as client:
        assert [j.id for j in client.list()] == [job.id]


VERTEX_PROFILE = """\
default_profile = "v"
[profiles.v]
backend = "vertex"
endpoint = "embedded"
project = "tuneport-demo"
location = "us-central1"
staging_bucket = "gs://tuneport-demo"
job = { base_model = "gemini-2.5-flash" }
"""


def test_a_vertex_profile_keeps_its_jobs_and_objects_between_commands(
    isolated_environment: Path, state_file: Path
) -> None:
    (isolated_environment / "tuneport.toml").write_text(VERTEX_PROFILE, encoding="utf-8")
    turns = [
        {
            "contents": [
                {"role": "user", "parts": [{"text": e["text_input"]}]},
                {"role": "model", "parts": [{"text": e["output"]}]},
            ]
        }
        for e in EXAMPLES * 4
    ]
    (isolated_environment / "train.jsonl").write_text(
        "".join(json.dumps(t) + "\n" for t in turns), encoding="utf-8"
    )
    created = tuneport_cli("--json", "create", "-t", "train.jsonl")
    assert created.exit_code == 0, created.output
    job_id = json.loads(created.stdout)["id"]
    waited = tuneport_cli("--json", "wait", job_id, "--poll", "0.05")
    assert json.loads(waited.stdout)["state"] == "SUCCEEDED", waited.output
    assert tuneport_cli("generate", job_id, "1").exit_code == 0
    objects = Path(f"{state_file}.objects")
    assert objects.is_dir()  # the uploaded training file, staged in the emulator's bucket
    assert tuneport_cli("emulator", "--reset-state").exit_code == 0
    assert not objects.exists()
    assert tuneport_cli("get", job_id).exit_code == 3


async def test_async_clients_share_a_state_file_when_told(tmp_path: Path, training: str) -> None:
    path = tmp_path / "state.sqlite"
    async with tuneport.connect_async(emulator_state=path) as client:
        job = await client.create(base_model=BASE_MODEL, training_data=training)
    async with tuneport.connect_async() as private:  # no state file: a private emulator
        assert [j.id async for j in private.list()] == []
    async with tuneport.connect_async(emulator_state=path) as client:
        assert [j.id async for j in client.list()] == [job.id]
