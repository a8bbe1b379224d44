"""Running the real ``tuneport`` in a child process: piped, as a script or CI runs it, or on a
pseudo-terminal, as a person sees it.

Width and colour depend on the terminal, so tests of them run the CLI on a
pty: *columns* wide (through ``COLUMNS``), with colour allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["on_a_terminal", "run_piped"]


def on_a_terminal(*args: str, columns: int = 100, cwd: Path | None = None) -> tuple[int, str]:
    """Exit code and everything ``tuneport ARGS`` wrote to a terminal *columns* wide (stdout and stderr)."""
    import pty

    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tuneport.cli", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=cwd,
    )
    os.close(child)
    chunks = []
    try:
        while True:  # read while it runs: a full pty would block its writes
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    return process.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def run_piped(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``tuneport ARGS`` with stdout and stderr piped (not terminals), as text."""
    return subprocess.run(
        [sys.executable, "-m", "tuneport.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )
