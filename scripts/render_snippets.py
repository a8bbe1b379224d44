"""Check the code of the docs pages in, rendered from the files it shows.

Code that a page shows from a file lives in tested files (``docs/examples``,
the example plugin, tuneport itself).  So that every page (``docs/**/*.md``
and ``README.md``) reads completely on GitHub and in the repository, and not
only on the built site, each such code block holds the literal code, under a
comment naming where it comes from::

    <!-- snippet: docs/examples/acme/src/tuneport_acme/backend.py:get -->
    ```python
    ...the lines between ``--8<-- [start:get]`` and ``--8<-- [end:get]``...
    ```

A target is a file (all of it), ``file:section`` (between the section's
``--8<-- [start:name]`` and ``--8<-- [end:name]`` markers) or ``file:first:last``
(those lines, 1-based, inclusive), the syntax of ``pymdownx.snippets``; lines
holding section markers are never shown.  Several targets in one comment are
shown one after another, a blank line between them.

Run ``python scripts/render_snippets.py`` after changing a shown file (it also
turns a block written as ``--8<-- "target"`` includes into this form);
``--check`` only reports stale blocks.  ``tests/docs/test_snippets_rendered.py``
fails when a block differs from what its comment names, or when a page still
holds an include for the site build to fill in.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pages(root: Path = ROOT) -> list[Path]:
    """Every page that may show a file: the docs pages and the README."""
    return [*sorted((root / "docs").rglob("*.md")), root / "README.md"]


COMMENT = re.compile(r"^<!-- snippet: (?P<targets>.+?) -->$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
INCLUDE = re.compile(r'^--8<--\s+"(?P<target>[^"]+)"\s*$')
TARGET = re.compile(r"(?P<path>[^:]+)(?::(?P<section>[a-z][-_0-9a-z]*)|:(?P<first>\d+):(?P<last>\d+))?")
MARKER = re.compile(r"--8<--\s*\[\s*(?P<kind>start|end)\s*:\s*(?P<name>[a-z][-_0-9a-z]*)\s*\]")


class SnippetError(ValueError):
    """A target that names no file, section or line range, or a malformed block."""


@dataclass(frozen=True)
class Target:
    """What a block shows: a file, one of its sections or a range of its lines."""

    path: str
    section: str | None = None
    lines: tuple[int, int] | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        match = TARGET.fullmatch(text)
        if match is None:
            raise SnippetError(f"unreadable snippet target {text!r}")
        lines = (int(match["first"]), int(match["last"])) if match["first"] else None
        return cls(match["path"], match["section"], lines)

    def __str__(self) -> str:
        if self.section is not None:
            return f"{self.path}:{self.section}"
        if self.lines is not None:
            return f"{self.path}:{self.lines[0]}:{self.lines[1]}"
        return self.path

    def render(self, root: Path = ROOT) -> list[str]:
        """The lines this target shows, section markers left out."""
        file = root / self.path
        if not file.is_file():
            raise SnippetError(f"{self.path} does not exist")
        text = file.read_text(encoding="utf-8").splitlines()
        if self.lines is not None:
            first, last = self.lines
            if not 1 <= first <= last <= len(text):
                raise SnippetError(f"{self}: out of the file's {len(text)} lines")
            text = text[first - 1 : last]
        elif self.section is not None:
            text = _section(text, self.section, str(self))
        return [line for line in text if not MARKER.search(line)]


def _section(text: list[str], name: str, where: str) -> list[str]:
    inside, found = False, list[str]()
    for line in text:
        marker = MARKER.search(line)
        if marker is not None and marker["name"] == name:
            if marker["kind"] == "end":
                if not inside:
                    break
                return found
            inside = True
        elif inside:
            found.append(line)
    raise SnippetError(f"{where}: no section {name} (opened and closed) in the file")


@dataclass(frozen=True)
class Block:
    """A code block of a page: where it is, what it names and what it holds."""

    line: int  #: 1-based line of the opening fence
    targets: tuple[Target, ...]
    info: str
    body: tuple[str, ...]

    def expected(self, root: Path = ROOT) -> list[str]:
        lines: list[str] = []
        for number, target in enumerate(self.targets):
            if number:
                lines.append("")
            lines += target.render(root)
        return lines


def _close(lines: list[str], start: int, fence: str) -> int:
    """The index of the line that closes the block opened at ``start``."""
    closing = re.compile(rf"{re.escape(fence[0])}{{{len(fence)},}}\s*")
    for index in range(start + 1, len(lines)):
        if closing.fullmatch(lines[index]):
            return index
    raise SnippetError(f"line {start + 1}: a fenced block is not closed")


def blocks(text: str) -> list[Block]:
    """Every code block of a page with its snippet comment (``targets`` empty when it has none)."""
    lines, found, index = text.splitlines(), list[Block](), 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = _close(lines, index, opening["fence"])
        comment = COMMENT.match(lines[index - 1]) if index else None
        targets = tuple(Target.parse(t) for t in comment["targets"].split()) if comment else ()
        found.append(Block(index + 1, targets, opening["info"], tuple(lines[index + 1 : end])))
        index = end + 1
    return found


def render(text: str, root: Path = ROOT) -> str:
    """The page with every snippet block (commented, or written as includes) filled from its files."""
    lines, out, index = text.splitlines(), list[str](), 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            out.append(lines[index])
            index += 1
            continue
        end = _close(lines, index, opening["fence"])
        body = lines[index + 1 : end]
        comment = COMMENT.match(out[-1]) if out else None
        includes = [INCLUDE.match(line) for line in body if line.strip()]
        if comment is not None:
            targets = [Target.parse(t) for t in comment["targets"].split()]
        elif includes and all(includes):
            targets = [Target.parse(m["target"]) for m in includes if m is not None]
            out.append(f"<!-- snippet: {' '.join(map(str, targets))} -->")
        else:
            out += lines[index : end + 1]
            index = end + 1
            continue
        block = Block(index + 1, tuple(targets), opening["info"], ())
        out += [lines[index], *block.expected(root), lines[end]]
        index = end + 1
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: python scripts/render_snippets.py [--check]", file=sys.stderr)
        return 2
    stale = []
    for page in pages():
        current = page.read_text(encoding="utf-8")
        rendered = render(current)
        if rendered == current:
            continue
        stale.append(page.relative_to(ROOT).as_posix())
        if not check:
            page.write_text(rendered, encoding="utf-8")
    for name in stale:
        print(f"{name}: {'stale, run python scripts/render_snippets.py' if check else 'rendered'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
