"""The generated API reference names every public name of ``import tuneport``.

``docs/reference.md`` is a list of mkdocstrings ``:::`` references; the site
build (``mkdocs build --strict``) fails when one names nothing, and this test
fails when a public name is missing from it or a reference is not where the
name is defined.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import tuneport

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
DIRECTIVE = re.compile(r"^::: (?P<path>[\w.]+)$", re.MULTILINE)


def _public() -> set[str]:
    return set(tuneport.__all__) - {"__version__"}


def test_every_public_name_is_in_the_reference() -> None:
    referenced = {path.rsplit(".", 1)[1] for path in DIRECTIVE.findall(REFERENCE.read_text(encoding="utf-8"))}
    assert _public() - referenced == set(), "add a ::: reference to docs/reference.md"


def test_each_reference_is_where_the_name_is_defined() -> None:
    for path in DIRECTIVE.findall(REFERENCE.read_text(encoding="utf-8")):
        module, name = path.rsplit(".", 1)
        # A name of tuneport, or of a public module's __all__ (tuneport.errors.Remedy).
        where = tuneport if name in tuneport.__all__ else importlib.import_module(module)
        assert name in getattr(where, "__all__", ()), f"docs/reference.md: {path} is not public"
        # A constant (CANONICAL_SERIES) has no __module__: being in the module's __all__ places it.
        assert getattr(getattr(where, name), "__module__", module) == module, f"docs/reference.md: {path}"


LINKS = {
    "ok": "[create](reference.md#tuneport.client.TuningClient.create), "
    "[RetryPolicy][tuneport.retry.RetryPolicy]",
    "broken anchor": "[create](reference.md#tuneport.client.TuningClient.craete)",
    "broken cross-reference": "[create][tuneport.client.TuningClient.craete]",
}


@pytest.mark.parametrize("case", list(LINKS))
def test_the_site_build_fails_on_a_broken_reference(case: str, tmp_path: Path) -> None:
    """With the project's mkdocs.yml (strict, anchors checked), a link to no reference entry fails the build.

    Both forms resolve: ``reference.md#<dotted name>`` (which reads as a link on
    GitHub too, so the guide uses it) and mkdocs-autorefs' ``[text][dotted.name]``.
    """
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Guide\n\n{LINKS[case]}\n", encoding="utf-8")
    reference = "# Reference\n\n::: tuneport.client.TuningClient\n\n::: tuneport.retry.RetryPolicy\n"
    (docs / "reference.md").write_text(reference, encoding="utf-8")
    config.update(docs_dir=str(docs), site_dir=str(tmp_path / "site"), nav=["index.md", "reference.md"])
    python = config["plugins"][1]["mkdocstrings"]["handlers"]["python"]
    python["paths"] = [str(ROOT / "src")]
    python["options"]["extensions"] = [str(ROOT / e) for e in python["options"]["extensions"]]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        # Not --quiet: mkdocs counts the warnings that strict makes fatal through its log, which
        # --quiet silences (a build with --strict --quiet passes with a broken anchor).
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=tmp_path,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert config["strict"] is True
    assert config["validation"]["links"]["anchors"] == "warn"  # a warning, which strict makes fatal
    if case == "ok":
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0, f"a {case} did not fail the build"
        assert "craete" in done.stderr + done.stdout


def test_ci_builds_the_site_so_that_a_warning_fails_it() -> None:
    """scripts/test (what CI runs) builds with --strict and without --quiet, which would hide the warnings."""
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    [build] = [line for line in script.splitlines() if "mkdocs build" in line and not line.startswith("echo")]
    assert "--strict" in build.split()
    assert "--quiet" not in build.split()
    assert "-q" not in build.split()


def test_sphinx_roles_are_shown_as_code() -> None:
    """The reference's griffe extension: :class:`~a.B` reads as `B`, :meth:`wait` as `wait`."""
    spec = importlib.util.spec_from_file_location(
        "griffe_sphinx_roles", ROOT / "scripts" / "griffe_sphinx_roles.py"
    )
    assert spec is not None
    assert spec.loader is not None
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    text = "A :class:`~tuneport.errors.SpecError`, :meth:`wait`, :py:func:`tuneport.connect` and ``code``."
    assert roles.plain(text) == "A `SpecError`, `wait`, `tuneport.connect` and ``code``."
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "scripts/griffe_sphinx_roles.py:SphinxRoles" in mkdocs
