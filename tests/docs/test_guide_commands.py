"""The guide's shell and console blocks, run.

Each block is a file of ``docs/examples/guide``.  The commands run as they
are where that is possible offline (``tuneport`` as ``python -m
tuneport.cli``), and through an equivalent otherwise: ``pip install -e
".[test]"`` becomes the ``acme_site`` fixture, which lays the distribution
out as pip does and puts it on ``PYTHONPATH``; a real wheel build checks that
layout when hatchling is installed.  Console files hold the command and its
output, which must match what the command prints.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
ACME = EXAMPLES / "acme"
GUIDE = EXAMPLES / "guide"
ASSIGNMENT = re.compile(r"(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>.*)")


def _commands(path: Path) -> list[str]:
    """The commands of a shell snippet, without comments."""
    commands = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(shlex.join(words))
    return commands


def _console(path: Path) -> tuple[str, str]:
    """The one command of a console snippet (after ``$ ``) and the output shown under it."""
    first, *output = path.read_text(encoding="utf-8").splitlines()
    assert first.startswith("$ "), f"{path.name}: the first line must be the command"
    assert not any(line.startswith("$ ") for line in output), f"{path.name}: one command per file"
    return first[2:], "\n".join(output)


def _run_tuneport(
    command: str, site: Path, env: Callable[..., dict[str, str]], cwd: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    variables = {}
    while words and (assignment := ASSIGNMENT.fullmatch(words[0])):
        variables[assignment["name"]] = assignment["value"]
        words.pop(0)
    assert words[0] == "tuneport", command
    done = subprocess.run(
        [sys.executable, "-m", "tuneport.cli", *words[1:]],
        env=env(site, **variables, **extra),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_start_from_an_empty_folder(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every CI runner has bash
        pytest.skip("no bash")
    script = (GUIDE / "start.sh").read_text(encoding="utf-8")
    done = subprocess.run(
        [bash, "-euc", script + "\npwd\n"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    project = Path(done.stdout.strip())
    assert project == tmp_path / "tuneport-acme"  # the script ends inside the new folder
    for folder in (p for p in ACME.rglob("*") if p.is_dir() and "__pycache__" not in p.parts):
        assert (project / folder.relative_to(ACME)).is_dir(), f"start.sh does not make {folder.name}/"


def test_install_and_run_the_tests(acme_site: Path, subprocess_env: Callable[..., dict[str, str]]) -> None:
    install, run_tests = _commands(GUIDE / "develop.sh")
    # pip install -e ".[test]": the acme_site fixture installs the distribution, and the
    # [test] extra's tools are tuneport's own test tools, installed here already.
    assert install == "pip install -e '.[test]'"
    assert all(importlib.util.find_spec(name) for name in ("tuneport_contract", "pytest"))
    assert run_tests == "pytest"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs"],
        cwd=ACME,  # from the project folder, as the guide runs it
        env=subprocess_env(acme_site),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert f"rootdir: {ACME}" in report, "the example's own pytest configuration must apply"
    summary = re.search(r"=+ (\d+) passed, (\d+) skipped in ", report)
    assert summary is not None, report
    passed, skipped = int(summary[1]), int(summary[2])
    # The kit's behaviours through both clients, minus cancel's four (14, 15, 16, 40) and the three
    # halves of behaviours 59-64 that a supervised-only backend does not apply (59, 61, 63); plus
    # the unit tests.
    assert passed >= 2 * (36 - 4), report
    assert skipped == 2 * (4 + 3), report
    assert report.count("declared unsupported: cancel") == 1, report  # one line for the six skips
    assert "tests/test_contract.py" in report
    assert "test_acme.py" in report


def test_tuneport_backends(
    acme_site: Path, subprocess_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    command, shown = _console(GUIDE / "backends.console")
    done = _run_tuneport(command, acme_site, subprocess_env, tmp_path)
    assert json.loads(done.stdout) == json.loads(shown)
    assert done.stdout.rstrip("\n") == shown


def test_tuneport_models(
    acme_site: Path, subprocess_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    command, shown = _console(GUIDE / "models.console")
    done = _run_tuneport(command, acme_site, subprocess_env, tmp_path, COLUMNS="100")  # as the guide says
    printed = "\n".join(line.rstrip() for line in done.stdout.rstrip("\n").splitlines())
    assert printed == shown


def test_the_wheel_is_what_the_site_holds(acme_site: Path, tmp_path: Path) -> None:
    """A real build (pip's PEP 517 path, the one python -m build takes) holds what acme_site installs."""
    import hatchling  # noqa: F401  (a dev requirement: building the wheel offline needs it)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--isolated",
            "--disable-pip-version-check",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ACME),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("tuneport_acme-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = "tuneport_acme-0.1.0.dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    installed = {
        p.relative_to(acme_site).as_posix()
        for p in acme_site.rglob("*")
        if p.is_file() and ".dist-info" not in p.parent.name
    }
    assert {name for name in names if not name.startswith(info)} == installed
    assert "tuneport_acme/catalog.toml" in names
    assert entry_points.split() == (acme_site / info / "entry_points.txt").read_text().split()
    assert "Name: tuneport-acme\n" in metadata
    assert "Requires-Dist: tuneport<0.2,>=0.1\n" in metadata
