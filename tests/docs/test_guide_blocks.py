"""Every code block of the plugin author's guide shows a tested file.

``docs/writing-a-backend.md`` holds no code of its own: each fenced block is
rendered (``scripts/render_snippets.py``) from a file of ``docs/examples``
(tested here and by the example's own tests), of ``examples/tuneport-inmemory``
(tested by its distribution's suite) or of tuneport itself, named by the
``<!-- snippet: ... -->`` comment above it; ``test_snippets_rendered`` keeps
the block equal to the file.  No block is exempt: even the output samples are
files whose content ``test_guide_commands`` compares with what the commands print.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from cli_examples import render_snippets

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-a-backend.md"
EXAMPLES = ROOT / "docs" / "examples"
#: The folders of docs/examples that hold the guide's example, every line of which the guide shows.
GUIDE_EXAMPLES = (EXAMPLES / "acme", EXAMPLES / "guide")


MARKER = re.compile(r"--8<--\s*\[\s*(?P<kind>start|end)\s*:\s*(?P<name>[a-z][-_0-9a-z]*)\s*\]")
DEFINITION = re.compile(r"(@|def |async def |class )")
#: What running, building or installing leaves behind; not part of the example.
ARTIFACTS = re.compile(r"__pycache__|\..*_cache|.*\.egg-info|build|dist")

#: The guide's files that are not code the example's tests import: each is exercised by the named test.
COMMAND_FILES = {
    "guide/start.sh": "test_guide_commands.py::test_start_from_an_empty_folder",
    "guide/layout.txt": "test_guide_blocks.py::test_the_layout_is_the_examples",
    "guide/develop.sh": "test_guide_commands.py::test_install_and_run_the_tests",
    "guide/backends.console": "test_guide_commands.py::test_tuneport_backends",
    "guide/models.console": "test_guide_commands.py::test_tuneport_models",
    "guide/tuneport.toml": "test_acme_example.py::test_the_profile_of_the_guide",
}


@dataclass(frozen=True)
class Include:
    line: int
    path: Path
    section: str | None
    lines: tuple[int, int] | None


def _includes() -> list[Include]:
    """What each code block of the guide shows, from the snippet comment above it."""
    found = []
    for block in render_snippets.blocks(GUIDE.read_text(encoding="utf-8")):
        for target in block.targets:
            found.append(Include(block.line, ROOT / target.path, target.section, target.lines))
    return found


def _sections(path: Path) -> dict[str, tuple[int, int]]:
    """Section name -> (first, last) line numbers of its content (1-based, markers excluded)."""
    opened: dict[str, int] = {}
    sections: dict[str, tuple[int, int]] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        marker = MARKER.search(text)
        if marker is None:
            continue
        if marker["kind"] == "start":
            assert marker["name"] not in opened, f"{path}:{number}: section {marker['name']} opened twice"
            opened[marker["name"]] = number
        else:
            assert marker["name"] in opened, f"{path}:{number}: section {marker['name']} closed, never opened"
            sections[marker["name"]] = (opened[marker["name"]] + 1, number - 1)
    assert set(opened) == set(sections), f"{path}: unclosed sections {set(opened) - set(sections)}"
    return sections


def _artifact(path: Path) -> bool:
    return any(ARTIFACTS.fullmatch(part) for part in path.relative_to(EXAMPLES).parts)


def test_every_code_block_is_a_snippet() -> None:
    blocks = render_snippets.blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 20, "the guide lost its code blocks?"
    for block in blocks:
        assert block.targets, (
            f"line {block.line}: a code block written in the guide itself; put the code in a file "
            "of docs/examples that a test exercises, include it with --8<-- and run "
            "python scripts/render_snippets.py"
        )


def test_every_included_file_and_section_exists() -> None:
    includes = _includes()
    assert includes
    for include in includes:
        where = f"guide line {include.line}: {include.path.relative_to(ROOT)}"
        assert include.path.is_file(), f"{where} does not exist"
        if include.section is not None:
            assert include.section in _sections(include.path), f"{where} has no section {include.section}"


def test_line_ranges_hold_whole_definitions() -> None:
    """A line range into a file the guide does not own must still cut it at definitions."""
    for include in _includes():
        if include.lines is None:
            continue
        first, last = include.lines
        text = include.path.read_text(encoding="utf-8").splitlines()
        where = f"guide line {include.line}: {include.path.relative_to(ROOT)}:{first}:{last}"
        assert 1 <= first <= last <= len(text), f"{where} is out of the file's {len(text)} lines"
        chosen = text[first - 1 : last]
        indent = len(chosen[0]) - len(chosen[0].lstrip())
        assert chosen[-1].strip(), f"{where} ends on a blank line"
        for line in chosen:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                assert len(line) - len(line.lstrip()) == indent, f"{where} leaves its definition: {line!r}"
                assert DEFINITION.match(line.lstrip()), f"{where} does not cut at a definition: {line!r}"
        if last < len(text):
            after = text[last]
            assert not after.strip() or len(after) - len(after.lstrip()) <= indent, (
                f"{where} cuts a definition short before {after!r}"
            )


def test_the_guide_shows_every_line_of_the_example() -> None:
    """Every file of the guide's example is in the guide, and every line of it is shown somewhere."""
    shown: dict[Path, set[int]] = defaultdict(set)
    for include in _includes():
        if not include.path.is_relative_to(EXAMPLES):
            continue
        count = len(include.path.read_text(encoding="utf-8").splitlines())
        if include.section is not None:
            first, last = _sections(include.path)[include.section]
            shown[include.path].update(range(first, last + 1))
        elif include.lines is not None:
            shown[include.path].update(range(include.lines[0], include.lines[1] + 1))
        else:
            shown[include.path].update(range(1, count + 1))
    # The guide's example is the acme distribution and the guide's commands; other pages keep
    # their examples beside them in docs/examples (the tuning methods page's dpo_recipe.py).
    files = sorted(
        p for folder in GUIDE_EXAMPLES for p in folder.rglob("*") if p.is_file() and not _artifact(p)
    )
    for path in files:
        name = path.relative_to(EXAMPLES)
        assert path in shown, f"docs/examples/{name} is not included in the guide"
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if text.strip() and not MARKER.search(text):
                assert number in shown[path], f"docs/examples/{name}:{number} is never shown: {text!r}"


def test_every_file_of_commands_is_exercised() -> None:
    """Files the example's tests do not import (commands, outputs, config) each have a test."""
    for include in _includes():
        if include.path.is_relative_to(EXAMPLES / "guide"):
            name = include.path.relative_to(EXAMPLES).as_posix()
            assert name in COMMAND_FILES, f"docs/examples/{name}: say which test exercises it"
    here = Path(__file__).parent
    for test in COMMAND_FILES.values():
        module, function = test.split("::")
        assert f"def {function}(" in (here / module).read_text(encoding="utf-8"), test


def test_the_layout_is_the_examples() -> None:
    """The tree the guide draws is the tree of docs/examples/acme."""
    drawn = (EXAMPLES / "guide" / "layout.txt").read_text(encoding="utf-8").splitlines()

    def draw(folder: Path, prefix: str) -> list[str]:
        entries = sorted(p for p in folder.iterdir() if not _artifact(p))
        lines = []
        for number, entry in enumerate(entries):
            last = number == len(entries) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{entry.name}{'/' if entry.is_dir() else ''}")
            if entry.is_dir():
                lines += draw(entry, prefix + ("    " if last else "│   "))
        return lines

    actual = ["tuneport-acme/", *draw(EXAMPLES / "acme", "")]
    assert drawn == actual
