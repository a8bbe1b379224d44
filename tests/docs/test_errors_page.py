"""docs/errors.md documents every name of ``tuneport.errors.__all__``, and its tree is the class tree.

A class added to the error module (``APIResponseError`` was missing from the
page) fails here until the page says what it means; the drawn tree must give
each exception its real base class; the page's ``pycon`` examples are run.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import tuneport.errors

PAGE = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
TEXT = PAGE.read_text(encoding="utf-8")
#: One line of the drawn tree: the drawing, then the class name.
TREE_LINE = re.compile(r"^(?P<drawing>[│├└─ ]*)(?P<name>[A-Z]\w+)\b")
PYCON = re.compile(r"^```pycon\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def _tree(text: str) -> dict[str, str | None]:
    """Each class of the page's tree (the text block that starts with TuneportError) and its drawn parent."""
    block = next(
        b for b in re.findall(r"```text\n(.*?)```", text, re.DOTALL) if b.startswith("TuneportError")
    )
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in block.splitlines():
        match = TREE_LINE.match(line)
        assert match is not None, f"docs/errors.md: unreadable tree line {line!r}"
        depth = len(match["drawing"]) // 4
        del stack[depth:]
        parents[match["name"]] = stack[-1] if stack else None
        stack.append(match["name"])
    return parents


def _exceptions() -> set[str]:
    return {
        name
        for name in tuneport.errors.__all__
        if isinstance(getattr(tuneport.errors, name), type)
        and issubclass(getattr(tuneport.errors, name), tuneport.errors.TuneportError)
    }


def test_every_error_class_is_in_the_tree_under_its_base() -> None:
    tree = _tree(TEXT)
    assert set(tree) == _exceptions(), "docs/errors.md: the tree and tuneport.errors.__all__ differ"
    for name, parent in tree.items():
        cls = getattr(tuneport.errors, name)
        if parent is None:
            assert cls is tuneport.errors.TuneportError
        else:
            assert getattr(tuneport.errors, parent) in cls.__bases__, (
                f"{name} is not a {parent} (docs/errors.md)"
            )


@pytest.mark.parametrize("name", sorted(tuneport.errors.__all__))
def test_every_name_of_the_module_is_explained(name: str) -> None:
    """Every exported name is in the page's prose or a heading, not only drawn in the tree."""
    prose = re.sub(r"```.*?```", "", TEXT, flags=re.DOTALL)
    mention = re.compile(rf"`(tuneport\.(errors\.)?)?{name}(\(\))?`")
    assert mention.search(prose), f"docs/errors.md does not explain tuneport.errors.{name}"


def test_the_new_names_have_their_sections() -> None:
    assert "### `APIResponseError`" in TEXT
    assert "### `Remedy`" in TEXT
    assert "| `remedies` |" in TEXT  # the Problem field table


def test_the_tree_reader_catches_a_wrong_parent() -> None:
    wrong = "```text\nTuneportError\n└── APIError\n    └── APIResponseError\n        └── NotFoundError\n```\n"
    tree = _tree(wrong)
    assert tree["NotFoundError"] == "APIResponseError"
    assert tuneport.errors.APIResponseError not in tuneport.errors.NotFoundError.__bases__


def test_the_pages_examples_run() -> None:
    blocks = PYCON.findall(TEXT)
    assert len(blocks) >= 2  # redact() and Remedy
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for number, body in enumerate(blocks):
        test = parser.get_doctest(body, {}, f"docs/errors.md pycon block {number + 1}", str(PAGE), 0)
        result = runner.run(test)
        assert result.failed == 0, f"docs/errors.md: pycon block {number + 1} does not print what it shows"
