"""The generated API reference names every public name of ``import tuneport``.

``docs/reference.md`` is a list of mkdocstrings ``:::`` references; the site
build (``mkdocs build --strict``) fails when one names nothing, and this test
fails when a public name is missing from it or a reference is not where the
name is defined.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

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
