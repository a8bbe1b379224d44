"""docs/python-api.md: every example runs, and the page documents no signature by hand.

The page is a usage guide; signatures, parameters and fields are in the
generated reference (``docs/reference.md``), which it links to.  Its
``python`` blocks run in order in one namespace (each continues the one
before, as the page says) and its ``pycon`` blocks are doctests in that same
namespace, from a folder holding ``docs/examples/quickstart`` as the
repository does, on the embedded emulator.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_examples import ROOT, render_snippets

PAGE = ROOT / "docs" / "python-api.md"
TEXT = PAGE.read_text(encoding="utf-8")
REFERENCE_LINK = re.compile(r"\]\(reference\.md#(?P<anchor>[\w.]+)\)")


def _blocks() -> list[Any]:
    return [b for b in render_snippets.blocks(TEXT) if b.info.strip() in ("python", "pycon")]


def _run_page(folder: Path) -> tuple[dict[str, Any], str]:
    """Run the page's examples in *folder*; the namespace they leave and what they printed."""
    namespace: dict[str, Any] = {"__name__": "python_api_page"}
    printed = io.StringIO()
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for block in _blocks():
        source = "\n".join(block.body) + "\n"
        where = f"docs/python-api.md line {block.line}"
        if block.info.strip() == "python":
            with contextlib.redirect_stdout(printed):
                exec(compile(source, where, "exec"), namespace)
        else:
            test = parser.get_doctest(source, namespace, where, str(PAGE), block.line)
            report = io.StringIO()
            result = runner.run(test, out=report.write, clear_globs=False)
            shown = report.getvalue()
            assert result.failed == 0, f"{where}: the example does not print what it shows\n{shown}"
            namespace.update(test.globs)  # a DocTest runs in a copy; the next block continues from it
    return namespace, printed.getvalue()


def test_every_example_of_the_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "docs" / "examples" / "quickstart", tmp_path / "docs" / "examples" / "quickstart")
    monkeypatch.chdir(tmp_path)
    namespace, printed = _run_page(tmp_path)
    # What the comments of the page claim.
    assert namespace["clock"].sleeps == [5.0, 7.5]
    assert namespace["job"].state.value == "SUCCEEDED"
    assert "SUCCEEDED [5.0, 7.5]" in printed
    assert "True False" in printed  # delete is idempotent
    assert "{'epoch_count': 3}" in printed  # client.spec moved the flat hyperparameter
    assert "X" in printed.split()  # the emulator answers IX with the nearest example's output


def test_the_page_has_examples_of_each_use() -> None:
    kinds = [b.info.strip() for b in _blocks()]
    assert kinds.count("python") >= 10
    assert kinds.count("pycon") >= 2
    for heading in (
        "## Connecting",
        "## Creating a job",
        "## Waiting",
        "## Generating",
        "## Metrics",
        "## Checking a job before sending it",
        "## Asynchronous code",
        "## Retries and timeouts",
        "## Errors",
    ):
        assert heading in TEXT, heading


def test_signatures_and_field_tables_are_left_to_the_reference() -> None:
    """No hand-written signature block or parameter/field table: those are generated and linked."""
    assert "| argument |" not in TEXT
    assert "| field |" not in TEXT
    assert not re.search(r"^(tuneport|client)\.\w+\(.*\) ->", TEXT, re.MULTILINE)
    links = REFERENCE_LINK.findall(TEXT)
    assert len(links) >= 25
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: ([\w.]+)$", reference, re.MULTILINE))
    for anchor in links:
        # A member's anchor is under a documented object; mkdocs --strict checks the anchor itself.
        assert any(anchor == name or anchor.startswith(name + ".") for name in documented), anchor
