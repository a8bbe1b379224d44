"""The docs' checked-in code blocks are the files they name, line for line.

Every page (``docs/**/*.md`` and ``README.md``) shows the code it takes from a
file literally (so it reads on GitHub too), each block under a
``<!-- snippet: target -->`` comment naming the file, section or line range it
shows; ``scripts/render_snippets.py`` writes the blocks.  These tests fail as
soon as a block and its file drift apart, or a page still holds a ``--8<--``
include that only the site build would fill in.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-a-backend.md"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_snippets", ROOT / "scripts" / "render_snippets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_snippets", module)
    spec.loader.exec_module(module)
    return module


render_snippets = _load()


def test_every_block_is_the_code_it_names() -> None:
    blocks = [b for b in render_snippets.blocks(GUIDE.read_text(encoding="utf-8")) if b.targets]
    assert len(blocks) >= 20, "the guide lost its snippet blocks?"
    for block in blocks:
        named = " ".join(map(str, block.targets))
        assert list(block.body) == block.expected(), (
            f"docs/writing-a-backend.md line {block.line}: the block differs from {named}; "
            "run python scripts/render_snippets.py"
        )


PAGES = render_snippets.pages()


def test_the_pages_are_every_docs_page() -> None:
    assert GUIDE in PAGES
    assert ROOT / "docs" / "tuning-methods.md" in PAGES
    assert ROOT / "README.md" in PAGES
    assert len(PAGES) == len(list((ROOT / "docs").rglob("*.md"))) + 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_page_needs_no_site_build(page: Path) -> None:
    """No include is left for pymdownx.snippets to fill in: the page is complete as checked in."""
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(ROOT).as_posix()
    for number, line in enumerate(text.splitlines(), start=1):
        unrendered = render_snippets.INCLUDE.match(line.strip())
        assert not unrendered, f"{name}:{number}: an unrendered include {line!r}"
    assert render_snippets.render(text) == text, f"{name}: run python scripts/render_snippets.py"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_rendered_block_of_every_page_is_its_file(page: Path) -> None:
    name = page.relative_to(ROOT).as_posix()
    for block in render_snippets.blocks(page.read_text(encoding="utf-8")):
        if block.targets:
            assert list(block.body) == block.expected(), (
                f"{name} line {block.line}: the block differs from {' '.join(map(str, block.targets))}; "
                "run python scripts/render_snippets.py"
            )


def test_the_tuning_methods_page_shows_the_dpo_recipe() -> None:
    page = (ROOT / "docs" / "tuning-methods.md").read_text(encoding="utf-8")
    [block] = [b for b in render_snippets.blocks(page) if b.targets]
    assert [str(t) for t in block.targets] == ["docs/examples/dpo_recipe.py"]
    assert len(block.body) > 20


def test_check_mode_reports_the_guide_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert render_snippets.main(["--check"]) == 0
    assert capsys.readouterr().out == ""


PAGE = """Intro.

```python
--8<-- "pkg/mod.py:body"

--8<-- "pkg/mod.py:1:1"
```

<!-- snippet: notes.txt -->
```text
old text
```

```sh
echo written here
```
"""

MODULE = """def f():
    # --8<-- [start:body]
    return 1
    # --8<-- [end:body]
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("new text\n# --8<-- [start:x]\n# --8<-- [end:x]\n", encoding="utf-8")
    return tmp_path


def test_render_fills_includes_and_refreshes_stale_blocks(tree: Path) -> None:
    rendered = render_snippets.render(PAGE, tree)
    blocks = render_snippets.blocks(rendered)
    assert [list(b.body) for b in blocks] == [
        ["    return 1", "", "def f():"],  # the section (markers left out), a blank line, line 1
        ["new text"],
        ["echo written here"],
    ]
    assert [" ".join(map(str, b.targets)) for b in blocks] == [
        "pkg/mod.py:body pkg/mod.py:1:1",
        "notes.txt",
        "",
    ]
    assert render_snippets.render(rendered, tree) == rendered


def test_a_drifted_block_is_detected(tree: Path) -> None:
    page = render_snippets.render(PAGE, tree)
    (tree / "notes.txt").write_text("changed\n", encoding="utf-8")
    stale = render_snippets.blocks(page)[1]
    assert list(stale.body) == ["new text"]
    assert stale.expected(tree) == ["changed"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.py", "missing.py does not exist"),
        ("pkg/mod.py:nosuch", "no section nosuch"),
        ("pkg/mod.py:3:9", "out of the file's 4 lines"),
    ],
)
def test_a_target_that_names_nothing_is_an_error(tree: Path, target: str, message: str) -> None:
    page = f'```python\n--8<-- "{target}"\n```\n'
    with pytest.raises(render_snippets.SnippetError, match=message):
        render_snippets.render(page, tree)
