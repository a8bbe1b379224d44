"""Warnings as the CLI prints them (#18): ``warning: <message>`` on stderr, yellow on a terminal only,
whether logged (an unlisted model) or a Python warning (a config file others can read); never Python's
``file:line: Category`` form with a source line, never on stdout, never with a secret.  -v keeps the
detailed form of info and debug records.  Each test runs the real CLI in its own process."""

from __future__ import annotations

import json
import logging
import re
import warnings
from pathlib import Path

import pytest
from cli_process import on_a_terminal, run_piped
from click.testing import CliRunner

from tuneport.cli.app import cli

SECRET = "AIzaSyD-not-a-real-key-0123456789abcdefgh"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def readable_config(isolated_environment: Path) -> Path:
    """A config holding an API key that every user can read (an InsecureConfigWarning)."""
    path = isolated_environment / "tuneport.toml"
    path.write_text(
        f'[profiles.g]\nbackend = "gemini"\nendpoint = "embedded"\napi_key = "{SECRET}"\n', encoding="utf-8"
    )
    path.chmod(0o644)
    return path


@pytest.fixture
def vertex_config(isolated_environment: Path) -> Path:
    """A vertex profile on the embedded emulator, and a valid Vertex dataset beside it."""
    path = isolated_environment / "tuneport.toml"
    path.write_text(
        '[profiles.vtx]\nbackend = "vertex"\nendpoint = "embedded"\nproject = "my-project"\n'
        'location = "us-central1"\nstaging_bucket = "gs://my-bucket"\n',
        encoding="utf-8",
    )
    turns = [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]
    records = [{"contents": [*turns[:1], {"role": "model", "parts": [{"text": str(n)}]}]} for n in range(20)]
    (isolated_environment / "train.jsonl").write_text(
        "".join(json.dumps(record) + "\n" for record in records), encoding="utf-8"
    )
    return path


def _assert_plain_warning(stderr: str, text: str) -> None:
    lines = [line for line in stderr.splitlines() if text in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("warning: "), stderr
    assert "Warning:" not in stderr  # not Python's "file:line: InsecureConfigWarning: …"
    assert "warnings.warn" not in stderr  # nor the source line under it
    assert ".py:" not in stderr


def test_a_python_warning_prints_as_a_warning_line(readable_config: Path) -> None:
    result = run_piped("-p", "g", "list", cwd=readable_config.parent)
    assert result.returncode == 0, result.stderr
    _assert_plain_warning(result.stderr, "holds secrets (api_key)")
    assert "chmod 600" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_with_json_the_warning_stays_on_stderr(readable_config: Path) -> None:
    result = run_piped("--json", "-p", "g", "list", cwd=readable_config.parent)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)  # stdout is the JSON document alone
    _assert_plain_warning(result.stderr, "holds secrets (api_key)")


def test_a_logged_warning_prints_as_a_warning_line(vertex_config: Path) -> None:
    result = run_piped(
        "--json",
        "-p",
        "vtx",
        "create",
        "-m",
        "gemini-3.6-flash",
        "-t",
        "train.jsonl",
        cwd=vertex_config.parent,
    )
    # The emulator refuses a model it does not know (exit 3); the pre-flight warned before sending.
    assert result.returncode == 3, result.stderr
    _assert_plain_warning(result.stderr, "'gemini-3.6-flash' is not in the model catalog of 'vertex'")
    assert "[model-not-in-catalog]" in result.stderr
    assert "warning" not in result.stdout


def test_verbose_keeps_the_detailed_form_of_info_records_and_warnings_stay_warnings(
    readable_config: Path,
) -> None:
    result = run_piped("-p", "g", "list", "-v", cwd=readable_config.parent)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^INFO httpx: HTTP Request: GET ", result.stderr, re.MULTILINE)
    _assert_plain_warning(result.stderr, "holds secrets (api_key)")
    assert "WARNING" not in result.stderr


def test_on_a_terminal_the_word_warning_is_yellow(readable_config: Path) -> None:
    code, shown = on_a_terminal("-p", "g", "list", cwd=readable_config.parent)
    assert code == 0, shown
    assert re.search(r"\x1b\[[0-9;]*33mwarning\x1b\[0m: ", shown)
    assert "warning: " in ANSI.sub("", shown)
    piped = run_piped("-p", "g", "list", cwd=readable_config.parent)
    assert "\x1b[" not in piped.stderr


def test_the_cli_gives_python_its_warning_printer_and_logging_back(readable_config: Path) -> None:
    from tuneport.cli import commands  # noqa: F401  (registers the verbs)

    before = warnings.showwarning
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    result = CliRunner().invoke(cli, ["-p", "g", "list", "-vv"], prog_name="tuneport")
    assert result.exit_code == 0, result.output
    assert warnings.showwarning is before
    assert (root.handlers, root.level) == (handlers, level)  # an embedding program keeps its logging
    assert "DEBUG " in result.stderr
    assert "warning: " in result.stderr


def test_several_pre_flight_warnings_are_grouped_by_rule(vertex_config: Path) -> None:
    turns = [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]
    (vertex_config.parent / "dups.jsonl").write_text(
        "".join(json.dumps({"contents": turns}) + "\n" for _ in range(30)), encoding="utf-8"
    )
    result = run_piped(
        "--json",
        "-p",
        "vtx",
        "create",
        "-m",
        "gemini-3.6-flash",
        "-t",
        "dups.jsonl",
        cwd=vertex_config.parent,
    )
    err = result.stderr
    assert "warning model-not-in-catalog: 1 warning\n" in err
    assert "warning duplicate-example: 29 warnings, first 10 shown\n" in err
    assert "  dups.jsonl:2: the same example as line 1\n" in err
    assert err.count("the same example as line 1") == 10
    assert err.count("fix: remove the repeated examples") == 1
    assert "[duplicate-example]" not in err  # the rule is the group's headline, not repeated per line
    assert "warning" not in result.stdout
