"""Run each distribution's test suite and sum up.

A package without a tests folder is reported as having none (and does not
fail the build); a tests folder in which pytest collects nothing (exit 5)
fails it, so tests that silently stop being collected are noticed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    ("tuneport", ROOT / "tests"),
    ("tuneport-emulator", ROOT / "emulator" / "tests"),
    ("tuneport-google", ROOT / "backends" / "google" / "tests"),
    ("tuneport-gemini", ROOT / "backends" / "gemini" / "tests"),
    ("tuneport-vertex", ROOT / "backends" / "vertex" / "tests"),
    ("tuneport-contract", ROOT / "contract_tests" / "tests"),
    ("tuneport-inmemory (example plugin)", ROOT / "examples" / "tuneport-inmemory" / "tests"),
]
NO_TESTS_COLLECTED = 5


def main(extra: list[str]) -> int:
    failed: list[str] = []
    for name, folder in PACKAGES:
        if not folder.is_dir() or not any(folder.rglob("test_*.py")):
            print(f"-- {name}: no tests (the package has none)")
            continue
        print(f"-- {name}: {folder.relative_to(ROOT)}", flush=True)
        code = subprocess.call(
            [sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", *extra], cwd=ROOT
        )
        if code == NO_TESTS_COLLECTED:
            print(f"!! {name}: pytest collected no tests in {folder.relative_to(ROOT)}")
        if code != 0:
            failed.append(name)
    if failed:
        print(f"FAILED packages: {', '.join(failed)}")
        return 1
    print("all packages passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
