"""docs/index.md's "first look" at the Python API runs as the page says, and prints what it shows.

The first script runs on the embedded emulator in a fresh process and folder;
its output must match the page's ``text`` block, where only the tuned model's
random suffix and the loss values may differ.  The later blocks need a real
profile (``vertex-prod``), so they are compiled, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from cli_examples import ROOT, render_snippets

PAGE = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
SECTION = PAGE.split("## A first look at the Python API", 1)[1].split("\n## ", 1)[0]
BLOCKS = render_snippets.blocks(SECTION)
SCRIPTS = ["\n".join(b.body) + "\n" for b in BLOCKS if b.info.strip() == "python"]
SHOWN = ["\n".join(b.body) for b in BLOCKS if b.info.strip() == "text"]
#: What changes from run to run: the tuned model's random suffix and the loss values.
_SUFFIX = re.compile(r"number-successor-[a-z0-9]+")
_NUMBER = re.compile(r"\d+\.\d+")


_VOLATILE = re.compile(f"(?P<suffix>{_SUFFIX.pattern})|(?P<number>{_NUMBER.pattern})")


def _pattern(shown: str) -> re.Pattern[str]:
    """*shown* as a pattern: its words exact, any suffix and any loss value in their places."""
    parts, at = [], 0
    for volatile in _VOLATILE.finditer(shown):
        parts.append(re.escape(shown[at : volatile.start()]))
        parts.append(r"number-successor-[a-z0-9]{8}" if volatile["suffix"] else r"\d+\.\d+")
        at = volatile.end()
    parts.append(re.escape(shown[at:]))
    return re.compile("".join(parts))


def test_the_section_holds_the_script_its_output_and_the_profile_examples() -> None:
    assert len(SCRIPTS) == 3
    assert len(SHOWN) == 1
    assert 'endpoint="embedded"' in SCRIPTS[0]


def test_the_first_script_prints_what_the_page_shows(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUNEPORT_", "GEMINI_", "GOOGLE_"))}
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPTS[0]],
        cwd=tmp_path,  # no tuneport.toml: the script needs none
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert _pattern(SHOWN[0]).fullmatch(ran.stdout.strip()), ran.stdout
    # The same random suffix wherever the page shows it: the job listed is the job tuned.
    assert len(set(_SUFFIX.findall(ran.stdout))) == 1


def test_the_output_pattern_is_strict() -> None:
    pattern = _pattern(SHOWN[0])
    good = _SUFFIX.sub("number-successor-abcd1234", SHOWN[0])
    assert pattern.fullmatch(good)
    assert not pattern.fullmatch(good.replace("SUCCEEDED", "FAILED", 1))
    assert not pattern.fullmatch(good.replace("\nX\n", "\nIX\n"))
    assert not pattern.fullmatch(_NUMBER.sub("loss", good))


def test_the_profile_examples_are_python_that_compiles() -> None:
    for source in SCRIPTS[1:]:
        compile(source, "docs/index.md", "exec")
