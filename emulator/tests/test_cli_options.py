"""``tuneport emulator`` and ``tuneport-emulator`` as a user runs them (options, signals): a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

KEY = "emulator-test-key-not-real"


@contextmanager
def _emulator(*options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPORT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tuneport.cli", "emulator", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _run(*options: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPORT_")}
    command = [sys.executable, "-m", "tuneport.cli", "emulator", "--port", "0", *options]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=30, env=clean)


def test_require_key_exercises_the_missing_and_wrong_key_paths() -> None:
    with _emulator("--require-key", KEY) as url:
        missing = httpx.get(url + "/v1beta/tunedModels")
        assert missing.status_code == 403
        assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
        wrong = httpx.get(url + "/v1beta/tunedModels", headers={"x-goog-api-key": "other"})
        assert (wrong.status_code, wrong.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
        assert httpx.get(url + "/v1beta/tunedModels", headers={"x-goog-api-key": KEY}).status_code == 200
        logged = httpx.get(url + "/_emulator/requests").text
        assert KEY not in logged
        assert '"other"' not in logged


def test_the_key_can_come_from_the_environment() -> None:
    with _emulator(env={"TUNEPORT_EMULATOR_KEY": KEY}) as url:
        assert httpx.get(url + "/v1beta/tunedModels").status_code == 403
        assert httpx.get(url + "/v1beta/tunedModels", headers={"x-goog-api-key": KEY}).status_code == 200


def test_faults_and_state_are_taken_and_announced(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with _emulator("--faults", "seed=1; gemini.*: 503=1", "--state", str(state)) as url:
        assert httpx.get(url + "/v1beta/tunedModels").status_code == 503
        assert httpx.get(url + "/_emulator/faults").json()["injected"] == {"503": 1}
    assert state.is_file()


def test_a_bad_fault_spec_is_a_usage_error_naming_the_item() -> None:
    result = _run("--faults", "*: 503=2")
    assert result.returncode == 2
    assert "503" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_state_file_in_use_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with _emulator("--state", str(state)):
        result = _run("--state", str(state))
    assert result.returncode != 0
    assert "in use by another emulator" in result.stderr
    assert "Traceback" not in result.stderr


def test_speed_sets_the_scaled_clock() -> None:
    with _emulator("--speed", "6000") as url:
        clock = httpx.get(url + "/_emulator/clock").json()
    assert (clock["mode"], clock["speed"]) == ("scaled", 6000.0)


def test_a_speed_that_is_not_positive_is_a_usage_error() -> None:
    result = _run("--speed", "0")
    assert result.returncode == 2
    assert "--speed" in result.stderr


@pytest.mark.parametrize(
    "command",
    [["-m", "tuneport.cli", "emulator"], ["-m", "tuneport_emulator"]],
    ids=["tuneport emulator", "tuneport-emulator"],
)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_started_in_the_background_of_a_script_it_stops_on_sigint_and_sigterm(
    command: list[str], signum: int
) -> None:
    """``tuneport emulator &`` in a script: the job inherits SIGINT ignored; both signals still stop it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPORT_")}
    shell = 'trap "" INT; exec "$0" "$@"'  # what a non-interactive shell does for a `&` job
    process = subprocess.Popen(
        ["sh", "-c", shell, sys.executable, *command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        assert httpx.get(url + "/v1beta/models").status_code == 200
        process.send_signal(signum)
        _, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
