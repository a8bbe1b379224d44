"""The demo output docs/index.md shows is what `tuneport demo` prints (issue #18: it had drifted).

Temporary paths, job ids, timings and loss values change from run to run;
every other word of the excerpt must be in the real output, in order.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: What legitimately differs between runs: temporary folders, job ids, numbers, the progress bar.
_VOLATILE = re.compile(r"/tmp/\S+|number-successor-[a-z0-9]+|\d+(?:\.\d+)?|[━─]+|\d+:\d\d:\d\d")


def _excerpt() -> list[str]:
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    block = text.split("$ tuneport demo --profile demo-gemini\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and line.strip() != "..."]


def _words(text: str) -> list[str]:
    return _VOLATILE.sub(" ", text).split()


def test_the_index_shows_what_the_demo_prints(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COLUMNS": "80",
        "HOME": str(tmp_path),
        "TUNEPORT_EMULATOR_STATE": str(tmp_path / "s"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tuneport.cli", "demo", "--profile", "demo-gemini"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    # The progress bar goes to stderr, the rest to stdout: each is compared with its stream.
    lines = _excerpt()
    _in_order([line for line in lines if "━" not in line], done.stdout)
    _in_order([line for line in lines if "━" in line], done.stderr)


def _in_order(lines: list[str], output: str) -> None:
    """Every word of *lines* appears in *output*, in the same order."""
    printed = _words(output)
    position = 0
    for word in (word for line in lines for word in _words(line)):
        assert word in printed[position:], f"docs/index.md shows {word!r}, which the demo no longer prints"
        position = printed.index(word, position) + 1
