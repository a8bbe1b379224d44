"""Start-up cost of tuneport, against ``python -c pass`` in the same run.

    python benchmarks/bench_startup.py [--repeat 15] [--json]

Measures, in fresh interpreters, the median wall time of each command, the
``-X importtime`` cumulative total of ``import tuneport``, and which heavy
modules (HTTP stack, CLI stack, plotting, Google SDKs) an ``import tuneport``
loads — there must be none.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import tuneport": [sys.executable, "-c", "import tuneport"],
    "import tuneport + resolve a backend": [
        sys.executable,
        "-c",
        "import tuneport; tuneport.open_backend(backend='vertex', project='my-project')",
    ],
    "tuneport --help": [sys.executable, "-m", "tuneport.cli", "--help"],
}
HEAVY = (
    "httpx",
    "click",
    "rich",
    "matplotlib",
    "plotext",
    "grpc",
    "google.genai",
    "vertexai",
    "google.cloud.aiplatform",
    "google.auth",
    "pydantic",
    "pluggy",
)


def wall(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def importtime_total(module: str) -> float:
    """Cumulative microseconds of ``import module`` per ``-X importtime``, in seconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
    )
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match and match.group(2) == module:
            return int(match.group(1)) / 1e6
    raise RuntimeError(f"no importtime line for {module}")


def heavy_modules() -> list[str]:
    code = "import sys, tuneport; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = out.split()
    return sorted(
        m
        for m in loaded
        if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}
        and any(m == h or m.startswith(h + ".") for h in HEAVY)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    baseline = wall(CASES["python -c pass"], args.repeat)
    rows = []
    for name, command in CASES.items():
        seconds = baseline if name == "python -c pass" else wall(command, args.repeat)
        rows.append(
            {
                "case": name,
                "median_s": round(seconds, 4),
                "ratio_to_python": round(seconds / baseline, 2),
                "over_python_ms": round((seconds - baseline) * 1000, 1),
            }
        )
    result = {
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        "repeat": args.repeat,
        "cases": rows,
        "importtime_tuneport_s": round(importtime_total("tuneport"), 4),
        "heavy_modules_loaded_by_import_tuneport": heavy_modules(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {result['machine']}  (median of {args.repeat} fresh interpreters)")
        print(f"{'case':40} {'median':>9} {'ratio':>7} {'over python':>12}")
        for row in rows:
            print(
                f"{row['case']:40} {row['median_s'] * 1000:8.1f}ms {row['ratio_to_python']:6.2f}x "
                f"{row['over_python_ms']:10.1f}ms"
            )
        print(
            f"-X importtime cumulative for 'import tuneport': {result['importtime_tuneport_s'] * 1000:.1f} ms"
        )
        heavy = result["heavy_modules_loaded_by_import_tuneport"] or "none"
        print(f"heavy modules loaded by 'import tuneport': {heavy}")
    return 1 if result["heavy_modules_loaded_by_import_tuneport"] else 0


if __name__ == "__main__":
    sys.exit(main())
