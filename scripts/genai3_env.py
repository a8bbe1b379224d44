"""Make (or reuse) the second Python environment that holds google-genai 3.x.

google-cloud-aiplatform pins google-genai below 3, so the development
environment holds a 2.x; the emulator's official-client tests also run the
newest 3.x, from a virtual environment kept in ``.cache/genai3-venv`` (ignored
by git).  This is an install step: it runs ``pip install`` against the package
registry once, and afterwards only checks that the environment still answers
with the pinned version (a fraction of a second).

Usage: ``python scripts/genai3_env.py`` prints the environment's interpreter,
or exits 1 with the reason it could not be made.  The tests import
:func:`ensure` and fail (never skip) on :class:`EnvironmentNotMade`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The newest google-genai 3.x that the package registry offers; raise it with care.
GENAI3_VERSION = "3.3.0"
ENV_DIR = ROOT / ".cache" / "genai3-venv"
#: Written last, after the install was verified: its absence means a half-made environment.
MARKER = "tuneport-genai3.json"
#: pip may take long on a cold cache; anything beyond this is a hung install.
INSTALL_TIMEOUT = 900.0


class EnvironmentNotMade(RuntimeError):
    """The google-genai 3.x environment could not be created or is broken."""


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _expected() -> dict[str, str]:
    return {"google-genai": GENAI3_VERSION, "python": sys.version.split()[0]}


def _installed_version(python: Path) -> str:
    probe = "import importlib.metadata as m; print(m.version('google-genai'))"
    done = subprocess.run([str(python), "-c", probe], check=False, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise EnvironmentNotMade(f"{python} cannot import google-genai:\n{done.stderr.strip()}")
    return done.stdout.strip()


def _valid(env: Path) -> bool:
    marker = env / MARKER
    python = _python(env)
    if not marker.is_file() or not python.is_file():
        return False
    try:
        if json.loads(marker.read_text(encoding="utf-8")) != _expected():
            return False
        return _installed_version(python) == GENAI3_VERSION
    except (OSError, ValueError, EnvironmentNotMade, subprocess.TimeoutExpired):
        return False


def _create(env: Path) -> None:
    shutil.rmtree(env, ignore_errors=True)
    env.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    python = _python(env)
    command = [
        str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        f"google-genai=={GENAI3_VERSION}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise EnvironmentNotMade(
            f"pip install google-genai=={GENAI3_VERSION} took over {exc.timeout} s"
        ) from exc
    if done.returncode != 0:
        raise EnvironmentNotMade(
            f"pip install google-genai=={GENAI3_VERSION} into {env} failed "
            f"(exit {done.returncode}):\n{done.stdout.strip()}\n{done.stderr.strip()}"
        )
    version = _installed_version(python)
    if version != GENAI3_VERSION:
        raise EnvironmentNotMade(f"{env} holds google-genai {version}, not {GENAI3_VERSION}")
    (env / MARKER).write_text(json.dumps(_expected()), encoding="utf-8")


def ensure(env: Path = ENV_DIR) -> Path:
    """Return the interpreter of a valid google-genai 3.x environment, making it if needed."""
    if not _valid(env):
        try:
            _create(env)
        except OSError as exc:
            raise EnvironmentNotMade(f"could not create {env}: {exc}") from exc
    return _python(env)


def main() -> int:
    try:
        print(ensure())
    except EnvironmentNotMade as exc:
        print(
            f"genai3_env: the google-genai {GENAI3_VERSION} environment could not be made: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
