"""Canary scans of the CLI: every verb, with and without ``--json``, in-process and as a real ``-vv`` process.

The in-process runs use click's runner with the canary profile of a config
file and the recording transport; the subprocess runs the console script with
``-vv`` (``logging.basicConfig`` at DEBUG, httpx and httpcore included) and a
config file that other users can read, so its permission warning is scanned
too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from canary_gather import DebugLog, gather_logs_and_emulator
from canary_lifecycle import BAD_PROFILES, SCENARIOS, LinkedClock, Scenario, bad_config_file
from canary_scan import Canary, Evidence, assert_no_leak
from canary_wire import WireRecorder, assert_credentials_only_in_headers, port_of
from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import EXIT_API, EXIT_OK, EXIT_USAGE, State, cli
from tuneport_emulator import Emulator

Runner = Callable[..., Result]


def cli_runner(config: Path, evidence: Evidence, **connect_options: Any) -> Runner:
    """Run ``tuneport --config CONFIG -p canary ARGS``; its stdout and stderr go to *evidence*."""

    def run(*args: str, exit_code: int = EXIT_OK) -> Result:
        state = State(connect_options={"environ": {}, **connect_options})
        argv = ["--config", str(config), "-p", "canary", *args]
        result = CliRunner().invoke(cli, argv, obj=state, prog_name="tuneport")
        evidence.add(f"stdout of tuneport {' '.join(args)}", result.stdout)
        evidence.add(f"stderr of tuneport {' '.join(args)}", result.stderr)
        assert result.exit_code == exit_code, (args, result.stdout, result.stderr, result.exception)
        return result

    return run


@pytest.mark.parametrize("mode", ["--json", "human"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_verb_leaks_no_secret(
    name: str,
    mode: str,
    canary: Canary,
    emulator: Emulator,
    debug_log: DebugLog,
    caplog: pytest.LogCaptureFixture,
    evidence: Evidence,
    tmp_path: Path,
) -> None:
    scenario = Scenario(name)
    recorder = WireRecorder(redirect_port=port_of(emulator.url))
    config = scenario.config_file(tmp_path, canary, scenario.endpoint(emulator))
    run = cli_runner(config, evidence, transport=recorder.sync(), clock=LinkedClock(emulator))
    flags = ["--json"] if mode == "--json" else []
    create = ["create", "-m", scenario.base_model, "-t", scenario.training_file(tmp_path)]

    job_id = json.loads(run("--json", *create).stdout)["id"]
    for verb in (["get", job_id], ["wait", job_id, "--poll", "30"], ["metrics", job_id]):
        run(*flags, *verb)
    run(*flags, "generate", job_id, "1")
    run(*flags, "list")
    second_id = json.loads(run("--json", *create).stdout)["id"]
    run(*flags, "cancel", second_id)
    run(*flags, *create)
    run(*flags, "delete", job_id)
    run(*flags, "get", "no-such-job", exit_code=EXIT_API)
    run(*flags, "backends")
    run(*flags, "models")

    assert_credentials_only_in_headers(recorder.sent, canary.needles(), scenario.expected_credential(canary))
    gather_logs_and_emulator(evidence, debug_log, caplog, emulator)
    assert_no_leak(evidence, canary)


@pytest.mark.parametrize("problem", sorted(BAD_PROFILES))
def test_configuration_errors_leak_no_secret(
    problem: str, canary: Canary, debug_log: DebugLog, evidence: Evidence, tmp_path: Path
) -> None:
    run = cli_runner(bad_config_file(tmp_path, canary, problem), evidence)
    for flags in (["--json"], []):
        run(*flags, "list", exit_code=EXIT_USAGE)
    evidence.add("DEBUG log (all loggers)", debug_log.text)
    assert_no_leak(evidence, canary)


def test_a_verbose_process_leaks_no_secret(
    canary: Canary, emulator: Emulator, evidence: Evidence, tmp_path: Path
) -> None:
    """``tuneport -vv`` in its own process: DEBUG logging of every library on stderr, the real entry point."""
    config = Scenario("gemini-api-key").config_file(tmp_path, canary, emulator.url)
    config.chmod(0o644)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TUNEPORT_CONFIG": str(config)}
    results = []
    for args in (["--json", "list"], ["--json", "get", "no-such-job"], ["get", "no-such-job"]):
        argv = [sys.executable, "-m", "tuneport.cli", "-vv", "-p", "canary", *args]
        result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
        evidence.add(f"stdout of tuneport -vv {' '.join(args)}", result.stdout)
        evidence.add(f"stderr of tuneport -vv {' '.join(args)}", result.stderr)
        results.append(result)

    assert [r.returncode for r in results] == [EXIT_OK, EXIT_API, EXIT_API]
    for result in results:
        assert "DEBUG httpcore" in result.stderr  # debug HTTP logging really ran
        assert "warning: " in result.stderr  # the warning was printed, and scanned
        assert "holds secrets" in result.stderr
    assert {entry["credentials"] for entry in emulator.requests()} == {"api-key"}
    evidence.add("emulator request log", json.dumps(emulator.requests()))
    assert_no_leak(evidence, canary)
