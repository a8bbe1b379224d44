"""Fixtures of the plugin author's guide's tests: the Acme example, imported and installed.

The guide (``docs/writing-a-backend.md``) includes its code from
``docs/examples``; these fixtures import that code in-process and install
the example distribution into a temporary site directory, the way ``pip``
would lay it out, for the commands the guide shows.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
# With --import-mode=importlib a test folder is not on sys.path; the docs tests' helper
# module (cli_examples) must be importable by them.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
ACME = ROOT / "docs" / "examples" / "acme"

#: Variables that would change what a subprocess prints (colours, plugins, paths).
_SCRUBBED = {"PYTHONPATH", "FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"}


def _import_from(path: Path, *names: str) -> list[ModuleType]:
    """Import modules from *path* without leaving it on sys.path or bytecode in docs/."""
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # mkdocs would copy __pycache__ into the site
    sys.path.insert(0, str(path))
    try:
        return [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(str(path))
        sys.dont_write_bytecode = saved


@pytest.fixture(scope="session")
def acme() -> SimpleNamespace:
    """The example's package, plugin module and fake service, imported from docs/examples/acme."""
    package, plugin = _import_from(ACME / "src", "tuneport_acme", "tuneport_acme.plugin")
    [fake] = _import_from(ACME / "tests", "fake_acme")
    assert Path(package.__file__).is_relative_to(ACME), "another tuneport_acme shadows the example"
    return SimpleNamespace(package=package, plugin=plugin, fake=fake)


@pytest.fixture(scope="session")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the example as ``pip install`` lays it out: package plus dist-info.

    Built from ``pyproject.toml`` (the wheel's package folder, the name, the
    version and the entry points), so the installed plugin is what the
    distribution declares.  ``test_the_wheel_is_what_the_site_holds`` checks
    it against a real build when hatchling is installed.
    """
    pyproject = tomllib.loads((ACME / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    site = tmp_path_factory.mktemp("acme-site")
    for package in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]:
        source = ACME / package
        shutil.copytree(source, site / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    groups = "".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in points.items())
        for group, points in project["entry-points"].items()
    )
    (info / "entry_points.txt").write_text(groups, encoding="utf-8")
    return site


@pytest.fixture
def subprocess_env() -> Callable[..., dict[str, str]]:
    """The environment for a subprocess: this test's (isolated) one, plus *site* on PYTHONPATH."""

    def make(site: Path, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in _SCRUBBED and not key.startswith("TUNEPORT_")
        }
        env.update(PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1", **extra)
        return env

    return make
