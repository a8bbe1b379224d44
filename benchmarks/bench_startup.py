"""Start-up cost of tuneport, against Google's SDKs and ``python -c pass`` in the same run.

    python benchmarks/bench_startup.py [--repeat 15] [--json]

Each case runs in a fresh interpreter, ``--repeat`` times; rounds interleave
the cases so that load on the machine hits them alike.  For each case: the
median wall time, and the median peak RSS (``ru_maxrss`` of that child, from
``os.wait4``).  The import cost of a case is its figure minus the
``python -c pass`` baseline's in the same round; ratios are medians of
per-round ratios of import costs:

* ``import tuneport`` alone, and with the vertex backend resolved
  (``tuneport.open_backend(backend='vertex', project=...)``: config, plugin,
  settings, catalog);
* ``tuneport --help``;
* the baselines ``from google import genai`` and ``from vertexai.tuning import sft``.

Targets (issue "Performance"): ``import tuneport`` + resolving the vertex
backend, and ``tuneport --help``, at most 1/5 of google-genai's import cost and
1/20 of vertexai's, in time and in RSS.

Also reported: the ``-X importtime`` cumulative total of ``import tuneport`` and
which heavy modules (HTTP stack, CLI stack, plotting, Google SDKs, pydantic)
``import tuneport`` loads: there must be none (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import HERE, child_env, median

BASELINE = "python -c pass"
RESOLVE = "import tuneport + resolve vertex"
HELP = "tuneport --help"
GENAI = "from google import genai"
VERTEXAI = "from vertexai.tuning import sft"
#: What each case runs (after a line that reports the peak RSS at exit).
CASES = {
    BASELINE: "pass",
    "import tuneport": "import tuneport",
    RESOLVE: "import tuneport; tuneport.open_backend(backend='vertex', project='my-project', environ={})",
    # Same as `python -m tuneport.cli --help` (what the `tuneport` script runs).
    HELP: "import runpy, sys; sys.argv = ['tuneport', '--help']; "
    "runpy.run_module('tuneport.cli', run_name='__main__', alter_sys=True)",
    GENAI: "from google import genai",
    VERTEXAI: "from vertexai.tuning import sft",
}
# Peak RSS as the child itself sees it (VmHWM), written to stderr when it exits: the
# rusage of a child counts the pages of the parent it was forked from.
_REPORT_HWM = (
    "import atexit, sys\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'): sys.stderr.write('VMHWM_KB=' + line.split()[1] + '\\n')\n"
    "atexit.register(_hwm)\n"
)
#: (case, baseline, target ratio of import costs)
TARGETS = (
    (RESOLVE, GENAI, 1 / 5),
    (RESOLVE, VERTEXAI, 1 / 20),
    (HELP, GENAI, 1 / 5),
    (HELP, VERTEXAI, 1 / 20),
)
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


def measure(code: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one run of *code* in a fresh interpreter."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_HWM + code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=child_env(),
        cwd=HERE,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{code!r} exited with {done.returncode}: {done.stderr.decode()[-2000:]}")
    match = re.search(rb"VMHWM_KB=(\d+)", done.stderr)
    return seconds, int(match.group(1)) / 1024 if match else float("nan")


def available(code: str) -> bool:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=child_env(), check=False)
    return done.returncode == 0


def importtime_total(module: str) -> float:
    """Cumulative microseconds of ``import module`` per ``-X importtime``, in seconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
        env=child_env(),
    )
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match and match.group(2) == module:
            return int(match.group(1)) / 1e6
    raise RuntimeError(f"no importtime line for {module}")


def heavy_modules() -> list[str]:
    code = "import sys, tuneport; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=child_env()
    ).stdout
    loaded = out.split()
    return sorted(
        m
        for m in loaded
        if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}
        and any(m == h or m.startswith(h + ".") for h in HEAVY)
    )


def _ratio(values: list[float], bases: list[float]) -> float:
    ratios = [v / b for v, b in zip(values, bases, strict=True) if b > 0]
    return median(ratios) if ratios else float("nan")


def run(quick: bool = False, repeat: int | None = None) -> dict[str, Any]:
    repeat = repeat or (5 if quick else 15)
    cases = {name: command for name, command in CASES.items() if available(command)}
    missing = sorted(set(CASES) - set(cases))
    wall: dict[str, list[float]] = {name: [] for name in cases}
    rss: dict[str, list[float]] = {name: [] for name in cases}
    for command in cases.values():
        measure(command)  # warm the file cache and the bytecode cache
    for _ in range(repeat):
        for name, command in cases.items():
            seconds, mb = measure(command)
            wall[name].append(seconds)
            rss[name].append(mb)
    # Import cost: the case minus the bare interpreter of the same round.
    net_wall = {n: [w - b for w, b in zip(wall[n], wall[BASELINE], strict=True)] for n in cases}
    net_rss = {n: [r - b for r, b in zip(rss[n], rss[BASELINE], strict=True)] for n in cases}
    rows = {
        name: {
            "median_ms": round(median(wall[name]) * 1000, 1),
            "import_ms": round(median(net_wall[name]) * 1000, 1),
            "peak_rss_mb": round(median(rss[name]), 1),
            "import_rss_mb": round(median(net_rss[name]), 1),
        }
        for name in cases
    }
    comparisons = []
    for case, base, target in TARGETS:
        if case not in cases or base not in cases:
            continue
        time_ratio = _ratio(net_wall[case], net_wall[base])
        rss_ratio = _ratio(net_rss[case], net_rss[base])
        comparisons.append(
            {
                "case": case,
                "baseline": base,
                "target": round(target, 4),
                "time_ratio": round(time_ratio, 4),
                "rss_ratio": round(rss_ratio, 4),
                "time_met": time_ratio <= target,
                "rss_met": rss_ratio <= target,
            }
        )
    return {
        "repeat": repeat,
        "rows": rows,
        "comparisons": comparisons,
        "missing_baselines": missing,
        "importtime_tuneport_ms": round(importtime_total("tuneport") * 1000, 2),
        "heavy_modules_loaded_by_import_tuneport": heavy_modules(),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"start-up, median of {result['repeat']} fresh interpreters per case (interleaved rounds)",
        f"{'case':34} {'wall ms':>8} {'import ms':>10} {'RSS MB':>7} {'import MB':>10}",
    ]
    for name, row in result["rows"].items():
        lines.append(
            f"{name:34} {row['median_ms']:8.1f} {row['import_ms']:10.1f} {row['peak_rss_mb']:7.1f} "
            f"{row['import_rss_mb']:10.1f}"
        )
    for c in result["comparisons"]:
        lines.append(
            f"{c['case']} / {c['baseline']}: time {c['time_ratio']:.3f}, RSS {c['rss_ratio']:.3f} "
            f"(target <= {c['target']:.3f}: time {'met' if c['time_met'] else 'MISSED'}, "
            f"RSS {'met' if c['rss_met'] else 'MISSED'})"
        )
    if result["missing_baselines"]:
        lines.append(f"not installed (skipped): {', '.join(result['missing_baselines'])}")
    lines.append(f"-X importtime cumulative for 'import tuneport': {result['importtime_tuneport_ms']:.1f} ms")
    heavy = result["heavy_modules_loaded_by_import_tuneport"] or "none"
    lines.append(f"heavy modules loaded by 'import tuneport': {heavy}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (default 15, quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 runs per case")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    result = run(quick=args.quick, repeat=args.repeat)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 1 if result["heavy_modules_loaded_by_import_tuneport"] else 0


if __name__ == "__main__":
    sys.exit(main())
